"""The Dask writer on a real ``distributed.LocalCluster`` (2 worker processes), SQLite backend,
file store and MinIO: the §11 smoke scenarios and every row of the seed's failure table (the
shared ones in ``engine_suite``), plus what is Dask's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd
import pytest

import scenarios
from engine_suite import Engine, EngineWriterTests
from shardyfusion.writer.dask import DaskWriteOptions, write_cel_sharded, write_hash_sharded


@pytest.fixture
def engine(dask_client: Any) -> Engine:
    return Engine(
        collection=lambda pdf: dd.from_pandas(pdf, npartitions=3),
        write_hash=write_hash_sharded,
        write_cel=write_cel_sharded,
        options=DaskWriteOptions,
    )


class TestDaskWriter(EngineWriterTests):
    def test_threaded_scheduler(self, write: Any, file_location: Any) -> None:
        """The ambient scheduler decides: here Dask's threaded scheduler, not the cluster."""
        with dask.config.set(scheduler="threads"):
            result = scenarios.smoke_hash(write, file_location, 3)
        assert result.stats.num_winners == 3

    def test_larger_input_many_partitions(self, dask_client: Any, file_location: Any) -> None:
        pdf = scenarios.larger_frame(3000)
        ddf = dd.from_pandas(pdf, npartitions=7)
        result = write_hash_sharded(ddf, scenarios.sqlite_config(file_location, num_dbs=5), scenarios.binary_input())
        scenarios.assert_published(result, file_location, list(range(3000)), list(pdf["payload"]), 5, winners=5)

    def test_failure_worker_killed_until_dask_gives_up(
        self, write: Any, dask_client: Any, file_location: Any, fault_dir: Path
    ) -> None:
        """On a cluster of its own, the ambient scheduler while it lives: with every worker killed,
        a nanny may close for good instead of restarting its worker, which would leave the shared
        cluster a worker short for the tests after this one."""
        from distributed import Client, LocalCluster, default_client

        # Dask's retry knob for worker death: a task may kill `allowed_failures` workers.
        def set_allowed(dask_scheduler: Any, n: int) -> None:
            dask_scheduler.allowed_failures = n

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            client.run_on_scheduler(set_allowed, n=1)
            scenarios.worker_killed_exhausted(write, file_location, fault_dir)
        # The shared cluster is the ambient scheduler again.
        assert default_client() is dask_client

    def test_string_keys_with_json_values(self, dask_client: Any, file_location: Any) -> None:
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
            dd.from_pandas(pdf, npartitions=3),
            config,
            ColumnWriteInput(key_col="k", value_spec=ValueSpec.json_cols()),
        )
        predicted = [route_hash(k, 4) for k in keys]
        assert {w.db_id: w.row_count for w in result.winners} == {d: predicted.count(d) for d in set(predicted)}
        out = scenarios.multiget_text(file_location, keys[:4])
        assert out == {
            k: json.dumps({"k": k, "n": i}, sort_keys=True, separators=(",", ":")) for i, k in enumerate(keys[:4])
        }
