"""The reference's smoke and failure scenarios (spec §11), written once and run per engine.

``write(pdf, config, input, **options)`` runs one engine's ``write_hash_sharded`` on a pandas
frame (converted to that engine's collection). Every published key is read back through
``shardy multiget`` and found in exactly the shard the reader-side router predicts."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shardyfusion import (
    CelShardedWriteConfig,
    ColumnWriteInput,
    ConfigValidationError,
    HashShardedWriteConfig,
    PublishCurrentError,
    PublishManifestError,
    RetryConfig,
    ShardAssignmentError,
    ShardCoverageError,
    ValueSpec,
)
from shardyfusion.manifest import BuildResult
from shardyfusion.routing import route_hash
from shardyfusion.sqlite_adapter import SqliteFactory

SMOKE_VALUES = [b"zero", b"one", b"two", b"three", b"four", b"five", b"six", b"seven", b"eight", b"nine"]

Write = Callable[..., BuildResult]


def smoke_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": list(range(10)),
            "payload": SMOKE_VALUES,
            "group": ["a" if k % 2 == 0 else "b" for k in range(10)],
        }
    )


def binary_input() -> ColumnWriteInput:
    return ColumnWriteInput(key_col="id", value_spec=ValueSpec.binary_col("payload"))


def sqlite_config(location: Any, **kw: Any) -> HashShardedWriteConfig:
    return HashShardedWriteConfig(adapter_factory=SqliteFactory(), **location.config_kwargs(), **kw)


def shard_keys(location: Any, db_url: str) -> set[int]:
    """u64be keys stored in one SQLite shard (raw shard read, like the reference's assertions)."""
    data = location.read(db_url.rstrip("/") + "/shard.db")
    with tempfile.NamedTemporaryFile(suffix=".db", delete=False) as f:
        f.write(data)
        path = f.name
    try:
        con = sqlite3.connect(path)
        try:
            return {int.from_bytes(k, "big") for (k,) in con.execute("SELECT k FROM kv")}
        finally:
            con.close()
    finally:
        os.unlink(path)


def multiget(location: Any, keys: Sequence[int], *extra: str) -> dict[int, bytes | None]:
    """``shardy multiget`` of int keys; ``extra`` goes after the verb (e.g. ``--routing-context``)."""
    cmd = [
        os.environ["SHARDY_TEST_REAL_BIN"],
        "--current-url",
        location.current_url,
        *location.cli_options(),
        "-o",
        "jsonl",
        "--value-encoding",
        "hex",
        "multiget",
        *extra,
        *[str(k) for k in keys],
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"shardy multiget failed: {out.stderr}"
    record = json.loads(out.stdout.strip().splitlines()[-1])
    return {int(r["key"]): (bytes.fromhex(r["value"]) if r["found"] else None) for r in record["results"]}


def assert_published(
    result: BuildResult,
    location: Any,
    keys: Sequence[int],
    values: Sequence[bytes],
    num_dbs: int,
    winners: int,
) -> None:
    assert len(result.winners) == winners
    assert sum(w.row_count for w in result.winners) == len(keys)
    assert result.stats.rows_written == len(keys)
    assert result.num_dbs == num_dbs
    assert result.manifest_ref.ref.startswith(location.prefix + "/manifests/")
    current = json.loads(location.read(location.prefix + "/_CURRENT"))
    assert current["manifest_ref"] == result.manifest_ref.ref
    got = multiget(location, keys)
    assert got == dict(zip(keys, values, strict=True))
    stored = {w.db_id: shard_keys(location, w.db_url) for w in result.winners if w.db_url}
    for k in keys:
        holders = sorted(db for db, ks in stored.items() if k in ks)
        assert holders == [route_hash(k, num_dbs)], f"key {k} is in shards {holders}"


def assert_nothing_published(location: Any) -> None:
    assert location.listing("manifests") == []
    assert "_CURRENT" not in [Path(p).name for p in location.listing("")]


# ---------------------------------------------------------------------------------------------
# Smoke scenarios (§11)
# ---------------------------------------------------------------------------------------------


def smoke_hash(write: Write, location: Any, num_dbs: int, **options: Any) -> BuildResult:
    result = write(smoke_frame(), sqlite_config(location, num_dbs=num_dbs), binary_input(), **options)
    assert_published(result, location, list(range(10)), SMOKE_VALUES, num_dbs, winners=num_dbs)
    if num_dbs == 3:
        ids = [route_hash(k, 3) for k in range(10)]
        assert ids == [2, 2, 1, 1, 0, 2, 0, 2, 0, 0]
    return result


def smoke_max_keys_per_shard(write: Write, location: Any) -> None:
    result = write(smoke_frame(), sqlite_config(location, max_keys_per_shard=5), binary_input())
    assert_published(result, location, list(range(10)), SMOKE_VALUES, 2, winners=2)


def smoke_retry_success(write: Write, location: Any, tmp_path: Path) -> None:
    """Shard 0's first attempt fails (its scratch directory cannot be created); shard_retry writes
    attempt 1, which wins."""
    run_id = "retry-smoke"
    local_root = tmp_path / "scratch"
    blocked = local_root / f"run_id={run_id}" / "db=00000" / "attempt=00"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a directory: the first attempt of shard 0 fails here")
    config = sqlite_config(
        location,
        num_dbs=3,
        shard_retry=RetryConfig(max_retries=1, initial_backoff=__import__("datetime").timedelta(milliseconds=10)),
        output={"run_id": run_id, "local_root": str(local_root)},
    )
    result = write(smoke_frame(), config, binary_input())
    assert_published(result, location, list(range(10)), SMOKE_VALUES, 3, winners=3)
    by_id = {w.db_id: w for w in result.winners}
    assert by_id[0].attempt == 1 and by_id[0].db_url and by_id[0].db_url.endswith("/attempt=01")
    assert all(w.attempt == 0 for w in result.winners if w.db_id != 0)
    # The failed attempt left no objects behind.
    assert not any("db=00000/attempt=00" in p for p in location.listing("shards"))


def larger_frame(n: int = 2000) -> pd.DataFrame:
    return pd.DataFrame({"id": list(range(n)), "payload": [f"v{i}".encode() for i in range(n)]})


def json_and_callable(write: Write, location: Any) -> None:
    """``json_cols`` (encoded by shardy) and ``callable_encoder`` (encoded in Python), with
    ``sort_within_partitions``; the temporary shard-id column never reaches a value."""
    pdf = pd.DataFrame(
        {"id": list(range(50)), "name": [f"n{i}" for i in range(50)], "score": [i / 2 for i in range(50)]}
    )
    cfg = HashShardedWriteConfig(adapter_factory=SqliteFactory(), num_dbs=4, **location.config_kwargs())
    result = write(
        pdf, cfg, ColumnWriteInput(key_col="id", value_spec=ValueSpec.json_cols()), sort_within_partitions=True
    )
    expected = [
        json.dumps({"id": i, "name": f"n{i}", "score": i / 2}, sort_keys=True, separators=(",", ":")).encode()
        for i in range(50)
    ]
    assert_published(result, location, list(range(50)), expected, 4, winners=4)

    cfg2 = HashShardedWriteConfig(adapter_factory=SqliteFactory(), num_dbs=4, **location.config_kwargs())
    enc = ValueSpec.callable_encoder(lambda row: f"{row['name']}|{sorted(row)}".encode())
    result2 = write(pdf, cfg2, ColumnWriteInput(key_col="id", value_spec=enc))
    expected2 = [f"n{i}|['id', 'name', 'score']".encode() for i in range(50)]
    assert_published(result2, location, list(range(50)), expected2, 4, winners=4)


# ---------------------------------------------------------------------------------------------
# Failure table rows
# ---------------------------------------------------------------------------------------------


def column_collision(write: Write, location: Any) -> None:
    pdf = smoke_frame().assign(_shard_id=1)
    with pytest.raises(ConfigValidationError, match="shard_id_col '_shard_id' collides"):
        write(pdf, sqlite_config(location, num_dbs=3), binary_input())
    assert_nothing_published(location)
    # The documented fix: another shard_id_col.
    result = write(pdf, sqlite_config(location, num_dbs=3, shard_id_col="_route"), binary_input())
    assert_published(result, location, list(range(10)), SMOKE_VALUES, 3, winners=3)


def routing_mismatch(write: Write, location: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader-side router disagrees with the writer's kernel routing -> ShardAssignmentError,
    nothing written or published."""
    import shardyfusion.routing as routing

    real = routing.route_hash
    monkeypatch.setattr(routing, "route_hash", lambda key, n: (real(key, n) + 1) % n)
    with pytest.raises(ShardAssignmentError, match=r"routing mismatch in \d+/\d+ sampled rows"):
        write(smoke_frame(), sqlite_config(location, num_dbs=3), binary_input())
    assert location.listing("shards") == []
    assert_nothing_published(location)


def publish_failure(write: Write, minio: Any, proxy_factory: Callable[..., Any], target: str) -> None:
    """The store refuses the manifest (PublishManifestError) or the pointer (PublishCurrentError)."""
    import uuid

    from faultproxy import Rule

    proxy = proxy_factory()
    prefix_key = f"pytest/{uuid.uuid4().hex}"
    if target == "manifest":
        proxy.rules.append(Rule("PUT", rf"/{prefix_key}/manifests/"))
    else:
        proxy.rules.append(Rule("PUT", rf"/{prefix_key}/_CURRENT"))
    config = HashShardedWriteConfig(
        adapter_factory=SqliteFactory(),
        num_dbs=3,
        s3_prefix=f"s3://{minio.bucket}/{prefix_key}",
        **minio.config_kwargs(proxy.endpoint),
    )
    if target == "manifest":
        with pytest.raises(PublishManifestError, match="nothing was published"):
            write(smoke_frame(), config, binary_input())
        assert proxy.rules[0].hits >= 1
        listed = minio.filesystem().get_file_info(
            __import__("pyarrow.fs").fs.FileSelector(f"{minio.bucket}/{prefix_key}", recursive=True)
        )
        names = [i.path for i in listed]
        assert not any("/manifests/" in n for n in names) and not any(n.endswith("/_CURRENT") for n in names)
    else:
        with pytest.raises(PublishCurrentError) as info:
            write(smoke_frame(), config, binary_input())
        assert proxy.rules[0].hits >= 1
        ref = info.value.manifest_ref
        assert ref is not None and ref.startswith(f"s3://{minio.bucket}/{prefix_key}/manifests/")
        listed = minio.filesystem().get_file_info(
            __import__("pyarrow.fs").fs.FileSelector(f"{minio.bucket}/{prefix_key}", recursive=True)
        )
        names = [i.path for i in listed]
        assert not any(n.endswith("/_CURRENT") for n in names)
        assert any(n.endswith(ref[len("s3://") :]) for n in names)


def plan_kill(fault_dir: Path, db_id: int, max_kills: int) -> None:
    (fault_dir / "kill.plan").write_text(f"{db_id} {max_kills}\n")


def kills(fault_dir: Path) -> int:
    return len(list(fault_dir.glob("killed.*")))


def worker_killed_then_retried(write: Write, location: Any, fault_dir: Path, **options: Any) -> None:
    plan_kill(fault_dir, 0, 1)
    result = write(smoke_frame(), sqlite_config(location, num_dbs=3), binary_input(), **options)
    assert kills(fault_dir) == 1
    assert_published(result, location, list(range(10)), SMOKE_VALUES, 3, winners=3)


def worker_killed_exhausted(write: Write, location: Any, fault_dir: Path, **options: Any) -> None:
    plan_kill(fault_dir, 0, 1000)
    with pytest.raises(ShardCoverageError) as info:
        write(smoke_frame(), sqlite_config(location, num_dbs=3), binary_input(), **options)
    err = info.value
    # The killed task held shard 0, and whichever shards the shuffle put in the same partition.
    assert 0 in err.db_ids, str(err)
    assert f"shard(s) [{', '.join(str(i) for i in err.db_ids)}]" in str(err)
    assert err.__cause__ is not None
    assert kills(fault_dir) >= 2
    assert_nothing_published(location)


def smoke_hash_slatedb(write: Write, location: Any, factory: Any) -> None:
    """SlateDB shards: every key is found by ``shardy multiget`` (which looks only in the shard the
    reader routes it to), and each shard holds exactly the keys routed to it (row counts)."""
    config = HashShardedWriteConfig(num_dbs=3, adapter_factory=factory, **location.config_kwargs())
    result = write(smoke_frame(), config, binary_input())
    assert len(result.winners) == 3
    assert multiget(location, list(range(10))) == dict(zip(range(10), SMOKE_VALUES, strict=True))
    predicted = [route_hash(k, 3) for k in range(10)]
    assert {w.db_id: w.row_count for w in result.winners} == {d: predicted.count(d) for d in range(3)}
    current = json.loads(location.read(location.prefix + "/_CURRENT"))
    assert current["manifest_ref"] == result.manifest_ref.ref


def empty_shards(write: Write, location: Any) -> None:
    """Two keys over eight shards: the empty shards are never written and the manifest omits
    them; rate limits (per shard) are passed to every shard writer."""
    pdf = smoke_frame().iloc[[3, 7]]
    config = sqlite_config(
        location, num_dbs=8, max_writes_per_second=1_000_000, max_write_bytes_per_second=1_000_000_000
    )
    result = write(pdf, config, binary_input())
    assert_published(
        result,
        location,
        [3, 7],
        [SMOKE_VALUES[3], SMOKE_VALUES[7]],
        8,
        winners=len({route_hash(3, 8), route_hash(7, 8)}),
    )
    assert all(w.row_count > 0 for w in result.winners)
    assert len(location.listing("shards")) == 2 * len(result.winners)  # shard.db + shard.sidecar each


def multiget_text(location: Any, keys: Sequence[str]) -> dict[str, str | None]:
    """``shardy multiget`` of text keys (utf8 snapshots), values as UTF-8."""
    cmd = [
        os.environ["SHARDY_TEST_REAL_BIN"],
        "--current-url",
        location.current_url,
        *location.cli_options(),
        "-o",
        "jsonl",
        "--value-encoding",
        "utf8",
        "multiget",
        *keys,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"shardy multiget failed: {out.stderr}"
    record = json.loads(out.stdout.strip().splitlines()[-1])
    return {r["key"]: (r["value"] if r["found"] else None) for r in record["results"]}


# ---------------------------------------------------------------------------------------------
# CEL smoke scenarios (§11): keys 0..9 in a ``key`` column (key-only CEL context), values
# b"zero".."nine", ``group`` "a" for even keys and "b" for odd ones.
# ---------------------------------------------------------------------------------------------

CEL_SMOKE = [
    # (expr, cel_columns, routing_values, shard of each key 0..9)
    ("key % 3", {"key": "int"}, None, [k % 3 for k in range(10)]),
    ("shard_hash(key) % 3u", {"key": "int"}, None, [route_hash(k, 3) for k in range(10)]),
    ("uint(key)", {"key": "int"}, None, list(range(10))),
    ("group", {"group": "string"}, ["a", "b"], [k % 2 for k in range(10)]),
]


def cel_frame() -> pd.DataFrame:
    pdf = smoke_frame().rename(columns={"id": "key"})
    return pdf


def cel_config(location: Any, **kw: Any) -> CelShardedWriteConfig:
    return CelShardedWriteConfig(adapter_factory=SqliteFactory(), **location.config_kwargs(), **kw)


def cel_input() -> ColumnWriteInput:
    return ColumnWriteInput(key_col="key", value_spec=ValueSpec.binary_col("payload"))


def smoke_cel(
    write_cel: Write,
    location: Any,
    expr: str,
    columns: dict[str, str],
    routing_values: list[str] | None,
    shard_of: list[int],
    infer: bool | None = None,
) -> BuildResult:
    """One CEL smoke build: one winner per shard id, every key stored in its predicted shard
    only, and every key read back by ``shardy multiget`` (with the routing context when the
    expression reads more than the key)."""
    config = cel_config(
        location,
        cel_expr=expr,
        cel_columns=columns,
        routing_values=routing_values,
        infer_routing_values_from_data=infer,
    )
    result = write_cel(cel_frame(), config, cel_input())
    num_dbs = max(shard_of) + 1
    assert result.num_dbs == num_dbs
    assert len(result.winners) == num_dbs
    assert {w.db_id: w.row_count for w in result.winners} == {d: shard_of.count(d) for d in range(num_dbs)}
    assert result.stats.rows_written == 10
    current = json.loads(location.read(location.prefix + "/_CURRENT"))
    assert current["manifest_ref"] == result.manifest_ref.ref
    stored = {w.db_id: shard_keys(location, w.db_url) for w in result.winners if w.db_url}
    for k in range(10):
        holders = sorted(db for db, ks in stored.items() if k in ks)
        assert holders == [shard_of[k]], f"key {k} is in shards {holders}, expected [{shard_of[k]}]"
    if set(columns) == {"key"}:
        assert multiget(location, list(range(10))) == dict(enumerate(SMOKE_VALUES))
    else:
        for group, parity in (("a", 0), ("b", 1)):
            keys = [k for k in range(10) if k % 2 == parity]
            got = multiget(location, keys, "--routing-context", f"group={group}")
            assert got == {k: SMOKE_VALUES[k] for k in keys}, f"group {group}: {got}"
    return result


def cel_unknown_token(write_cel: Write, location: Any) -> None:
    """A token missing from ``routing_values`` fails the build before any write, also when the
    verify_routing sample holds no such row (here: only the last key is in group "c")."""
    pdf = cel_frame()
    pdf.loc[9, "group"] = "c"
    config = cel_config(location, cel_expr="group", cel_columns={"group": "string"}, routing_values=["a", "b"])
    for verify in (True, False):
        with pytest.raises(ShardAssignmentError, match=r"not in routing_values \['a', 'b'\].*group='c'"):
            write_cel(pdf, config, cel_input(), verify_routing=verify)
    assert location.listing("shards") == []
    assert_nothing_published(location)


def cel_non_consecutive(write_cel: Write, location: Any) -> None:
    """Direct mode needs every id 0..max: ``key * 2`` leaves gaps and publishes nothing."""
    config = cel_config(location, cel_expr="key * 2", cel_columns={"key": "int"})
    with pytest.raises(ShardAssignmentError, match="non-consecutive shard IDs"):
        write_cel(cel_frame(), config, cel_input())
    assert_nothing_published(location)


def cel_routing_mismatch(write_cel: Write, location: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify_routing re-routes sampled rows by the kernel's scalar path (on the driver): when it
    disagrees with the engine's batch routing, the build stops before anything is written."""
    from shardyfusion import _cel

    real = _cel.CelRouting.route_row

    def shifted(self: Any, row: Any) -> int:
        return (real(self, row) + 1) % 3

    monkeypatch.setattr(_cel.CelRouting, "route_row", shifted)
    config = cel_config(location, cel_expr="key % 3", cel_columns={"key": "int"})
    with pytest.raises(ShardAssignmentError, match=r"routing mismatch in \d+/\d+ sampled rows"):
        write_cel(cel_frame(), config, cel_input())
    assert location.listing("shards") == []
    assert_nothing_published(location)


def cel_inferred(write_cel: Write, location: Any) -> None:
    """``infer_routing_values_from_data``: the sorted distinct tokens become the routing values,
    recorded in the manifest: the reads with ``--routing-context`` route by them."""
    smoke_cel(write_cel, location, "group", {"group": "string"}, None, [k % 2 for k in range(10)], True)


def cel_inferred_int_tokens(write_cel: Write, location: Any) -> None:
    """Inferred int tokens sort numerically: ``key % 4 * 10`` gives tokens 0, 10, 20, 30, which
    are shards 0..3 (a direct build of the same expression would need ids 0..30)."""
    smoke_cel(write_cel, location, "key % 4 * 10", {"key": "int"}, None, [k % 4 for k in range(10)], True)
