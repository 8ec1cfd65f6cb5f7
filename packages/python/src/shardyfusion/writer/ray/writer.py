"""Ray writer (seed: "Build a snapshot with the Ray writer").

Flow: shard ids assigned per Arrow batch by the WASM kernel -> ``verify_routing`` on 20 sampled
rows -> lock-guarded shuffle (save ``DataContext.shuffle_strategy``, set ``HASH_SHUFFLE``,
``repartition(num_dbs, shuffle=True, keys=[shard_id_col])``) -> ``map_batches`` with pandas
batches writing each shard through ``shardy write-shard`` -> results (NaN -> None) ->
``shardy publish`` -> ``BuildResult``. Ray retries failed tasks per its policy (see
``RayWriteOptions.ray_remote_args``); when it gives up, ``ShardCoverageError`` names the shard(s)
and nothing is published.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..._cel import CelRouting, infer_routing_values, verify_cel_routing
from ..._shardy import find_shardy, prestart_warm_server
from ..._writer_core import (
    ShardWritePlan,
    assign_cel_ids_arrow,
    assign_shard_ids_arrow,
    begin_build,
    cel_num_dbs,
    coverage_error,
    empty_results,
    make_plan,
    publish,
    resolve_num_dbs,
    results_pdf_to_attempts,
    write_partition,
)
from ...config import CelShardedWriteConfig, HashShardedWriteConfig
from ...errors import ConfigValidationError, ShardyfusionError
from ...inputs import ColumnWriteInput
from ...manifest import BuildResult
from ...routing import VERIFY_SAMPLE_ROWS, verify_hash_routing

#: Guards the process-wide ``DataContext.shuffle_strategy`` swap during a build.
_SHUFFLE_STRATEGY_LOCK = threading.Lock()


@dataclass(frozen=True)
class RayWriteOptions:
    #: Sort each shard's rows by ``key_col`` before writing. Accepted for the seed's API: shardy
    #: sorts them in any case (in Arrow, before ``shardy write-shard``, which then writes the
    #: b-tree as rows arrive); the stable sort keeps the last of a repeated key last.
    sort_within_partitions: bool = False
    #: Re-verify writer-side routing against the reader-side router (20 sampled rows).
    verify_routing: bool = True
    #: Extra Ray task options for the write ``map_batches`` (shardy extension), e.g.
    #: ``{"max_retries": 3}``; Ray Data's default retries a crashed task without limit.
    ray_remote_args: Mapping[str, Any] | None = None


def write_hash_sharded(
    ds: Any,
    config: HashShardedWriteConfig,
    input: ColumnWriteInput,
    options: RayWriteOptions | None = None,
) -> BuildResult:
    """Builds and publishes a hash-sharded snapshot from a Ray Dataset."""
    started = time.perf_counter()
    run_id = begin_build("write_hash_sharded", config, HashShardedWriteConfig, input, lambda: _column_names(ds))
    options = options or RayWriteOptions()
    num_dbs = resolve_num_dbs(config, ds.count)
    col = config.shard_id_col

    with _hash_shuffle(ds):
        routed = _routed(ds, functools.partial(_route_batch, key_col=input.key_col, num_dbs=num_dbs, col=col))
        if options.verify_routing:
            # The tasks' routing function, on the driver (no write server started here).
            sample = assign_shard_ids_arrow(_head(ds, VERIFY_SAMPLE_ROWS), input.key_col, num_dbs, col)
            keys = sample.column(input.key_col).to_pylist()
            verify_hash_routing(zip(keys, sample.column(col).to_pylist(), strict=True), num_dbs)

        plan = make_plan(config, input, num_dbs, run_id)
        results, sharding_ms, write_ms = _shuffle_and_write(routed, plan, options, started)
    return publish(config, plan, results_pdf_to_attempts(results), started, sharding_ms, write_ms)


def write_cel_sharded(
    ds: Any,
    config: CelShardedWriteConfig,
    input: ColumnWriteInput,
    options: RayWriteOptions | None = None,
) -> BuildResult:
    """Builds and publishes a CEL-sharded snapshot from a Ray Dataset: shard ids from the
    expression over each batch's ``cel_columns`` (kernel, Arrow buffers), the shard count from
    ``routing_values`` or discovered from the ids (direct mode), then as the hash build."""
    started = time.perf_counter()
    run_id = begin_build("write_cel_sharded", config, CelShardedWriteConfig, input, lambda: _column_names(ds))
    options = options or RayWriteOptions()
    routing = CelRouting.of(config)
    col = config.shard_id_col
    inferred = None

    with _hash_shuffle(ds):
        if config.sharding.infer_routing_values_from_data:
            # Every row's token, distinct per batch then on the driver, before any routing.
            with _routing_errors(ds):
                tokens = ds.map_batches(
                    functools.partial(_batch_tokens, routing=routing), batch_format="pyarrow", zero_copy_batch=True
                ).unique("token")
            inferred = infer_routing_values(tokens, routing.expr)
            routing = replace(routing, routing_values=tuple(inferred))
        routed = _routed(ds, functools.partial(_route_cel_batch, routing=routing, col=col))
        with _routing_errors(ds):
            if options.verify_routing:
                # The tasks' routing function, on the driver (no write server started here).
                sample = assign_cel_ids_arrow(_head(ds, VERIFY_SAMPLE_ROWS), routing, col)
                contexts = sample.select(list(routing.column_names)).to_pylist()
                verify_cel_routing(routing, zip(contexts, sample.column(col).to_pylist(), strict=True))
            # Every row routed once before the shuffle: direct mode takes the shard count from the
            # ids, and a failing row or unknown token stops the build before any shard is written.
            ids = routed.unique(col)
        num_dbs = cel_num_dbs(routing, ids)

        plan = make_plan(config, input, num_dbs, run_id, inferred)
        results, sharding_ms, write_ms = _shuffle_and_write(routed, plan, options, started)
    return publish(config, plan, results_pdf_to_attempts(results), started, sharding_ms, write_ms)


def _shuffle_and_write(
    routed: Any, plan: ShardWritePlan, options: RayWriteOptions, started: float
) -> tuple[pd.DataFrame, int, int]:
    """Both builds' tail inside the hash-shuffle swap: repartition by shard id, write every block;
    the results with the sharding and write times (ms)."""
    col = plan.shard_id_col
    shuffled = routed.repartition(plan.num_dbs, shuffle=True, keys=[col])
    sharding_ms = int((time.perf_counter() - started) * 1000)
    write_started = time.perf_counter()
    results = _write(shuffled, routed, plan, col, dict(options.ray_remote_args or {}))
    return results, sharding_ms, int((time.perf_counter() - write_started) * 1000)


def _routed(ds: Any, route: Callable[[pa.Table], pa.Table]) -> Any:
    """``ds`` with shard ids: ``route`` over its Arrow batches."""
    return ds.map_batches(route, batch_format="pyarrow", zero_copy_batch=True)


#: A materialised dataset's leading block larger than this is not fetched to the driver for the
#: ``verify_routing`` sample (on a multi-node cluster it would cross the network whole).
_HEAD_FETCH_MAX_BYTES = 64 << 20


def _head(ds: Any, rows: int) -> pa.Table:
    """The first ``rows`` rows of ``ds`` as Arrow, for ``verify_routing`` to route on the driver
    with the tasks' own routing function. A materialised dataset's leading blocks are read
    straight from the object store: ``limit`` would slice them in a task, and on a small cluster
    the worker that task needs is often a fresh process (Ray ends idle workers within a second),
    which costs more than the rest of the check."""
    from ray.data.dataset import MaterializedDataset

    head = _leading_rows(ds, rows, _HEAD_FETCH_MAX_BYTES) if isinstance(ds, MaterializedDataset) else None
    if head is None:
        head = _leading_rows(ds.limit(rows), rows, None) or []
    if not head:
        return pa.table({name: pa.array([]) for name in _column_names(ds)})
    return pa.concat_tables(head, promote_options="default")


def _leading_rows(source: Any, rows: int, max_block_bytes: int | None) -> list[pa.Table] | None:
    """The first ``rows`` rows of ``source``'s blocks (slices respected); None when one of the
    blocks to read is larger than ``max_block_bytes``."""
    import ray
    from ray.data.block import BlockAccessor

    tables: list[pa.Table] = []
    have = 0
    for bundle in source.iter_internal_ref_bundles():
        parts = getattr(bundle, "slices", None) or [None] * len(bundle.block_refs)
        for ref, meta, part in zip(bundle.block_refs, bundle.metadata, parts, strict=True):
            if have >= rows:
                break
            if max_block_bytes is not None and (meta.size_bytes or 0) > max_block_bytes:
                return None
            block = BlockAccessor.for_block(ray.get(ref))
            first, stop = (part.start_offset, part.end_offset) if part is not None else (0, block.num_rows())
            stop = min(stop, first + rows - have)
            if stop <= first:
                continue  # e.g. a column-less empty pandas block, which would not concatenate
            tables.append(BlockAccessor.for_block(block.slice(first, stop, copy=False)).to_arrow())
            have += tables[-1].num_rows
        if have >= rows:
            break
    return tables


def _batch_tokens(batch: pa.Table, routing: CelRouting) -> pa.Table:
    texts = sorted(routing.tokens({n: batch.column(n) for n in routing.column_names})) if batch.num_rows else []
    return pa.table({"token": pa.array(texts, type=pa.string())})


def _column_names(ds: Any) -> list[str]:
    schema = ds.schema()
    if schema is None:
        raise ConfigValidationError("the Ray Dataset has no schema (is it empty?)", field="input")
    return list(schema.names)


def _contexts(ds: Any) -> list[Any]:
    """The process-wide ``DataContext``, and the dataset's own when it is another one (a Dataset
    keeps the context it was created with)."""
    from ray.data import DataContext

    current = DataContext.get_current()
    own = getattr(ds, "context", None)
    return [current] if own is None or own is current else [current, own]


@contextmanager
def _hash_shuffle(ds: Any) -> Iterator[None]:
    """``shuffle_strategy = HASH_SHUFFLE`` for the build, process-wide, under the lock.

    A Dataset keeps the context it was created with; the dataset's own context is swapped too
    when it is not the process-wide one, so the repartition really is a hash shuffle.
    """
    from ray.data.context import ShuffleStrategy

    with _SHUFFLE_STRATEGY_LOCK:
        contexts = _contexts(ds)
        saved = [c.shuffle_strategy for c in contexts]
        try:
            for c in contexts:
                c.shuffle_strategy = ShuffleStrategy.HASH_SHUFFLE
            yield
        finally:
            for c, s in zip(contexts, saved, strict=True):
                c.shuffle_strategy = s


def _route_batch(batch: pa.Table, key_col: str, num_dbs: int, col: str) -> pa.Table:
    _prestart_writer()
    return assign_shard_ids_arrow(batch, key_col, num_dbs, col)


def _route_cel_batch(batch: pa.Table, routing: CelRouting, col: str) -> pa.Table:
    _prestart_writer()
    return assign_cel_ids_arrow(batch, routing, col)


def _prestart_writer() -> None:
    """A write server started in the background by the routing task: Ray runs the fused
    shuffle-reduce/write tasks in the same worker processes, but a build's processes are mostly
    fresh (Ray ends idle workers within seconds), so without this every worker's first write
    would wait for its server's start-up, which now overlaps the shuffle instead."""
    prestart_warm_server(find_shardy())


def _write_batch(pdf: pd.DataFrame, plan: ShardWritePlan, build: str) -> pd.DataFrame:
    import ray

    # numpy, not a Python set over every row: this runs on the write phase's critical path.
    ids = [int(x) for x in np.unique(pdf[plan.shard_id_col].to_numpy())] if len(pdf) else []
    if ids:
        # Ray keeps a task's id across its retries: the ledger counts attempts per task.
        _ledger_note(build, "started", ray.get_runtime_context().get_task_id() or "-", ids)
    out = write_partition(pdf, plan)
    if len(out):
        _ledger_note(build, "finished", "-", [int(x) for x in out["db_id"].tolist()])
    return out


# The ledger, per build: which write tasks started (how often, with which shards) and which shards
# were written; it tells the shards of a task Ray gave up on from those of tasks it merely
# cancelled. One key per event in the cluster's GCS key-value store, the shards in the key (one
# listing reads the whole ledger): an actor would be one more worker process, which on a small
# cluster pushes Ray past its worker soft limit (= CPUs) so that it ends idle task workers
# mid-build, and every build then pays fresh workers and write servers.
_LEDGER_NAMESPACE = "shardyfusion"


def _ledger_prefix(build: str) -> str:
    return f"ray-ledger/{build}/"


def _ledger_note(build: str, event: str, task_id: str, ids: list[int]) -> None:
    from ray.experimental.internal_kv import _internal_kv_put

    shards = ",".join(str(i) for i in ids)
    key = f"{_ledger_prefix(build)}{event}/{task_id}/{uuid.uuid4().hex}/{shards}"
    _internal_kv_put(key, b"", namespace=_LEDGER_NAMESPACE)


def _ledger_state(build: str) -> tuple[set[int], list[tuple[int, list[int]]]]:
    """The shards written, and ``(starts, shards)`` per started task."""
    from ray.experimental.internal_kv import _internal_kv_list

    done: set[int] = set()
    starts: dict[str, tuple[int, list[int]]] = {}
    prefix = _ledger_prefix(build)
    for raw in _internal_kv_list(prefix, namespace=_LEDGER_NAMESPACE):
        event, task_id, _, shards = raw.decode("utf-8")[len(prefix) :].split("/")
        ids = [int(x) for x in shards.split(",") if x]
        if event == "finished":
            done.update(ids)
        else:
            count, _ = starts.get(task_id, (0, ids))
            starts[task_id] = (count + 1, ids)
    return done, list(starts.values())


def _ledger_forget(build: str) -> None:
    from ray.experimental.internal_kv import _internal_kv_del

    _internal_kv_del(_ledger_prefix(build), del_by_prefix=True, namespace=_LEDGER_NAMESPACE)


def _given_up_shards(done: set[int], starts: list[tuple[int, list[int]]], max_retries: Any) -> set[int]:
    """Shards of the unfinished task(s) that used up their retries (or, when the limit is not
    known, that were started most often)."""
    unfinished = [(n, ids) for n, ids in starts if not set(ids) <= done]
    if not unfinished:
        return set()
    if isinstance(max_retries, int) and max_retries >= 0:
        chosen = [ids for n, ids in unfinished if n >= max_retries + 1]
    else:
        most = max(n for n, _ in unfinished)
        chosen = [ids for n, ids in unfinished if n == most]
    return {i for ids in chosen for i in ids} - done


@contextmanager
def _routing_errors(ds: Any) -> Iterator[None]:
    """A routing task's own error (e.g. an unknown CEL token) instead of Ray's wrapper, which
    keeps only its text: ``raise_original_map_exception`` for the routing reads only."""

    contexts = _contexts(ds)
    saved = [c.raise_original_map_exception for c in contexts]
    try:
        for c in contexts:
            c.raise_original_map_exception = True
        yield
    except ShardyfusionError:
        raise
    except Exception as err:
        shardy_err = _unwrap_shardy_error(err)
        if shardy_err is None:
            raise
        raise shardy_err from err
    finally:
        for c, flag in zip(contexts, saved, strict=True):
            c.raise_original_map_exception = flag


def _unwrap_shardy_error(err: BaseException) -> ShardyfusionError | None:
    seen: set[int] = set()
    cur: BaseException | None = err
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, ShardyfusionError):
            return cur
        seen.add(id(cur))
        nxt = getattr(cur, "cause", None)
        cur = nxt if isinstance(nxt, BaseException) else (cur.__cause__ or cur.__context__)
    return None


def _write(shuffled: Any, routed: Any, plan: ShardWritePlan, col: str, remote_args: dict[str, Any]) -> pd.DataFrame:
    build = uuid.uuid4().hex
    try:
        written = shuffled.map_batches(
            functools.partial(_write_batch, plan=plan, build=build),
            batch_format="pandas",
            batch_size=None,
            **remote_args,
        )
        try:
            frames = [b for b in written.iter_batches(batch_format="pandas", batch_size=None)]
        except Exception as err:
            shardy_err = _unwrap_shardy_error(err)
            if shardy_err is not None:
                raise shardy_err from err
            done, starts = _ledger_state(build)
            given_up = _given_up_shards(done, starts, remote_args.get("max_retries"))
            if not given_up:
                try:
                    given_up = {int(x) for x in routed.unique(col)} - done
                except Exception:
                    given_up = set()
            raise coverage_error(given_up, err, "Ray") from err
    finally:
        _ledger_forget(build)
    non_empty = [f for f in frames if len(f)]
    return pd.concat(non_empty, ignore_index=True) if non_empty else empty_results()


__all__ = ["RayWriteOptions", "write_cel_sharded", "write_hash_sharded"]
