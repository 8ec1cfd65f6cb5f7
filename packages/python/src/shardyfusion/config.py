"""Write configs: ``HashShardedWriteConfig`` and ``CelShardedWriteConfig`` (reference §9).

Each accepts the reference's grouped keyword arguments (``storage=``, ``output=``, ``kv=`` ...) or
their flat aliases (``s3_prefix=``, ``key_encoding=``, ``adapter_factory=`` ...), never both for
one group. Construction validates with the TS core's rules and messages (``_validate``) and keeps
the normalised wire form that the ``shardy`` executable receives as ``--config-json``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypedDict

from . import _validate
from .errors import ConfigValidationError
from .local_slatedb_adapter import LocalSlateDbFactory
from .slatedb_adapter import SlateDbFactory
from .sqlite_adapter import SqliteFactory

AdapterFactory = SqliteFactory | SlateDbFactory | LocalSlateDbFactory


class KeyEncoding(enum.StrEnum):
    U64BE = "u64be"
    U32BE = "u32be"
    UTF8 = "utf8"
    RAW = "raw"


class S3ConnectionOptions(TypedDict, total=False):
    endpoint_url: str
    region_name: str
    addressing_style: str
    signature_version: str
    verify_ssl: bool | str
    connect_timeout: float
    read_timeout: float
    max_attempts: int


@dataclass(frozen=True)
class StaticCredentialProvider:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "kind": "static",
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "session_token": self.session_token,
        }


@dataclass(frozen=True)
class EnvCredentialProvider:
    """Credentials from ``S3_*`` / ``AWS_*`` environment variables where the shard is written."""

    def to_wire(self) -> dict[str, Any]:
        return {"kind": "env"}


CredentialProvider = StaticCredentialProvider | EnvCredentialProvider


@dataclass(frozen=True)
class RetryConfig:
    """Shard attempt retries: ``1 + max_retries`` attempts, each under a new ``attempt=NN`` URL."""

    max_retries: int = 3
    initial_backoff: timedelta = timedelta(seconds=1)
    backoff_multiplier: float = 2.0

    def to_wire(self) -> dict[str, Any]:
        if not isinstance(self.initial_backoff, timedelta):
            raise ConfigValidationError(
                f"shard_retry.initial_backoff must be a datetime.timedelta, got {self.initial_backoff!r}; "
                "e.g. timedelta(seconds=1)",
                field="retry.shard_retry.initial_backoff",
            )
        ms = self.initial_backoff.total_seconds() * 1000
        return {
            "max_retries": self.max_retries,
            "initial_backoff_ms": int(ms) if float(ms).is_integer() else ms,
            "backoff_multiplier": self.backoff_multiplier,
        }


@dataclass(frozen=True)
class WriterStorageConfig:
    s3_prefix: str = ""
    credential_provider: CredentialProvider | None = None
    s3_connection_options: S3ConnectionOptions | None = None


@dataclass(frozen=True)
class WriterOutputConfig:
    run_id: str | None = None
    db_path_template: str = _validate.DEFAULT_DB_PATH_TEMPLATE
    shard_prefix: str = _validate.DEFAULT_SHARD_PREFIX
    run_registry_prefix: str = _validate.DEFAULT_RUN_REGISTRY_PREFIX
    local_root: str | None = None


@dataclass(frozen=True)
class WriterManifestConfig:
    custom_manifest_fields: Mapping[str, Any] = field(default_factory=dict)
    credential_provider: CredentialProvider | None = None
    s3_connection_options: S3ConnectionOptions | None = None


@dataclass(frozen=True)
class KeyValueWriteConfig:
    key_encoding: KeyEncoding | str = KeyEncoding.U64BE
    batch_size: int = _validate.DEFAULT_BATCH_SIZE
    adapter_factory: AdapterFactory | None = None
    profile_value_sizes_for_page_size: bool = False


@dataclass(frozen=True)
class WriterRetryConfig:
    shard_retry: RetryConfig | None = None


@dataclass(frozen=True)
class KvWriteRateLimitConfig:
    """Per-shard limits: each shard writer gets its own buckets (aggregate = limit x num_dbs)."""

    max_writes_per_second: float | None = None
    max_write_bytes_per_second: float | None = None


@dataclass(frozen=True)
class HashShardingConfig:
    num_dbs: int | None = None
    max_keys_per_shard: int | None = None


@dataclass(frozen=True)
class CelShardingConfig:
    cel_expr: str = ""
    cel_columns: Mapping[str, str] = field(default_factory=dict)
    routing_values: Sequence[int | str | bytes] | None = None
    infer_routing_values_from_data: bool = False


# ---------------------------------------------------------------------------------------------
# Python objects -> the TS wire-input shape
# ---------------------------------------------------------------------------------------------


def _wire_value(value: Any) -> Any:
    """Python config values as the JSON-ish input of the validator."""
    if value is None:
        return None
    to_wire = getattr(value, "to_wire", None)
    if callable(to_wire):
        return to_wire()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, timedelta):
        return value.total_seconds() * 1000
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _group_input(value)
    if isinstance(value, Mapping):
        return {k: _wire_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire_value(v) for v in value]
    return value


def _group_input(group: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(group):
        value = getattr(group, f.name)
        if f.name == "shard_retry":
            out[f.name] = _wire_value(value)
            continue
        if value is not None:
            out[f.name] = _wire_value(value)
    return out


def _input(groups: Mapping[str, Any], flat: Mapping[str, Any], sharding: Any) -> dict[str, Any]:
    inp: dict[str, Any] = {}
    for name, group in groups.items():
        if group is None:
            continue
        if isinstance(group, Mapping):
            inp[name] = _wire_value(group)
        elif dataclasses.is_dataclass(group) and not isinstance(group, type):
            inp[name] = _group_input(group)
        else:
            raise ConfigValidationError(
                f"{name} must be a {name.capitalize()} config object or a dict, got {type(group).__name__}",
                field=name,
            )
    for name, value in flat.items():
        if value is not None:
            inp[name] = _wire_value(value)
    if sharding is not None:
        inp["sharding"] = _group_input(sharding) if dataclasses.is_dataclass(sharding) else _wire_value(sharding)
    return inp


#: Constructor arguments that are whole groups (an object or a dict), not flat shortcuts.
_GROUP_ARGS = ("storage", "output", "manifest", "kv", "retry", "rate_limits")


class _BaseWriteConfig:
    """Shared groups and accessors; subclasses set ``sharding``."""

    _wire: dict[str, Any]
    storage: WriterStorageConfig
    output: WriterOutputConfig
    manifest: WriterManifestConfig
    kv: KeyValueWriteConfig
    retry: WriterRetryConfig
    rate_limits: KvWriteRateLimitConfig
    shard_id_col: str

    def _init_from(
        self, validate: Callable[[dict[str, Any]], dict[str, Any]], args: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Both configs' constructors: their keyword arguments (``locals()``: the group objects
        or dicts, the flat shortcuts and ``sharding``) validated into the wire form, adopted."""
        groups = {name: args[name] for name in _GROUP_ARGS}
        flat = {k: v for k, v in args.items() if k not in _GROUP_ARGS and k not in ("self", "sharding")}
        wire = validate(_input(groups, flat, args["sharding"]))
        self._adopt(
            wire, _pick_factory(args["kv"], args["adapter_factory"]), _pick_retry(args["retry"], args["shard_retry"])
        )
        return wire

    def _adopt(self, wire: dict[str, Any], factory: AdapterFactory | None, shard_retry: RetryConfig | None) -> None:
        self._wire = wire
        st, out, man, kv = wire["storage"], wire["output"], wire["manifest"], wire["kv"]
        self.storage = WriterStorageConfig(
            s3_prefix=st["s3_prefix"],
            credential_provider=_credentials_from_wire(st["credential_provider"]),
            s3_connection_options=st["s3_connection_options"],
        )
        self.output = WriterOutputConfig(**out)
        self.manifest = WriterManifestConfig(
            custom_manifest_fields=dict(man["custom_manifest_fields"]),
            credential_provider=_credentials_from_wire(man["credential_provider"]),
            s3_connection_options=man["s3_connection_options"],
        )
        self.kv = KeyValueWriteConfig(
            key_encoding=KeyEncoding(kv["key_encoding"]),
            batch_size=kv["batch_size"],
            adapter_factory=factory if factory is not None else _factory_from_wire(kv["adapter_factory"]),
            profile_value_sizes_for_page_size=kv["profile_value_sizes_for_page_size"],
        )
        sr = wire["retry"]["shard_retry"]
        if sr is not None and shard_retry is None:
            shard_retry = RetryConfig(
                max_retries=sr["max_retries"],
                initial_backoff=timedelta(milliseconds=sr["initial_backoff_ms"]),
                backoff_multiplier=sr["backoff_multiplier"],
            )
        self.retry = WriterRetryConfig(shard_retry=shard_retry)
        self.rate_limits = KvWriteRateLimitConfig(**wire["rate_limits"])
        self.shard_id_col = wire["shard_id_col"]

    # Flat accessors, as the reference's config exposes them.
    @property
    def s3_prefix(self) -> str:
        return self.storage.s3_prefix

    @property
    def key_encoding(self) -> KeyEncoding:
        return KeyEncoding(self.kv.key_encoding)

    @property
    def batch_size(self) -> int:
        return self.kv.batch_size

    @property
    def adapter_factory(self) -> AdapterFactory | None:
        return self.kv.adapter_factory

    @property
    def shard_retry(self) -> RetryConfig | None:
        return self.retry.shard_retry

    def to_wire(self) -> dict[str, Any]:
        """The normalised config as the TS core reads it (a deep copy)."""
        import copy

        return copy.deepcopy(self._wire)

    def to_json(self) -> str:
        return _validate.to_wire_json(self._wire)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"


def _credentials_from_wire(value: dict[str, Any] | None) -> CredentialProvider | None:
    if value is None:
        return None
    if value["kind"] == "env":
        return EnvCredentialProvider()
    return StaticCredentialProvider(value["access_key_id"], value["secret_access_key"], value["session_token"])


def _factory_from_wire(value: dict[str, Any]) -> AdapterFactory:
    if value["kind"] == "sqlite":
        return SqliteFactory(
            page_size=value["page_size"], cache_size_pages=value["cache_size_pages"], emit_sidecar=value["emit_sidecar"]
        )
    if value["kind"] == "slatedb-local":
        return LocalSlateDbFactory()
    return SlateDbFactory()


def _pick_factory(kv: Any, adapter_factory: Any) -> AdapterFactory | None:
    if adapter_factory is not None:
        return adapter_factory  # type: ignore[no-any-return]
    if kv is not None and not isinstance(kv, Mapping):
        return getattr(kv, "adapter_factory", None)
    return None


def _pick_retry(retry: Any, shard_retry: Any) -> RetryConfig | None:
    if isinstance(shard_retry, RetryConfig):
        return shard_retry
    if isinstance(retry, WriterRetryConfig):
        return retry.shard_retry
    return None


class HashShardedWriteConfig(_BaseWriteConfig):
    """Hash sharding: ``db_id = xxh3_64(canonical_bytes(key)) % num_dbs``."""

    sharding: HashShardingConfig

    def __init__(
        self,
        *,
        sharding: HashShardingConfig | Mapping[str, Any] | None = None,
        num_dbs: int | None = None,
        max_keys_per_shard: int | None = None,
        storage: WriterStorageConfig | Mapping[str, Any] | None = None,
        s3_prefix: str | None = None,
        credential_provider: CredentialProvider | None = None,
        s3_connection_options: S3ConnectionOptions | None = None,
        output: WriterOutputConfig | Mapping[str, Any] | None = None,
        manifest: WriterManifestConfig | Mapping[str, Any] | None = None,
        kv: KeyValueWriteConfig | Mapping[str, Any] | None = None,
        key_encoding: KeyEncoding | str | None = None,
        batch_size: int | None = None,
        adapter_factory: AdapterFactory | None = None,
        retry: WriterRetryConfig | Mapping[str, Any] | None = None,
        shard_retry: RetryConfig | None = None,
        rate_limits: KvWriteRateLimitConfig | Mapping[str, Any] | None = None,
        max_writes_per_second: float | None = None,
        max_write_bytes_per_second: float | None = None,
        shard_id_col: str | None = None,
    ) -> None:
        wire = self._init_from(_validate.validate_hash_config, locals())
        self.sharding = HashShardingConfig(**wire["sharding"])

    @property
    def num_dbs(self) -> int | None:
        return self.sharding.num_dbs

    @property
    def max_keys_per_shard(self) -> int | None:
        return self.sharding.max_keys_per_shard


def _validate_cel_config(inp: dict[str, Any]) -> dict[str, Any]:
    from ._cel import check_cel_expr  # imported with the first CEL config, not with the package

    return _validate.validate_cel_config(inp, check_cel_expr)


class CelShardedWriteConfig(_BaseWriteConfig):
    """CEL sharding: the expression's result is the shard id (direct) or a token (categorical)."""

    sharding: CelShardingConfig

    def __init__(
        self,
        *,
        sharding: CelShardingConfig | Mapping[str, Any] | None = None,
        cel_expr: str | None = None,
        cel_columns: Mapping[str, str] | None = None,
        routing_values: Sequence[int | str | bytes] | None = None,
        infer_routing_values_from_data: bool | None = None,
        storage: WriterStorageConfig | Mapping[str, Any] | None = None,
        s3_prefix: str | None = None,
        credential_provider: CredentialProvider | None = None,
        s3_connection_options: S3ConnectionOptions | None = None,
        output: WriterOutputConfig | Mapping[str, Any] | None = None,
        manifest: WriterManifestConfig | Mapping[str, Any] | None = None,
        kv: KeyValueWriteConfig | Mapping[str, Any] | None = None,
        key_encoding: KeyEncoding | str | None = None,
        batch_size: int | None = None,
        adapter_factory: AdapterFactory | None = None,
        retry: WriterRetryConfig | Mapping[str, Any] | None = None,
        shard_retry: RetryConfig | None = None,
        rate_limits: KvWriteRateLimitConfig | Mapping[str, Any] | None = None,
        max_writes_per_second: float | None = None,
        max_write_bytes_per_second: float | None = None,
        shard_id_col: str | None = None,
    ) -> None:
        if cel_columns is not None:
            cel_columns = dict(cel_columns)
        if routing_values is not None:
            routing_values = list(routing_values)
        wire = self._init_from(_validate_cel_config, locals())
        self.sharding = CelShardingConfig(**wire["sharding"])

    @property
    def cel_expr(self) -> str:
        return self.sharding.cel_expr

    @property
    def cel_columns(self) -> Mapping[str, str]:
        return self.sharding.cel_columns

    @property
    def routing_values(self) -> Sequence[int | str | bytes] | None:
        return self.sharding.routing_values

    @property
    def num_dbs(self) -> int | None:
        """Shard count known before the data: categorical routing only."""
        rv = self.sharding.routing_values
        return None if rv is None else max(1, len(rv))


WriteConfig = HashShardedWriteConfig | CelShardedWriteConfig

__all__ = [
    "AdapterFactory",
    "CelShardedWriteConfig",
    "CelShardingConfig",
    "CredentialProvider",
    "EnvCredentialProvider",
    "HashShardedWriteConfig",
    "HashShardingConfig",
    "KeyEncoding",
    "KeyValueWriteConfig",
    "KvWriteRateLimitConfig",
    "RetryConfig",
    "S3ConnectionOptions",
    "StaticCredentialProvider",
    "WriteConfig",
    "WriterManifestConfig",
    "WriterOutputConfig",
    "WriterRetryConfig",
    "WriterStorageConfig",
]
