"""A partition's rows as they go to ``shardy write-shard``: grouped by shard, in key order, and
repeated keys in their partition order (the last put of a key must stay last)."""

from __future__ import annotations

import pandas as pd

from shardyfusion import ColumnWriteInput, HashShardedWriteConfig, ValueSpec
from shardyfusion._writer_core import _partition_table, _shard_slices, make_plan
from shardyfusion.sqlite_adapter import SqliteFactory


def test_rows_grouped_by_shard_then_key_and_repeated_keys_keep_their_order() -> None:
    config = HashShardedWriteConfig(num_dbs=4, s3_prefix="file:///tmp/unused", adapter_factory=SqliteFactory())
    plan = make_plan(config, ColumnWriteInput(key_col="id", value_spec=ValueSpec.binary_col("v")), 4, "run")
    pdf = pd.DataFrame(
        {
            "id": [9, 3, 7, 3, 1, 9, 3],
            "v": [b"a", b"b", b"c", b"d", b"e", b"f", b"g"],
            "_shard_id": [2, 0, 2, 0, 0, 2, 0],
        }
    )
    table = _partition_table(plan, pdf)
    assert table.column("_shard_id").to_pylist() == [0, 0, 0, 0, 2, 2, 2]
    assert table.column("id").to_pylist() == [1, 3, 3, 3, 7, 9, 9]
    # Key 3 was put as b, d, g and key 9 as a, f: that order survives the sort.
    assert table.column("v").to_pylist() == [b"e", b"b", b"d", b"g", b"c", b"a", b"f"]
    assert _shard_slices(table, "_shard_id") == [(0, 0, 4), (2, 4, 3)]
