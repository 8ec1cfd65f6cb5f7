"""Config classes validate like the TS core: same rules, same messages, same normalised form.
The TS validator itself is run (through Bun) on every case and compared."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shardyfusion import (
    CelShardedWriteConfig,
    ConfigValidationError,
    HashShardedWriteConfig,
    KeyValueWriteConfig,
    RetryConfig,
    WriterOutputConfig,
    WriterStorageConfig,
    _validate,
)
from shardyfusion._cel import check_cel_expr
from shardyfusion.local_slatedb_adapter import LocalSlateDbFactory
from shardyfusion.slatedb_adapter import SlateDbFactory
from shardyfusion.sqlite_adapter import SqliteFactory

REPO = Path(__file__).resolve().parents[3]
P = "s3://bucket/snapshots"

CASES: list[tuple[str, dict[str, Any]]] = [
    ("hash", {"s3_prefix": P, "num_dbs": 8}),
    ("hash", {"num_dbs": 8}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "credential_provider": {"kind": "oauth"}}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "manifest": {"store": "x"}}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "output": {"db_path_template": "db={db_id:05d}"}}),
    ("hash", {"s3_prefix": "memory://mem/x", "num_dbs": 4, "rate_limits": {"max_writes_per_second": 10}}),
    ("hash", {"s3_prefix": P, "max_keys_per_shard": 1000}),
    ("hash", {"s3_prefix": P}),
    ("hash", {"s3_prefix": P, "num_dbs": 0}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "max_keys_per_shard": 10}),
    ("hash", {"s3_prefix": "s3://bucket", "num_dbs": 4}),
    ("hash", {"s3_prefix": "s3:///x", "num_dbs": 4}),
    ("hash", {"s3_prefix": "gs://b/p", "num_dbs": 4}),
    ("hash", {"s3_prefix": "file://rel/dir", "num_dbs": 4}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "key_encoding": "u16be"}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "batch_size": 0}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "max_writes_per_second": -1}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "shard_id_col": ""}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "output": {"shard_prefix": "a/b"}}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "output": {"run_id": "x..y"}}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "output": {"bogus": 1}}),
    ("hash", {"storage": {"s3_prefix": P}, "s3_prefix": P, "num_dbs": 4}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "adapter_factory": {"kind": "sqlite", "page_size": 1000}}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "adapter_factory": {"kind": "rocksdb"}}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "shard_retry": {"max_retries": -1}}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "shard_retry": {"max_retries": 2, "initial_backoff_ms": 50}}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "cel_expr": "key % 4"}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "vector_spec": {}}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "s3_connection_options": {"addressing_style": "diagonal"}}),
    ("hash", {"s3_prefix": P, "num_dbs": 4, "credential_provider": {"kind": "static", "access_key_id": "a"}}),
    ("cel", {"s3_prefix": P, "cel_expr": "key % 4", "cel_columns": {"key": "int"}}),
    ("cel", {"s3_prefix": P, "cel_columns": {"key": "int"}}),
    ("cel", {"s3_prefix": P, "cel_expr": "key % 16u", "cel_columns": {"key": "int"}}),
    ("cel", {"s3_prefix": P, "cel_expr": "uint(key) % 16u", "cel_columns": {"key": "int"}}),
    ("cel", {"s3_prefix": P, "cel_expr": "key +", "cel_columns": {"key": "int"}}),
    ("cel", {"s3_prefix": P, "cel_expr": "tier", "cel_columns": {"key": "int"}}),
    (
        "cel",
        {
            "s3_prefix": P,
            "cel_expr": 'shard_hash(region + ":" + string(tier)) % 8u',
            "cel_columns": {"region": "string", "tier": "int"},
        },
    ),
    ("cel", {"s3_prefix": P, "cel_expr": "key % 4", "cel_columns": {"key": "float"}}),
    ("cel", {"s3_prefix": P, "cel_expr": "key % 4", "cel_columns": {"1key": "int"}}),
    ("cel", {"s3_prefix": P, "cel_expr": "g", "cel_columns": {"g": "string"}, "routing_values": ["a", "a"]}),
    ("cel", {"s3_prefix": P, "cel_expr": "g", "cel_columns": {"g": "string"}, "routing_values": ["a", 1]}),
    (
        "cel",
        {
            "s3_prefix": P,
            "cel_expr": "g",
            "cel_columns": {"g": "string"},
            "routing_values": ["a"],
            "infer_routing_values_from_data": True,
        },
    ),
]


def ts_validate(cases: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    bun = REPO / ".tools" / "node_modules" / ".bin" / "bun"
    if not bun.exists():
        pytest.fail(f"bun is missing at {bun}: run `bash scripts/setup`", pytrace=False)
    payload = json.dumps([{"strategy": s, "input": i} for s, i in cases])
    out = subprocess.run(
        [str(bun), str(Path(__file__).parent / "ts" / "validate-configs.ts")],
        input=payload,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ},
    )
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def py_validate(strategy: str, inp: dict[str, Any]) -> dict[str, Any]:
    try:
        if strategy == "hash":
            config = _validate.validate_hash_config(inp)
        else:
            config = _validate.validate_cel_config(inp, check_cel_expr)
        return {"ok": json.loads(_validate.to_wire_json(config))}
    except ConfigValidationError as err:
        return {"error": str(err), "type": "ConfigValidationError"}


def test_python_validator_agrees_with_the_ts_core() -> None:
    expected = ts_validate(CASES)
    for (strategy, inp), ts in zip(CASES, expected, strict=True):
        py = py_validate(strategy, inp)
        assert py == ts, f"{strategy} {inp}"


def test_config_classes_validate_on_construction_with_ts_messages() -> None:
    cases = [
        ("hash", {"s3_prefix": P, "num_dbs": 0}),
        ("hash", {"s3_prefix": "s3://bucket", "num_dbs": 2}),
        ("hash", {"s3_prefix": P, "num_dbs": 2, "output": {"shard_prefix": ".."}}),
    ]
    ts = ts_validate(cases)
    with pytest.raises(ConfigValidationError) as e1:
        HashShardedWriteConfig(s3_prefix=P, num_dbs=0)
    with pytest.raises(ConfigValidationError) as e2:
        HashShardedWriteConfig(s3_prefix="s3://bucket", num_dbs=2)
    with pytest.raises(ConfigValidationError) as e3:
        HashShardedWriteConfig(s3_prefix=P, num_dbs=2, output=WriterOutputConfig(shard_prefix=".."))
    assert [str(e1.value), str(e2.value), str(e3.value)] == [t["error"] for t in ts]
    assert e1.value.field == "num_dbs"


def test_grouped_and_flat_forms_serialise_to_the_same_wire_config() -> None:
    flat = HashShardedWriteConfig(
        num_dbs=16,
        s3_prefix=P,
        adapter_factory=SqliteFactory(page_size=8192),
        key_encoding="u32be",
        shard_retry=RetryConfig(max_retries=2, initial_backoff=timedelta(milliseconds=250)),
    )
    grouped = HashShardedWriteConfig(
        num_dbs=16,
        storage=WriterStorageConfig(s3_prefix=P),
        kv=KeyValueWriteConfig(key_encoding="u32be", adapter_factory=SqliteFactory(page_size=8192)),
        retry={"shard_retry": {"max_retries": 2, "initial_backoff_ms": 250}},
    )
    assert flat.to_wire() == grouped.to_wire()
    wire = flat.to_wire()
    assert wire["kv"]["adapter_factory"] == {
        "kind": "sqlite",
        "page_size": 8192,
        "cache_size_pages": -2000,
        "emit_sidecar": True,
    }
    assert wire["retry"]["shard_retry"] == {"max_retries": 2, "initial_backoff_ms": 250, "backoff_multiplier": 2.0}
    assert flat.num_dbs == 16 and flat.shard_id_col == "_shard_id" and flat.s3_prefix == P
    assert isinstance(flat.kv.adapter_factory, SqliteFactory)
    # The TS core accepts the Python wire form unchanged (and normalises it to itself).
    ts = ts_validate([("hash", wire)])[0]
    assert ts == {"ok": json.loads(flat.to_json())}


def test_default_backend_is_slatedb_and_factories_serialise() -> None:
    cfg = HashShardedWriteConfig(num_dbs=2, s3_prefix=P)
    assert cfg.to_wire()["kv"]["adapter_factory"] == {"kind": "slatedb"}
    assert isinstance(cfg.adapter_factory, SlateDbFactory)
    local = HashShardedWriteConfig(num_dbs=2, s3_prefix=P, adapter_factory=LocalSlateDbFactory())
    assert local.to_wire()["kv"]["adapter_factory"] == {"kind": "slatedb-local"}
    with pytest.raises(ConfigValidationError, match=r"kv\.adapter_factory\.env_file is not supported"):
        HashShardedWriteConfig(num_dbs=2, s3_prefix=P, adapter_factory=SlateDbFactory(env_file=".env"))


def test_cel_config_validates_and_is_refused_at_write_time_until_shardy_supports_it() -> None:
    cfg = CelShardedWriteConfig(cel_expr="key % 16", cel_columns={"key": "int"}, s3_prefix=P)
    assert cfg.num_dbs is None and cfg.cel_columns == {"key": "int"}
    with pytest.raises(ConfigValidationError, match=r"cel_columns\.key must be one of"):
        CelShardedWriteConfig(cel_expr="key % 16", cel_columns={"key": "long"}, s3_prefix=P)


def test_the_seed_cel_example_is_rejected_with_the_fix() -> None:
    """Seed-notes item 1: `key % 16u` over an int column has no `%` overload in CEL."""
    with pytest.raises(ConfigValidationError) as info:
        CelShardedWriteConfig(cel_expr="key % 16u", cel_columns={"key": "int"}, s3_prefix=P)
    msg = str(info.value)
    assert msg.startswith('CEL expression "key % 16u" does not compile: type error:')
    assert "'_%_' applied to '(int, uint)'" in msg and "uint(key) % 16u" in msg
    assert msg.endswith("  key % 16u\n      ^")
