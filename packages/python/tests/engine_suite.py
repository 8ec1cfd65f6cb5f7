"""The writer tests every engine passes, written once: a test module names its engine with an
``engine`` fixture (an ``Engine``) and subclasses ``EngineWriterTests``; the ``write`` and
``write_cel`` fixtures (conftest) run that engine's writer on a pandas frame."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest

import scenarios
from shardyfusion.local_slatedb_adapter import LocalSlateDbFactory
from shardyfusion.manifest import BuildResult
from shardyfusion.slatedb_adapter import SlateDbFactory


@dataclass(frozen=True)
class Engine:
    #: A pandas frame as the engine's collection (several partitions).
    collection: Callable[[pd.DataFrame], Any]
    write_hash: Callable[..., BuildResult]
    write_cel: Callable[..., BuildResult]
    #: The engine's options class (``DaskWriteOptions``, ``RayWriteOptions``).
    options: Callable[..., Any]

    def hash(self, pdf: pd.DataFrame, config: Any, input: Any, **options: Any) -> BuildResult:
        return self.write_hash(self.collection(pdf), config, input, self.options(**options))

    def cel(self, pdf: pd.DataFrame, config: Any, input: Any, **options: Any) -> BuildResult:
        return self.write_cel(self.collection(pdf), config, input, self.options(**options))


class EngineWriterTests:
    """The §11 smoke scenarios and the seed's failure table; engine-specific knobs are hooks."""

    #: Extra options for the worker-death scenarios (Ray needs a finite ``max_retries``).
    killed_retried_options: ClassVar[dict[str, Any]] = {}

    def test_smoke_hash(self, write: Any, location: Any) -> None:
        scenarios.smoke_hash(write, location, 3)

    def test_smoke_hash_num_dbs_2(self, write: Any, location: Any) -> None:
        scenarios.smoke_hash(write, location, 2)

    def test_smoke_hash_max_keys_per_shard(self, write: Any, location: Any) -> None:
        scenarios.smoke_max_keys_per_shard(write, location)

    def test_smoke_hash_retry_success(self, write: Any, location: Any, tmp_path: Path) -> None:
        scenarios.smoke_retry_success(write, location, tmp_path)

    @pytest.mark.parametrize("factory", [SlateDbFactory(), LocalSlateDbFactory()], ids=["slatedb", "slatedb-local"])
    def test_smoke_hash_slatedb(self, write: Any, location: Any, factory: Any) -> None:
        scenarios.smoke_hash_slatedb(write, location, factory)

    def test_empty_shards(self, write: Any, file_location: Any) -> None:
        scenarios.empty_shards(write, file_location)

    def test_value_specs_and_sorting(self, write: Any, file_location: Any) -> None:
        scenarios.json_and_callable(write, file_location)

    def test_failure_column_collision(self, write: Any, file_location: Any) -> None:
        scenarios.column_collision(write, file_location)

    def test_failure_routing_mismatch(self, write: Any, file_location: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        scenarios.routing_mismatch(write, file_location, monkeypatch)

    def test_failure_worker_killed_mid_write_is_retried(self, write: Any, file_location: Any, fault_dir: Path) -> None:
        scenarios.worker_killed_then_retried(write, file_location, fault_dir, **self.killed_retried_options)

    @pytest.mark.parametrize("target", ["manifest", "current"])
    def test_failure_publish(self, write: Any, minio: Any, proxy_factory: Any, target: str) -> None:
        scenarios.publish_failure(write, minio, proxy_factory, target)

    @pytest.mark.parametrize(("expr", "columns", "routing_values", "shard_of"), scenarios.CEL_SMOKE)
    def test_smoke_cel(
        self, write_cel: Any, file_location: Any, expr: str, columns: Any, routing_values: Any, shard_of: list[int]
    ) -> None:
        scenarios.smoke_cel(write_cel, file_location, expr, columns, routing_values, shard_of)

    def test_smoke_cel_minio(self, write_cel: Any, minio_location: Any) -> None:
        scenarios.smoke_cel(write_cel, minio_location, *scenarios.CEL_SMOKE[3])

    def test_cel_unknown_token(self, write_cel: Any, file_location: Any) -> None:
        scenarios.cel_unknown_token(write_cel, file_location)

    def test_cel_non_consecutive_ids(self, write_cel: Any, file_location: Any) -> None:
        scenarios.cel_non_consecutive(write_cel, file_location)

    def test_cel_routing_mismatch(self, write_cel: Any, file_location: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        scenarios.cel_routing_mismatch(write_cel, file_location, monkeypatch)

    def test_cel_inferred_routing_values(self, write_cel: Any, file_location: Any) -> None:
        scenarios.cel_inferred(write_cel, file_location)

    def test_cel_inferred_int_tokens(self, write_cel: Any, file_location: Any) -> None:
        scenarios.cel_inferred_int_tokens(write_cel, file_location)
