"""The Ray writer on Ray started locally with 2 CPUs, SQLite backend, file store and MinIO: the
§11 smoke scenarios and every row of the seed's failure table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import scenarios
from faultproxy import FaultProxy
from shardyfusion.local_slatedb_adapter import LocalSlateDbFactory
from shardyfusion.manifest import BuildResult
from shardyfusion.slatedb_adapter import SlateDbFactory
from shardyfusion.writer.ray import RayWriteOptions, write_cel_sharded, write_hash_sharded


@pytest.fixture
def write(ray_session: Any) -> Any:
    def run(pdf: pd.DataFrame, config: Any, input: Any, **options: Any) -> BuildResult:
        ds = ray_session.data.from_pandas(pdf).repartition(3)
        return write_hash_sharded(ds, config, input, RayWriteOptions(**options))

    return run


@pytest.fixture
def write_cel(ray_session: Any) -> Any:
    def run(pdf: pd.DataFrame, config: Any, input: Any, **options: Any) -> BuildResult:
        ds = ray_session.data.from_pandas(pdf).repartition(3)
        return write_cel_sharded(ds, config, input, RayWriteOptions(**options))

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


def test_shuffle_strategy_restored(write: Any, file_location: Any, ray_session: Any) -> None:
    from ray.data import DataContext

    ctx = DataContext.get_current()
    before = ctx.shuffle_strategy
    scenarios.smoke_hash(write, file_location, 3)
    assert DataContext.get_current().shuffle_strategy == before


def test_failure_column_collision(write: Any, file_location: Any) -> None:
    scenarios.column_collision(write, file_location)


def test_failure_routing_mismatch(write: Any, file_location: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    scenarios.routing_mismatch(write, file_location, monkeypatch)


def test_failure_worker_killed_mid_write_is_retried(write: Any, file_location: Any, fault_dir: Path) -> None:
    scenarios.worker_killed_then_retried(write, file_location, fault_dir, ray_remote_args={"max_retries": 2})


def test_failure_worker_killed_until_ray_gives_up(write: Any, file_location: Any, fault_dir: Path) -> None:
    scenarios.worker_killed_exhausted(write, file_location, fault_dir, ray_remote_args={"max_retries": 1})


@pytest.mark.parametrize("target", ["manifest", "current"])
def test_failure_publish(write: Any, minio: Any, proxy_factory: Any, target: str) -> None:
    scenarios.publish_failure(write, minio, proxy_factory, target)


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
