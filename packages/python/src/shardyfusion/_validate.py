"""Config validation: a port of ``packages/core/src/config/{validate,storage,fields}.ts``.

Input is the TS wire-input shape (grouped dicts or the reference's flat aliases); output is the
normalised grouped form with every default, exactly what ``shardy`` accepts as ``--config-json``.
Messages are the TS core's, word for word, so a bad config reads the same from either side.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from .errors import ConfigValidationError

Obj = dict[str, Any]

DEFAULT_DB_PATH_TEMPLATE = "db={db_id:05d}"
DEFAULT_SHARD_PREFIX = "shards"
DEFAULT_RUN_REGISTRY_PREFIX = "runs"
DEFAULT_BATCH_SIZE = 50_000
DEFAULT_SHARD_ID_COL = "_shard_id"
DEFAULT_RETRY: dict[str, Any] = {"max_retries": 3, "initial_backoff_ms": 1000, "backoff_multiplier": 2.0}
KEY_ENCODINGS = ("u64be", "u32be", "utf8", "raw")
SQLITE_PAGE_SIZES: tuple[int | str, ...] = (4096, 8192, 16384, 32768, 65536, "auto")
CEL_COLUMN_TYPES = ("int", "uint", "string", "bytes", "double", "bool")
BYTES_HEX_TAG = "__bytes_hex__"

FLAT_ALIASES: dict[str, tuple[str, ...]] = {
    "storage": ("s3_prefix", "credential_provider", "s3_connection_options"),
    "kv": ("key_encoding", "batch_size", "adapter_factory"),
    "retry": ("shard_retry",),
    "rate_limits": ("max_writes_per_second", "max_write_bytes_per_second"),
}
HASH_FLAT = ("num_dbs", "max_keys_per_shard")
CEL_FLAT = ("cel_expr", "cel_columns", "routing_values", "infer_routing_values_from_data")
BASE_KEYS = ("storage", "output", "manifest", "kv", "retry", "rate_limits", "shard_id_col", "strategy")
UNSUPPORTED = {
    "observability": "is a runtime hook, not config; pass a metrics/progress listener to the writer call instead",
    "metrics_collector": "is a runtime hook, not config; pass a metrics/progress listener to the writer call instead",
    "lifecycle": "is a runtime hook, not config; pass a run registry to the writer call instead",
    "run_registry": "is a runtime hook, not config; pass a run registry to the writer call instead",
    "vector": "is not supported: shardy builds key-value snapshots only; remove it",
    "vector_spec": "is not supported: shardy builds key-value snapshots only; remove it",
}

# --------------------------------------------------------------------------------------------
# fields.ts
# --------------------------------------------------------------------------------------------


def fail(path: str, message: str) -> NoReturn:
    raise ConfigValidationError(f"{path} {message}", field=path)


#: A key that is absent (TS ``undefined``), shown as "nothing" rather than "null".
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


def show(value: Any) -> str:
    """A value as the user would recognise it in a message (TS ``describeJson``)."""
    if value is MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, (bytes, bytearray)):
        return f"bytes of length {len(value)}"
    if isinstance(value, (dict, list, tuple)):
        try:
            text = json.dumps(value, separators=(",", ":"))
        except (TypeError, ValueError):
            return f"an array of {len(value)}" if isinstance(value, (list, tuple)) else "a dict"
        return text if len(text) <= 80 else f"{text[:77]}..."
    return repr(value)


def join(path: str, key: str) -> str:
    return key if path == "" else f"{path}.{key}"


def given(value: Any) -> bool:
    return value is not None


def expect_object(value: Any, path: str, what: str = "an object") -> Obj:
    if not isinstance(value, Mapping):
        fail(path, f"must be {what}, got {show(value)}")
    return dict(value)


def check_keys(
    obj: Mapping[str, Any], allowed: Sequence[str], path: str, hints: Mapping[str, str] | None = None
) -> None:
    for key in obj:
        if key in allowed:
            continue
        hint = (hints or {}).get(key)
        known = f" of {path}" if path else ""
        fail(join(path, key), hint or f"is not a known field; known fields{known}: {', '.join(allowed)}")


def int_value(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53 - 1:
        return int(value)
    return None


def int_field(value: Any, path: str, minimum: int, fix: str) -> int:
    n = int_value(value)
    if n is None or n < minimum:
        fail(path, f"must be an integer >= {minimum}, got {show(value)}; {fix}")
    return n


def number_value(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def positive_number(value: Any, path: str, fix: str) -> float:
    n = number_value(value)
    if n is None or not math.isfinite(n) or n <= 0:
        fail(path, f"must be a number > 0, got {show(value)}; {fix}")
    return n


def string(value: Any, path: str, fix: str) -> str:
    if not isinstance(value, str):
        fail(path, f"must be a string, got {show(value)}; {fix}")
    return value


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        fail(path, f"must be true or false, got {show(value)}")
    return value


def one_of(value: Any, allowed: Sequence[Any], path: str) -> Any:
    if isinstance(value, bool) or value not in allowed:
        fail(path, f"must be one of {', '.join(show(a) for a in allowed)}, got {show(value)}")
    return value


_SAFE_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._-]+$")


def segment(value: Any, path: str, example: str) -> str:
    fix = f"use e.g. {json.dumps(example)}"
    if not isinstance(value, str):
        fail(path, f"must be a string path segment, got {show(value)}; {fix}")
    if value == "":
        fail(path, f"must be non-empty; {fix}")
    if ".." in value:
        fail(path, f'must not contain "..", got {show(value)}; {fix}')
    if not _SAFE_SEGMENT_RE.match(value):
        fail(path, f"must be one path segment of [A-Za-z0-9._-], got {show(value)}; {fix}")
    return value


# --------------------------------------------------------------------------------------------
# storage.ts
# --------------------------------------------------------------------------------------------

PREFIX_FIX = 'use "s3://bucket/prefix", "file:///absolute/dir" or "memory://name"'
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_S3_RE = re.compile(r"^s3://([^/?#]*)([^?#]*)$", re.IGNORECASE)


def validate_s3_prefix(value: Any, path: str) -> str:
    if not isinstance(value, str) or value == "":
        fail(path, f"is required, got {show(value)}; {PREFIX_FIX}")
    m = _SCHEME_RE.match(value)
    scheme = m.group(1).lower() if m else None
    if scheme == "s3":
        s3 = _S3_RE.match(value)
        if not s3 or s3.group(1) == "":
            fail(path, f"must be parseable as s3://bucket/prefix, got {show(value)}; {PREFIX_FIX}")
        key = s3.group(2) or ""
        if key in ("", "/"):
            fail(
                path,
                f"must include a non-empty key prefix after the bucket, got {show(value)}; "
                f'use e.g. "{value.removesuffix("/")}/snapshots"',
            )
        return value
    if scheme == "file":
        rest = value[len("file://") :]
        if not rest.startswith("/"):
            fail(path, f"must be file:// followed by an absolute path (file:///dir), got {show(value)}; {PREFIX_FIX}")
        if rest.rstrip("/") == "":
            fail(path, f"must name a directory below the file-system root, got {show(value)}")
        return value
    if scheme == "memory":
        if not re.match(r"^memory://[^/]+", value):
            fail(path, f"must be memory://name[/prefix], got {show(value)}; {PREFIX_FIX}")
        return value
    fail(path, f"must be an s3://, file:// or memory:// URL, got {show(value)}; {PREFIX_FIX}")


CONNECTION_KEYS = (
    "endpoint_url",
    "region_name",
    "addressing_style",
    "signature_version",
    "verify_ssl",
    "connect_timeout",
    "read_timeout",
    "max_attempts",
)


def validate_connection_options(value: Any, path: str) -> Obj | None:
    if not given(value):
        return None
    o = expect_object(value, path, "an object of S3 connection options")
    check_keys(o, CONNECTION_KEYS, path)
    out: Obj = {}

    def at(k: str) -> str:
        return f"{path}.{k}"

    if given(o.get("endpoint_url")):
        out["endpoint_url"] = string(o["endpoint_url"], at("endpoint_url"), 'e.g. "http://127.0.0.1:9000"')
    if given(o.get("region_name")):
        out["region_name"] = string(o["region_name"], at("region_name"), 'e.g. "us-east-1"')
    if given(o.get("addressing_style")):
        out["addressing_style"] = one_of(o["addressing_style"], ("virtual", "path", "auto"), at("addressing_style"))
    if given(o.get("signature_version")):
        out["signature_version"] = string(o["signature_version"], at("signature_version"), 'e.g. "s3v4"')
    if given(o.get("verify_ssl")):
        if not isinstance(o["verify_ssl"], (bool, str)):
            fail(at("verify_ssl"), f"must be true, false or a CA bundle path, got {show(o['verify_ssl'])}")
        out["verify_ssl"] = o["verify_ssl"]
    if given(o.get("connect_timeout")):
        out["connect_timeout"] = positive_number(o["connect_timeout"], at("connect_timeout"), "seconds, e.g. 10")
    if given(o.get("read_timeout")):
        out["read_timeout"] = positive_number(o["read_timeout"], at("read_timeout"), "seconds, e.g. 30")
    if given(o.get("max_attempts")):
        out["max_attempts"] = int_field(o["max_attempts"], at("max_attempts"), 1, "e.g. 3")
    return out


def validate_credential_provider(value: Any, path: str) -> Obj | None:
    if not given(value):
        return None
    if not isinstance(value, Mapping):
        fail(
            path, f'must be {{kind: "static", access_key_id, secret_access_key}} or {{kind: "env"}}, got {show(value)}'
        )
    if value.get("kind") == "env":
        check_keys(value, ("kind",), path)
        return {"kind": "env"}
    if value.get("kind") == "static":
        check_keys(value, ("kind", "access_key_id", "secret_access_key", "session_token"), path)
        key = string(value.get("access_key_id", MISSING), f"{path}.access_key_id", "give the access key id")
        secret = string(
            value.get("secret_access_key", MISSING), f"{path}.secret_access_key", "give the secret access key"
        )
        token = value.get("session_token")
        if given(token):
            token = string(token, f"{path}.session_token", "or omit it")
        return {"kind": "static", "access_key_id": key, "secret_access_key": secret, "session_token": token}
    fail(f"{path}.kind", f'must be "static" or "env", got {show(value.get("kind", MISSING))}')


# --------------------------------------------------------------------------------------------
# validate.ts
# --------------------------------------------------------------------------------------------


def _pick_group(inp: Obj, group: str, aliases: Sequence[str]) -> tuple[Obj, str]:
    flat = [k for k in aliases if given(inp.get(k))]
    if given(inp.get(group)):
        if flat:
            fail(
                flat[0],
                f"cannot be combined with the grouped {group} config; set {group}.{flat[0]} inside {group}, "
                f"or drop {group} and use only flat fields",
            )
        return expect_object(inp[group], group), group
    return {k: inp[k] for k in flat}, ""


def _validate_db_path_template(template: str) -> None:
    field = "output.db_path_template"
    try:
        formatted = template.format(db_id=0)
    except (KeyError, IndexError, ValueError, AttributeError) as err:
        raise ConfigValidationError(
            f'{field} must be a Python format template using only {{db_id}} (e.g. "db={{db_id:05d}}"), '
            f"got {json.dumps(template)}: {err}",
            field=field,
        ) from None
    if not isinstance(formatted, str):  # pragma: no cover - str.format always returns str
        fail(field, "must format to a string")


def _storage(inp: Obj) -> Obj:
    obj, prefix = _pick_group(inp, "storage", FLAT_ALIASES["storage"])
    if prefix:
        check_keys(obj, FLAT_ALIASES["storage"], prefix)
    return {
        "s3_prefix": validate_s3_prefix(obj.get("s3_prefix", MISSING), join(prefix, "s3_prefix")),
        "credential_provider": validate_credential_provider(
            obj.get("credential_provider"), join(prefix, "credential_provider")
        ),
        "s3_connection_options": validate_connection_options(
            obj.get("s3_connection_options"), join(prefix, "s3_connection_options")
        ),
    }


def _output(inp: Obj) -> Obj:
    o = expect_object(inp["output"], "output") if given(inp.get("output")) else {}
    check_keys(o, ("run_id", "db_path_template", "shard_prefix", "run_registry_prefix", "local_root"), "output")
    template = (
        string(o["db_path_template"], "output.db_path_template", f'use e.g. "{DEFAULT_DB_PATH_TEMPLATE}"')
        if given(o.get("db_path_template"))
        else DEFAULT_DB_PATH_TEMPLATE
    )
    _validate_db_path_template(template)
    return {
        "run_id": segment(o["run_id"], "output.run_id", "nightly-2026-04-20") if given(o.get("run_id")) else None,
        "db_path_template": template,
        "shard_prefix": segment(o["shard_prefix"], "output.shard_prefix", DEFAULT_SHARD_PREFIX)
        if given(o.get("shard_prefix"))
        else DEFAULT_SHARD_PREFIX,
        "run_registry_prefix": segment(
            o["run_registry_prefix"], "output.run_registry_prefix", DEFAULT_RUN_REGISTRY_PREFIX
        )
        if given(o.get("run_registry_prefix"))
        else DEFAULT_RUN_REGISTRY_PREFIX,
        "local_root": string(o["local_root"], "output.local_root", "give a directory path")
        if given(o.get("local_root"))
        else None,
    }


def _manifest(inp: Obj) -> Obj:
    o = expect_object(inp["manifest"], "manifest") if given(inp.get("manifest")) else {}
    check_keys(
        o,
        ("custom_manifest_fields", "credential_provider", "s3_connection_options"),
        "manifest",
        {"store": "is not supported in config: shardy publishes to the storage location; remove it"},
    )
    custom: Obj = {}
    if given(o.get("custom_manifest_fields")):
        path = "manifest.custom_manifest_fields"
        custom = expect_object(o["custom_manifest_fields"], path, "a JSON object")
        if "__shardy_bytes__" in custom:
            fail(f"{path}.__shardy_bytes__", "is reserved for shardy's bytes encoding in manifests; rename it")
        try:
            json.dumps(custom)
        except (TypeError, ValueError) as err:
            fail(path, f"must be JSON-serializable: {err}")
    return {
        "custom_manifest_fields": custom,
        "credential_provider": validate_credential_provider(
            o.get("credential_provider"), "manifest.credential_provider"
        ),
        "s3_connection_options": validate_connection_options(
            o.get("s3_connection_options"), "manifest.s3_connection_options"
        ),
    }


def _adapter_factory(value: Any, path: str) -> Obj:
    if not given(value):
        return {"kind": "slatedb"}
    o = expect_object(value, path, '{kind: "sqlite" | "slatedb" | "slatedb-local", ...}')
    kind = one_of(o.get("kind"), ("sqlite", "slatedb", "slatedb-local"), f"{path}.kind")
    if kind != "sqlite":
        check_keys(o, ("kind",), path)
        return {"kind": kind}
    check_keys(o, ("kind", "page_size", "cache_size_pages", "emit_sidecar"), path)
    page_size = o.get("page_size")
    if given(page_size):
        n = int_value(page_size)
        page_size = n if n is not None else page_size
    else:
        page_size = 4096
    cache = o.get("cache_size_pages")
    if given(cache):
        n = int_value(cache)
        if n is None:
            fail(f"{path}.cache_size_pages", f"must be an integer (negative = KiB), got {show(cache)}; e.g. -2000")
        cache = n
    else:
        cache = -2000
    return {
        "kind": kind,
        "page_size": one_of(page_size, SQLITE_PAGE_SIZES, f"{path}.page_size"),
        "cache_size_pages": cache,
        "emit_sidecar": boolean(o["emit_sidecar"], f"{path}.emit_sidecar") if given(o.get("emit_sidecar")) else True,
    }


def _kv(inp: Obj) -> Obj:
    obj, prefix = _pick_group(inp, "kv", FLAT_ALIASES["kv"])
    if prefix:
        check_keys(obj, (*FLAT_ALIASES["kv"], "profile_value_sizes_for_page_size"), prefix)

    def at(k: str) -> str:
        return join(prefix, k)

    encoding = obj["key_encoding"] if given(obj.get("key_encoding")) else "u64be"
    if encoding not in KEY_ENCODINGS:
        fail(
            at("key_encoding"), f"must be one of {', '.join(KEY_ENCODINGS)}, got {show(encoding)}; u64be is the default"
        )
    factory = _adapter_factory(obj.get("adapter_factory"), at("adapter_factory"))
    profile = (
        boolean(obj["profile_value_sizes_for_page_size"], at("profile_value_sizes_for_page_size"))
        if given(obj.get("profile_value_sizes_for_page_size"))
        else False
    )
    if profile and factory["kind"] == "sqlite" and factory["page_size"] != 4096:
        fail(
            at("profile_value_sizes_for_page_size"),
            f"cannot be combined with an explicit SQLite page_size ({show(factory['page_size'])}); drop one of them",
        )
    return {
        "key_encoding": encoding,
        "batch_size": int_field(obj["batch_size"], at("batch_size"), 1, f"e.g. {DEFAULT_BATCH_SIZE}")
        if given(obj.get("batch_size"))
        else DEFAULT_BATCH_SIZE,
        "adapter_factory": factory,
        "profile_value_sizes_for_page_size": profile,
    }


def _retry(inp: Obj) -> Obj | None:
    obj, prefix = _pick_group(inp, "retry", FLAT_ALIASES["retry"])
    if prefix:
        check_keys(obj, FLAT_ALIASES["retry"], prefix)
    path = join(prefix, "shard_retry")
    if not given(obj.get("shard_retry")):
        return None
    r = expect_object(obj["shard_retry"], path, "{max_retries, initial_backoff_ms, backoff_multiplier}")
    check_keys(r, ("max_retries", "initial_backoff_ms", "backoff_multiplier"), path)
    backoff = (
        number_value(r["initial_backoff_ms"])
        if given(r.get("initial_backoff_ms"))
        else DEFAULT_RETRY["initial_backoff_ms"]
    )
    if backoff is None or not math.isfinite(backoff) or backoff < 0:
        fail(
            f"{path}.initial_backoff_ms",
            f"must be a number of milliseconds >= 0, got {show(r.get('initial_backoff_ms'))}; e.g. 1000",
        )
    return {
        "max_retries": int_field(r["max_retries"], f"{path}.max_retries", 0, "e.g. 3")
        if given(r.get("max_retries"))
        else DEFAULT_RETRY["max_retries"],
        "initial_backoff_ms": backoff,
        "backoff_multiplier": positive_number(r["backoff_multiplier"], f"{path}.backoff_multiplier", "e.g. 2.0")
        if given(r.get("backoff_multiplier"))
        else DEFAULT_RETRY["backoff_multiplier"],
    }


def _rate_limits(inp: Obj) -> Obj:
    obj, prefix = _pick_group(inp, "rate_limits", FLAT_ALIASES["rate_limits"])
    if prefix:
        check_keys(obj, FLAT_ALIASES["rate_limits"], prefix)

    def limit(k: str) -> float | None:
        if not given(obj.get(k)):
            return None
        return positive_number(obj[k], join(prefix, k), "or leave it unset for no limit")

    return {
        "max_writes_per_second": limit("max_writes_per_second"),
        "max_write_bytes_per_second": limit("max_write_bytes_per_second"),
    }


def _non_empty(value: Any, path: str, fix: str) -> str:
    s = string(value, path, fix)
    if s == "":
        fail(path, f"must be non-empty; {fix}")
    return s


def _base(inp: Obj) -> Obj:
    return {
        "storage": _storage(inp),
        "output": _output(inp),
        "manifest": _manifest(inp),
        "kv": _kv(inp),
        "retry": {"shard_retry": _retry(inp)},
        "rate_limits": _rate_limits(inp),
        "shard_id_col": _non_empty(inp["shard_id_col"], "shard_id_col", f'e.g. "{DEFAULT_SHARD_ID_COL}"')
        if given(inp.get("shard_id_col"))
        else DEFAULT_SHARD_ID_COL,
    }


def _top_level(inp: Any, strategy: str, flat_sharding: Sequence[str]) -> Obj:
    o = expect_object(inp, "config", "a config object")
    allowed = [*BASE_KEYS, *(k for v in FLAT_ALIASES.values() for k in v), "sharding", *flat_sharding]
    other = CEL_FLAT if strategy == "hash" else HASH_FLAT
    hints = dict(UNSUPPORTED)
    for k in other:
        which, fn = ("CEL", "Cel") if strategy == "hash" else ("hash", "Hash")
        hints[k] = f"belongs to {which} sharding; use validate{fn}Config for it"
    check_keys(o, allowed, "", hints)
    if given(o.get("strategy")) and o["strategy"] != strategy:
        fail("strategy", f"must be {show(strategy)} here, got {show(o['strategy'])}")
    return o


def _pick_sharding(inp: Obj, flat: Sequence[str]) -> tuple[Obj, str]:
    obj, prefix = _pick_group(inp, "sharding", flat)
    if prefix:
        check_keys(obj, flat, "sharding")
    return obj, prefix


def validate_hash_config(inp: Any) -> Obj:
    """Normalises a hash-sharded write config (TS ``validateHashConfig``)."""
    o = _top_level(inp, "hash", HASH_FLAT)
    obj, prefix = _pick_sharding(o, HASH_FLAT)
    num_dbs_path = join(prefix, "num_dbs")
    max_keys_path = join(prefix, "max_keys_per_shard")
    if given(obj.get("max_keys_per_shard")):
        max_keys = int_field(obj["max_keys_per_shard"], max_keys_path, 1, "e.g. 1000000")
        if given(obj.get("num_dbs")):
            fail(
                max_keys_path, f"cannot be combined with {num_dbs_path} ({show(obj['num_dbs'])}); set only one of them"
            )
        sharding = {"num_dbs": None, "max_keys_per_shard": max_keys}
    else:
        if not given(obj.get("num_dbs")):
            fail(num_dbs_path, f"is required (an integer > 0) unless {max_keys_path} is set; e.g. {num_dbs_path}=8")
        sharding = {
            "num_dbs": int_field(obj["num_dbs"], num_dbs_path, 1, f"or set {max_keys_path} instead"),
            "max_keys_per_shard": None,
        }
    return {"strategy": "hash", "sharding": sharding, **_base(o)}


_CEL_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _show_routing_value(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return f"b'{bytes(v).hex()}'"
    return show(v)


def routing_values_problem(values: Sequence[Any]) -> str | None:
    kind: str | None = None
    seen: set[object] = set()
    for i, v in enumerate(values):
        if v is None:
            return f"must not contain null values; got [{i}]=null"
        if isinstance(v, bool):
            return f"must not be boolean values; got [{i}]={'true' if v else 'false'}"
        if not isinstance(v, (int, str, bytes, bytearray)):
            return f"must be int, str, or bytes values; got [{i}]={show(v)}"
        k = "int" if isinstance(v, int) else "str" if isinstance(v, str) else "bytes"
        if kind is not None and k != kind:
            return (
                f"must all share the same type; got [{i - 1}]={_show_routing_value(values[i - 1])}, "
                f"[{i}]={_show_routing_value(v)}"
            )
        kind = k
        identity = (k, bytes(v) if isinstance(v, (bytes, bytearray)) else v)
        if identity in seen:
            return f"must be unique; duplicate {_show_routing_value(v)} at [{i}]"
        seen.add(identity)
    return None


CelExprCheck = Callable[[str, Mapping[str, str]], None]


def validate_cel_config(inp: Any, check_cel_expr: CelExprCheck | None = None) -> Obj:
    """Normalises a CEL-sharded write config (TS ``validateCelConfig``)."""
    o = _top_level(inp, "cel", CEL_FLAT)
    obj, prefix = _pick_sharding(o, CEL_FLAT)

    def at(k: str) -> str:
        return join(prefix, k)

    if not given(obj.get("cel_expr")) or obj.get("cel_expr") == "":
        fail(at("cel_expr"), 'is required for CEL sharding; e.g. "shard_hash(key) % 8u"')
    expr = string(obj["cel_expr"], at("cel_expr"), 'e.g. "shard_hash(key) % 8u"')
    if not given(obj.get("cel_columns")):
        fail(at("cel_columns"), 'is required for CEL sharding; e.g. {"key": "int"}')
    raw_cols = expect_object(
        obj["cel_columns"], at("cel_columns"), 'an object of column name -> type, e.g. {"key": "int"}'
    )
    if not raw_cols:
        fail(at("cel_columns"), 'must name at least one column; e.g. {"key": "int"}')
    columns: dict[str, str] = {}
    for name, typ in raw_cols.items():
        col_path = f"{at('cel_columns')}.{name}"
        if not _CEL_IDENTIFIER_RE.match(name):
            fail(
                col_path,
                "is not a valid CEL identifier (letters, digits, _; not starting with a digit); rename the column",
            )
        if typ not in CEL_COLUMN_TYPES:
            fail(col_path, f"must be one of {', '.join(CEL_COLUMN_TYPES)}, got {show(typ)}")
        columns[name] = typ
    infer = (
        boolean(obj["infer_routing_values_from_data"], at("infer_routing_values_from_data"))
        if given(obj.get("infer_routing_values_from_data"))
        else False
    )
    routing_values: list[Any] | None = None
    if given(obj.get("routing_values")):
        rv_path = at("routing_values")
        if infer:
            fail(
                at("infer_routing_values_from_data"),
                f"cannot be combined with {rv_path}; give the tokens or infer them, not both",
            )
        if not isinstance(obj["routing_values"], (list, tuple)):
            fail(rv_path, f"must be a list of tokens, got {show(obj['routing_values'])}")
        values = [_routing_value_in(v) for v in obj["routing_values"]]
        problem = routing_values_problem(values)
        if problem:
            fail(rv_path, f"{problem}; give unique tokens, all ints, all strings or all bytes")
        routing_values = values
    if check_cel_expr is not None:
        try:
            check_cel_expr(expr, columns)
        except ConfigValidationError:
            raise
        except Exception as err:
            fail(at("cel_expr"), f"does not compile: {err}; got {show(expr)}")
    sharding = {
        "cel_expr": expr,
        "cel_columns": columns,
        "routing_values": routing_values,
        "infer_routing_values_from_data": infer,
    }
    return {"strategy": "cel", "sharding": sharding, **_base(o)}


def _routing_value_in(v: Any) -> Any:
    if isinstance(v, Mapping) and set(v) == {BYTES_HEX_TAG} and isinstance(v[BYTES_HEX_TAG], str):
        return bytes.fromhex(v[BYTES_HEX_TAG])
    if isinstance(v, bytearray):
        return bytes(v)
    return v


def to_wire_json(config: Obj) -> str:
    """The normalised config as JSON for ``--config-json`` (bytes routing tokens tagged)."""

    def default(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray)):
            return {BYTES_HEX_TAG: bytes(value).hex()}
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return json.dumps(config, default=default, sort_keys=True, separators=(",", ":"))
