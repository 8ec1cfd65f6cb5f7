"""Result conversion (NaN -> None) and the per-shard checks that run before publishing."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from shardyfusion import ShardAssignmentError, ShardCoverageError
from shardyfusion._writer_core import (
    check_single_result_per_shard,
    empty_results,
    results_pdf_to_attempts,
)


def row(db_id: int, rows: int, min_key: object = None) -> dict[str, object]:
    line = json.dumps({"db_id": db_id, "row_count": rows})
    return {
        "db_id": db_id,
        "db_url": f"s3://b/p/shards/run_id=r/db={db_id:05d}/attempt=00" if rows else None,
        "attempt": 0,
        "row_count": rows,
        "db_bytes": 4096 if rows else 0,
        "min_key": json.dumps(min_key) if min_key is not None else None,
        "max_key": json.dumps(min_key) if min_key is not None else None,
        "checkpoint_id": "c" if rows else None,
        "all_attempt_urls": json.dumps([]),
        "result_json": line,
    }


def test_nan_cells_become_none_and_keys_keep_their_digits() -> None:
    big = 2**63 + 12345  # a u64 key that a float column would round
    frame = pd.concat([pd.DataFrame([row(0, 3, big)]), pd.DataFrame([row(1, 0)]), empty_results()], ignore_index=True)
    frame.loc[1, "checkpoint_id"] = math.nan
    frame.loc[1, "min_key"] = math.nan
    attempts = results_pdf_to_attempts(frame)
    assert [a.db_id for a in attempts] == [0, 1]
    assert attempts[0].min_key == big and attempts[0].max_key == big
    assert attempts[1].min_key is None and attempts[1].checkpoint_id is None and attempts[1].db_url is None
    assert attempts[1].row_count == 0


def test_a_shard_written_twice_or_out_of_range_is_refused() -> None:
    attempts = results_pdf_to_attempts(pd.DataFrame([row(0, 2), row(0, 3)]))
    with pytest.raises(ShardAssignmentError, match=r"shard\(s\) \[0\] were written by more than one task"):
        check_single_result_per_shard(attempts, 2)
    with pytest.raises(ShardCoverageError, match=r"extra=\[5\]"):
        check_single_result_per_shard(results_pdf_to_attempts(pd.DataFrame([row(5, 1)])), 2)
