"""The Ray writer on Ray started locally with 2 CPUs, SQLite backend, file store and MinIO: the
§11 smoke scenarios and every row of the seed's failure table (the shared ones in
``engine_suite``), plus what is Ray's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

import scenarios
from engine_suite import Engine, EngineWriterTests
from shardyfusion.writer.ray import RayWriteOptions, write_cel_sharded, write_hash_sharded


@pytest.fixture
def engine(ray_session: Any) -> Engine:
    return Engine(
        collection=lambda pdf: ray_session.data.from_pandas(pdf).repartition(3),
        write_hash=write_hash_sharded,
        write_cel=write_cel_sharded,
        options=RayWriteOptions,
    )


class TestRayWriter(EngineWriterTests):
    # Ray Data retries a crashed task without limit by default: the scenarios bound it.
    killed_retried_options: ClassVar[dict[str, Any]] = {"ray_remote_args": {"max_retries": 2}}

    def test_shuffle_strategy_restored(self, write: Any, file_location: Any, ray_session: Any) -> None:
        from ray.data import DataContext

        before = DataContext.get_current().shuffle_strategy
        scenarios.smoke_hash(write, file_location, 3)
        assert DataContext.get_current().shuffle_strategy == before

    def test_failure_worker_killed_until_ray_gives_up(self, write: Any, file_location: Any, fault_dir: Path) -> None:
        scenarios.worker_killed_exhausted(write, file_location, fault_dir, ray_remote_args={"max_retries": 1})

    def test_the_ledger_is_cleared_after_a_build(self, write: Any, file_location: Any, ray_session: Any) -> None:
        # The ledger (GCS key-value store, one key per write-task event) outlives no build.
        scenarios.smoke_hash(write, file_location, 3)
        assert _ledger_keys() == []

    def test_the_ledger_is_cleared_after_a_given_up_build(
        self, write: Any, file_location: Any, fault_dir: Path, ray_session: Any
    ) -> None:
        scenarios.worker_killed_exhausted(write, file_location, fault_dir, ray_remote_args={"max_retries": 1})
        assert _ledger_keys() == []


def _ledger_keys() -> list[bytes]:
    from ray.experimental.internal_kv import _internal_kv_list

    return list(_internal_kv_list("ray-ledger/", namespace="shardyfusion"))


class TestRayWriterMaterialized:
    """A materialised dataset: ``verify_routing`` reads its sample straight from the object store
    (no ``limit`` task); the build and the routing check behave as for a lazy one."""

    @pytest.fixture
    def write(self, ray_session: Any) -> Any:
        def run(pdf: Any, config: Any, input: Any, **options: Any) -> Any:
            ds = ray_session.data.from_pandas(pdf).repartition(3).materialize()
            return write_hash_sharded(ds, config, input, RayWriteOptions(**options))

        return run

    def test_smoke_hash(self, write: Any, file_location: Any) -> None:
        scenarios.smoke_hash(write, file_location, 3)

    def test_routing_mismatch(self, write: Any, file_location: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        scenarios.routing_mismatch(write, file_location, monkeypatch)
