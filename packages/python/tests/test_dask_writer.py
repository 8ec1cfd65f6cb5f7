"""The Dask writer on a real ``distributed.LocalCluster`` (2 worker processes), SQLite backend,
file store and MinIO: the §11 smoke scenarios and every row of the seed's failure table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd
import pytest

import scenarios
from faultproxy import FaultProxy
from shardyfusion.local_slatedb_adapter import LocalSlateDbFactory
from shardyfusion.manifest import BuildResult
from shardyfusion.slatedb_adapter import SlateDbFactory
from shardyfusion.writer.dask import DaskWriteOptions, write_cel_sharded, write_hash_sharded


@pytest.fixture
def write(dask_client: Any) -> Any:
    def run(pdf: pd.DataFrame, config: Any, input: Any, **options: Any) -> BuildResult:
        ddf = dd.from_pandas(pdf, npartitions=3)
        return write_hash_sharded(ddf, config, input, DaskWriteOptions(**options))

    return run


@pytest.fixture
def write_cel(dask_client: Any) -> Any:
    def run(pdf: pd.DataFrame, config: Any, input: Any, **options: Any) -> BuildResult:
        ddf = dd.from_pandas(pdf, npartitions=3)
        return write_cel_sharded(ddf, config, input, DaskWriteOptions(**options))

    return run


@pytest.fixture
def proxy_factory(minio: Any) -> Iterator[Any]:
    proxies: list[FaultProxy] = []

    def make() -> FaultProxy:
        p = FaultProxy(minio.endpoint)
        proxies.append(p)
        return p

    yield make
    for p in proxies:
        p.close()


def test_smoke_hash(write: Any, location: Any) -> None:
    scenarios.smoke_hash(write, location, 3)


def test_smoke_hash_num_dbs_2(write: Any, location: Any) -> None:
    scenarios.smoke_hash(write, location, 2)


def test_smoke_hash_max_keys_per_shard(write: Any, location: Any) -> None:
    scenarios.smoke_max_keys_per_shard(write, location)


def test_smoke_hash_retry_success(write: Any, location: Any, tmp_path: Path) -> None:
    scenarios.smoke_retry_success(write, location, tmp_path)


@pytest.mark.parametrize("factory", [SlateDbFactory(), LocalSlateDbFactory()], ids=["slatedb", "slatedb-local"])
def test_smoke_hash_slatedb(write: Any, location: Any, factory: Any) -> None:
    scenarios.smoke_hash_slatedb(write, location, factory)


def test_empty_shards(write: Any, file_location: Any) -> None:
    scenarios.empty_shards(write, file_location)


def test_value_specs_and_sorting(write: Any, file_location: Any) -> None:
    scenarios.json_and_callable(write, file_location)


def test_threaded_scheduler(write: Any, file_location: Any) -> None:
    """The ambient scheduler decides: here Dask's threaded scheduler, not the cluster."""
    with dask.config.set(scheduler="threads"):
        result = scenarios.smoke_hash(write, file_location, 3)
    assert result.stats.num_winners == 3


def test_larger_input_many_partitions(dask_client: Any, file_location: Any) -> None:
    pdf = scenarios.larger_frame(3000)
    ddf = dd.from_pandas(pdf, npartitions=7)
    result = write_hash_sharded(ddf, scenarios.sqlite_config(file_location, num_dbs=5), scenarios.binary_input())
    scenarios.assert_published(result, file_location, list(range(3000)), list(pdf["payload"]), 5, winners=5)


def test_failure_column_collision(write: Any, file_location: Any) -> None:
    scenarios.column_collision(write, file_location)


def test_failure_routing_mismatch(write: Any, file_location: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    scenarios.routing_mismatch(write, file_location, monkeypatch)


def test_failure_worker_killed_mid_write_is_retried(write: Any, file_location: Any, fault_dir: Path) -> None:
    scenarios.worker_killed_then_retried(write, file_location, fault_dir)


def test_failure_worker_killed_until_dask_gives_up(
    write: Any, dask_client: Any, file_location: Any, fault_dir: Path
) -> None:
    # Dask's retry knob for worker death: a task may kill `allowed_failures` workers.
    def set_allowed(dask_scheduler: Any, n: int) -> int:
        old = dask_scheduler.allowed_failures
        dask_scheduler.allowed_failures = n
        return int(old)

    old = dask_client.run_on_scheduler(set_allowed, n=1)
    try:
        scenarios.worker_killed_exhausted(write, file_location, fault_dir)
    finally:
        dask_client.run_on_scheduler(set_allowed, n=old)
    dask_client.wait_for_workers(2, timeout=60)


@pytest.mark.parametrize("target", ["manifest", "current"])
def test_failure_publish(write: Any, minio: Any, proxy_factory: Any, target: str) -> None:
    scenarios.publish_failure(write, minio, proxy_factory, target)


def test_string_keys_with_json_values(dask_client: Any, file_location: Any) -> None:
    """utf8 keys (pandas strings -> Arrow utf8 -> kernel), values as json_cols without `_shard_id`."""
    import json

    from shardyfusion import ColumnWriteInput, HashShardedWriteConfig, ValueSpec
    from shardyfusion.routing import route_hash
    from shardyfusion.sqlite_adapter import SqliteFactory

    keys = ["a", "hello", "ünï", "tenant:eu-west", *[f"user-{i}" for i in range(40)]]
    pdf = pd.DataFrame({"k": keys, "n": list(range(len(keys)))})
    config = HashShardedWriteConfig(
        num_dbs=4, key_encoding="utf8", adapter_factory=SqliteFactory(), **file_location.config_kwargs()
    )
    result = write_hash_sharded(
        dd.from_pandas(pdf, npartitions=3), config, ColumnWriteInput(key_col="k", value_spec=ValueSpec.json_cols())
    )
    predicted = [route_hash(k, 4) for k in keys]
    assert {w.db_id: w.row_count for w in result.winners} == {d: predicted.count(d) for d in set(predicted)}
    out = scenarios.multiget_text(file_location, keys[:4])
    assert out == {
        k: json.dumps({"k": k, "n": i}, sort_keys=True, separators=(",", ":")) for i, k in enumerate(keys[:4])
    }


@pytest.mark.parametrize(("expr", "columns", "routing_values", "shard_of"), scenarios.CEL_SMOKE)
def test_smoke_cel(
    write_cel: Any, file_location: Any, expr: str, columns: Any, routing_values: Any, shard_of: list[int]
) -> None:
    scenarios.smoke_cel(write_cel, file_location, expr, columns, routing_values, shard_of)


def test_smoke_cel_minio(write_cel: Any, minio_location: Any) -> None:
    scenarios.smoke_cel(write_cel, minio_location, *scenarios.CEL_SMOKE[3])


def test_cel_unknown_token(write_cel: Any, file_location: Any) -> None:
    scenarios.cel_unknown_token(write_cel, file_location)


def test_cel_non_consecutive_ids(write_cel: Any, file_location: Any) -> None:
    scenarios.cel_non_consecutive(write_cel, file_location)


def test_cel_routing_mismatch(write_cel: Any, file_location: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    scenarios.cel_routing_mismatch(write_cel, file_location, monkeypatch)


def test_cel_inferred_routing_values(write_cel: Any, file_location: Any) -> None:
    scenarios.cel_inferred(write_cel, file_location)


def test_cel_inferred_int_tokens(write_cel: Any, file_location: Any) -> None:
    scenarios.cel_inferred_int_tokens(write_cel, file_location)
