"""What the Dask and Ray writers share: config checks, the per-partition shard writer (rows ->
Arrow IPC -> ``shardy write-shard``), result conversion, coverage, and ``shardy publish``."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._cel import CelRouting, discover_num_dbs
from ._kernel import get_kernel
from ._shardy import find_shardy, prestart_warm_server, run_shardy, run_shardy_warm
from .config import CelShardedWriteConfig, HashShardedWriteConfig, WriteConfig
from .errors import ConfigValidationError, ShardCoverageError
from .inputs import ColumnWriteInput
from .manifest import BuildResult, build_result_from_wire
from .serde import ValueSpec

#: Columns of the per-partition result frame (one row per shard written in the partition).
RESULT_COLUMNS = (
    "db_id",
    "db_url",
    "attempt",
    "row_count",
    "db_bytes",
    "min_key",
    "max_key",
    "checkpoint_id",
    "all_attempt_urls",
    "result_json",
)
_VALUE_COL = "__shardy_value__"
#: Rows per Arrow record batch sent to shardy.
_IPC_BATCH_ROWS = 65536


def empty_results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "db_id": pd.Series(dtype="int64"),
            "db_url": pd.Series(dtype="object"),
            "attempt": pd.Series(dtype="int64"),
            "row_count": pd.Series(dtype="int64"),
            "db_bytes": pd.Series(dtype="int64"),
            "min_key": pd.Series(dtype="object"),
            "max_key": pd.Series(dtype="object"),
            "checkpoint_id": pd.Series(dtype="object"),
            "all_attempt_urls": pd.Series(dtype="object"),
            "result_json": pd.Series(dtype="object"),
        }
    )


def check_arguments(entry: str, config: object, expected: type, input: object) -> None:
    """The type checks every writer entry point makes on its ``config`` and ``input`` arguments."""
    if not isinstance(config, expected):
        raise ConfigValidationError(f"{entry} takes a {expected.__name__}, got {type(config).__name__}", field="config")
    if not isinstance(input, ColumnWriteInput):
        raise ConfigValidationError(f"input must be a ColumnWriteInput, got {type(input).__name__}", field="input")


def check_columns(columns: Sequence[str], config: WriteConfig, input: ColumnWriteInput) -> None:
    """The seeds' construction-time checks on the input's columns."""
    cols = [str(c) for c in columns]
    if config.shard_id_col in cols:
        raise ConfigValidationError(
            f"shard_id_col {config.shard_id_col!r} collides with a column of the input; the writer adds it "
            "temporarily for routing. Rename your column or set config.shard_id_col to another name",
            field="shard_id_col",
        )
    if input.key_col not in cols:
        raise ConfigValidationError(
            f"input.key_col {input.key_col!r} is not a column of the input (columns: {', '.join(cols)})",
            field="input.key_col",
        )
    if isinstance(config, CelShardedWriteConfig):
        absent = [c for c in config.cel_columns if c not in cols]
        if absent:
            raise ConfigValidationError(
                f"cel_columns {absent} are not columns of the input (columns: {', '.join(cols)}); the CEL "
                "expression reads them from each row",
                field="cel_columns",
            )
    spec_cols = input.value_spec.columns()
    if input.value_spec.kind == "binary_col" and spec_cols and spec_cols[0] not in cols:
        raise ConfigValidationError(
            f"ValueSpec.binary_col({spec_cols[0]!r}): no such column in the input (columns: {', '.join(cols)})",
            field="input.value_spec",
        )


def resolve_num_dbs(config: HashShardedWriteConfig, count_rows: Any) -> int:
    """``num_dbs``, or ``max(1, ceil(rows / max_keys_per_shard))`` (rows counted on demand)."""
    if config.num_dbs is not None:
        return config.num_dbs
    max_keys = config.max_keys_per_shard
    assert max_keys is not None
    rows = int(count_rows())
    return max(1, math.ceil(rows / max_keys))


@dataclass(frozen=True)
class ShardWritePlan:
    """Everything a worker needs to write its shards; pickled into the engine's tasks."""

    config_json: str
    run_id: str
    num_dbs: int
    key_col: str
    value_spec: ValueSpec
    shard_id_col: str
    #: Set for a CEL build: ``write-shard`` then takes no ``--num-dbs``, ``publish`` the discovered one.
    cel_expr: str | None = None

    def value_args(self) -> list[str]:
        spec = self.value_spec
        if spec.kind == "binary_col":
            return ["--value-col", str(spec.col)]
        if spec.kind == "json_cols":
            return ["--json-cols", ",".join(spec.cols)] if spec.cols is not None else ["--json-cols"]
        return ["--value-col", _VALUE_COL]

    def common_args(self) -> list[str]:
        """``write-shard`` arguments shared by every shard."""
        if self.cel_expr is not None:
            # CEL rows were routed by the engine; the CLI refuses a --num-dbs next to a CEL config.
            return ["--run-id", self.run_id, "--key-col", self.key_col]
        return ["--num-dbs", str(self.num_dbs), "--run-id", self.run_id, "--key-col", self.key_col]

    def publish_args(self) -> list[str]:
        """``publish`` arguments: a CEL publish takes ``--num-dbs`` as the discovered shard count
        once ``--cel-expr`` marks it as CEL."""
        if self.cel_expr is not None:
            return ["--cel-expr", self.cel_expr, "--num-dbs", str(self.num_dbs), *self.common_args()]
        return self.common_args()


def make_plan(
    config: WriteConfig,
    input: ColumnWriteInput,
    num_dbs: int,
    run_id: str,
    routing_values: Sequence[Any] | None = None,
) -> ShardWritePlan:
    """The workers' plan; ``routing_values`` are a CEL build's inferred tokens (they go to the
    manifest in place of the ``infer_routing_values_from_data`` flag)."""
    wire = config.to_wire()
    wire["output"]["run_id"] = run_id
    if wire["strategy"] == "hash":
        wire["sharding"] = {"num_dbs": num_dbs, "max_keys_per_shard": None}
    elif routing_values is not None:
        wire["sharding"] = {
            **wire["sharding"],
            "routing_values": list(routing_values),
            "infer_routing_values_from_data": False,
        }
    from ._validate import to_wire_json

    return ShardWritePlan(
        config_json=to_wire_json(wire),
        run_id=run_id,
        num_dbs=num_dbs,
        key_col=input.key_col,
        value_spec=input.value_spec,
        shard_id_col=config.shard_id_col,
        cel_expr=config.cel_expr if isinstance(config, CelShardedWriteConfig) else None,
    )


def new_run_id(config: WriteConfig) -> str:
    return config.output.run_id or uuid.uuid4().hex


def begin_build(
    entry: str, config: WriteConfig, expected: type, input: ColumnWriteInput, columns: Callable[[], Sequence[str]]
) -> str:
    """What every writer entry point checks before any engine work (arguments, the input's
    columns, the executable and the kernel); the build's run id."""
    check_arguments(entry, config, expected, input)
    check_columns(columns(), config, input)
    preflight()
    return new_run_id(config)


class _ConfigFile:
    """The config as a private temp file for ``--config-json @file`` (credentials stay off argv)."""

    def __init__(self, config_json: str) -> None:
        fd, self.path = tempfile.mkstemp(prefix="shardy-config-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(config_json)

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)


# ---------------------------------------------------------------------------------------------
# Routing (per partition, in the engine)
# ---------------------------------------------------------------------------------------------


def shard_ids_for(keys: pa.Array | pa.ChunkedArray, num_dbs: int, key_col: str) -> Any:
    """Kernel hash routing of one partition's key column (int32 numpy array)."""
    return get_kernel().route_hash(keys, num_dbs, what=f"key column {key_col!r}")


def assign_shard_ids_pandas(pdf: pd.DataFrame, key_col: str, num_dbs: int, shard_id_col: str) -> pd.DataFrame:
    out = pdf.copy(deep=False)
    if len(pdf) == 0:
        out[shard_id_col] = pd.Series(dtype="int32", index=pdf.index)
        return out
    keys = pa.Array.from_pandas(pdf[key_col])
    out[shard_id_col] = pd.Series(shard_ids_for(keys, num_dbs, key_col), index=pdf.index, dtype="int32")
    return out


def cel_num_dbs(routing: CelRouting, assigned_ids: Any) -> int:
    """The build's shard count: ``len(routing_values)`` (categorical) or discovered (direct)."""
    if routing.routing_values is not None:
        return max(1, len(routing.routing_values))
    return discover_num_dbs(assigned_ids)


def assign_cel_ids_pandas(pdf: pd.DataFrame, routing: CelRouting, shard_id_col: str) -> pd.DataFrame:
    out = pdf.copy(deep=False)
    if len(pdf) == 0:
        out[shard_id_col] = pd.Series(dtype="int32", index=pdf.index)
        return out
    arrays = {name: pa.Array.from_pandas(pdf[name]) for name in routing.column_names}
    out[shard_id_col] = pd.Series(routing.route_arrays(arrays), index=pdf.index, dtype="int32")
    return out


def assign_cel_ids_arrow(table: pa.Table, routing: CelRouting, shard_id_col: str) -> pa.Table:
    if table.num_rows == 0:
        return table.append_column(shard_id_col, pa.array([], type=pa.int32()))
    ids = routing.route_arrays({name: table.column(name) for name in routing.column_names})
    return table.append_column(shard_id_col, pa.array(ids, type=pa.int32()))


def assign_shard_ids_arrow(table: pa.Table, key_col: str, num_dbs: int, shard_id_col: str) -> pa.Table:
    ids = shard_ids_for(table.column(key_col), num_dbs, key_col) if table.num_rows else []
    return table.append_column(shard_id_col, pa.array(ids, type=pa.int32()))


# ---------------------------------------------------------------------------------------------
# Writing (per partition, in the engine)
# ---------------------------------------------------------------------------------------------


def _partition_table(plan: ShardWritePlan, pdf: pd.DataFrame) -> pa.Table:
    """A partition's rows as Arrow: the key, the value column(s) and the shard id, ordered by
    shard id, so each shard is one slice, then by key.

    The key order is what ``sort_within_partitions`` asks for, and it is applied either way: a
    shard's rows in key order go straight into its b-tree in ``shardy``, and Arrow sorts them for
    a fraction of what sorting costs there. The sort is stable, so among rows with the same key
    the last one still wins."""
    spec = plan.value_spec
    key, col = plan.key_col, plan.shard_id_col
    ids = pa.array(pdf[col].to_numpy(dtype="int32", copy=False), type=pa.int32())
    if spec.kind == "callable":
        records = pdf.drop(columns=[col]).to_dict("records")
        values = pa.array([spec.encode(r) for r in records], type=pa.binary())
        table = pa.table({key: pa.Array.from_pandas(pdf[key]), _VALUE_COL: values})
    else:
        if spec.kind == "binary_col":
            wanted = [key] + ([spec.col] if spec.col and spec.col != key else [])
        elif spec.cols is not None:
            wanted = [key] + [c for c in spec.cols if c in pdf.columns and c != key]
        else:
            wanted = [c for c in pdf.columns if c != col]
        table = pa.Table.from_pandas(pdf[wanted], preserve_index=False)
    table = table.append_column(col, ids)
    return table.take(pc.sort_indices(table, sort_keys=[(col, "ascending"), (key, "ascending")]))


def _shard_slices(table: pa.Table, col: str) -> list[tuple[int, int, int]]:
    """``(db_id, start, length)`` of each shard in a table ordered by shard id."""
    ids = table.column(col).to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    lengths = np.diff(np.r_[starts, len(ids)])
    return [(int(ids[s]), int(s), int(n)) for s, n in zip(starts, lengths, strict=True)]


def _balanced_groups(slices: list[tuple[int, int, int]], count: int) -> list[list[tuple[int, int, int]]]:
    """The shards split into ``count`` groups of about equal rows (largest first, to the lightest)."""
    groups: list[list[tuple[int, int, int]]] = [[] for _ in range(count)]
    load = [0] * count
    for item in sorted(slices, key=lambda s: -s[2]):
        i = load.index(min(load))
        groups[i].append(item)
        load[i] += item[2]
    return [sorted(g) for g in groups if g]


def write_shards(
    plan: ShardWritePlan, table: pa.Table, slices: Sequence[tuple[int, int, int]], executable: str | None = None
) -> list[dict[str, Any]]:
    """Several shards through one ``shardy write-shard --db-ids`` call, run by this worker's warm
    ``shardy write-server``: their slices of ``table`` as one Arrow IPC stream; the parsed shard
    results, one per shard."""
    exe = executable or find_shardy()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for _, start, length in slices:
            writer.write_table(table.slice(start, length), max_chunksize=_IPC_BATCH_ROWS)
    db_ids = ",".join(str(db_id) for db_id, _, _ in slices)
    with _ConfigFile(plan.config_json) as path:
        out = run_shardy_warm(
            exe,
            "write-shard",
            ["--config-json", f"@{path}", *plan.common_args(), "--db-ids", db_ids, *plan.value_args()],
            sink.getvalue(),
        )
    results: list[dict[str, Any]] = []
    for line in out.strip().splitlines():
        result: dict[str, Any] = json.loads(line)
        result["_json"] = line
        results.append(result)
    return results


def _result_row(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "db_id": int(result["db_id"]),
        "db_url": result.get("db_url"),
        "attempt": int(result["attempt"]),
        "row_count": int(result["row_count"]),
        "db_bytes": int(result.get("db_bytes") or 0),
        # Keys as JSON text: an int column would turn into float next to a NaN and lose digits.
        "min_key": json.dumps(result.get("min_key")) if result.get("min_key") is not None else None,
        "max_key": json.dumps(result.get("max_key")) if result.get("max_key") is not None else None,
        "checkpoint_id": result.get("checkpoint_id"),
        "all_attempt_urls": json.dumps(result.get("all_attempt_urls") or []),
        "result_json": result["_json"],
    }


def write_partition(pdf: pd.DataFrame, plan: ShardWritePlan) -> pd.DataFrame:
    """A shuffled partition -> one result row per shard id in it (a shuffle is not 1:1)."""
    if pdf is None or len(pdf) == 0:
        return empty_results()
    exe = find_shardy()
    # The server (when none is idle) starts while the partition turns into Arrow.
    prestart_warm_server(exe)
    table = _partition_table(plan, pdf)
    # One shardy call for all the partition's shards by default, run by a warm write server: a
    # fresh process's start-up and warm-up cost as much as a few hundred thousand rows, and the
    # engine already runs partitions side by side. `SHARDY_SHARD_CONCURRENCY=n` splits a
    # partition's shards over up to n calls (balanced by rows), each with its own server.
    slices = _shard_slices(table, plan.shard_id_col)
    groups = _balanced_groups(slices, min(len(slices), shard_concurrency()))
    if len(groups) == 1:
        results = write_shards(plan, table, groups[0], exe)
    else:
        with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="shardy-write") as pool:
            results = [r for rs in pool.map(lambda g: write_shards(plan, table, g, exe), groups) for r in rs]
    rows = sorted((_result_row(r) for r in results), key=lambda r: int(r["db_id"]))
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS)) if rows else empty_results()


def shard_concurrency() -> int:
    """Processes one partition writes with at once: ``SHARDY_SHARD_CONCURRENCY``, else 1."""
    env = os.environ.get("SHARDY_SHARD_CONCURRENCY")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return 1


# ---------------------------------------------------------------------------------------------
# Driver side: results, coverage, publish
# ---------------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class ShardAttemptResult:
    db_id: int
    db_url: str | None
    attempt: int
    row_count: int
    db_bytes: int
    min_key: Any
    max_key: Any
    checkpoint_id: str | None
    all_attempt_urls: tuple[str, ...]
    result_json: str


def results_pdf_to_attempts(pdf: pd.DataFrame) -> list[ShardAttemptResult]:
    """Engine result rows -> attempts, NaN -> None (pandas fills missing cells with NaN)."""
    out: list[ShardAttemptResult] = []
    for rec in pdf.to_dict("records"):
        clean: dict[str, Any] = {str(k): (None if _is_missing(v) else v) for k, v in rec.items()}
        urls = clean.get("all_attempt_urls")
        out.append(
            ShardAttemptResult(
                db_id=int(clean["db_id"]),
                db_url=clean.get("db_url"),
                attempt=int(clean["attempt"]),
                row_count=int(clean["row_count"] or 0),
                db_bytes=int(clean.get("db_bytes") or 0),
                min_key=json.loads(clean["min_key"]) if clean.get("min_key") is not None else None,
                max_key=json.loads(clean["max_key"]) if clean.get("max_key") is not None else None,
                checkpoint_id=clean.get("checkpoint_id"),
                all_attempt_urls=tuple(json.loads(urls)) if isinstance(urls, str) else (),
                result_json=str(clean["result_json"]),
            )
        )
    return out


def check_single_result_per_shard(attempts: Sequence[ShardAttemptResult], num_dbs: int) -> None:
    seen: dict[int, int] = {}
    for a in attempts:
        if not 0 <= a.db_id < num_dbs:
            raise ShardCoverageError(
                f"Shard coverage mismatch; extra=[{a.db_id}] (num_dbs={num_dbs})", db_ids=[a.db_id]
            )
        seen[a.db_id] = seen.get(a.db_id, 0) + 1
    split = sorted(d for d, n in seen.items() if n > 1)
    if split:
        from .errors import ShardAssignmentError

        raise ShardAssignmentError(
            f"shard(s) {split} were written by more than one task: the engine split a shard's rows across "
            "partitions, so each write holds only part of the shard; nothing was published"
        )


def coverage_error(missing: Iterable[int], cause: BaseException, engine: str) -> ShardCoverageError:
    ids = sorted(set(missing))
    shown = ", ".join(str(i) for i in ids) if ids else "unknown"
    return ShardCoverageError(
        f"{engine} gave up on the write task of shard(s) [{shown}] after its retries "
        f"({type(cause).__name__}: {str(cause)[:300]}); nothing was published. Configure {engine} retries "
        "and config.shard_retry, then rerun",
        db_ids=ids,
    )


def publish(
    config: WriteConfig,
    plan: ShardWritePlan,
    attempts: Sequence[ShardAttemptResult],
    started: float,
    sharding_ms: int,
    write_ms: int,
) -> BuildResult:
    """Winners, manifest, ``_CURRENT`` and loser cleanup through ``shardy publish``."""
    check_single_result_per_shard(attempts, plan.num_dbs)
    non_empty = [a for a in attempts if a.row_count > 0]
    lines = "\n".join(a.result_json for a in non_empty) + ("\n" if non_empty else "")
    exe = find_shardy()
    with _ConfigFile(plan.config_json) as path:
        out = run_shardy(
            exe,
            "publish",
            ["--config-json", f"@{path}", *plan.publish_args()],
            stdin=lines.encode("utf-8"),
        )
    record = json.loads(out.strip().splitlines()[-1])
    total_ms = int((time.perf_counter() - started) * 1000)
    return build_result_from_wire(record, sharding_ms=sharding_ms, write_ms=write_ms, total_ms=total_ms)


def preflight() -> str:
    """Fail before any engine work when the executable or the kernel is missing."""
    exe = find_shardy()
    get_kernel()
    return exe
