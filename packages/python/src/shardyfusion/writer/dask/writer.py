"""Dask writer (seed: "Build a snapshot with the Dask writer").

Flow: shard ids assigned per partition by the WASM kernel -> ``verify_routing`` on 20 sampled
rows (eager) -> ``ddf.shuffle(on=shard_id_col, npartitions=num_dbs)`` -> per partition, group by
shard id and write each group through ``shardy write-shard`` (lazy) -> one ``compute`` on the
ambient scheduler -> results (NaN -> None) -> ``shardy publish`` (winners, manifest, ``_CURRENT``,
loser cleanup) -> ``BuildResult``. Worker death is retried by Dask; when Dask gives up, the
writer raises ``ShardCoverageError`` naming the shard(s) and publishes nothing.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import pyarrow as pa

from ..._cel import CelRouting, infer_routing_values, verify_cel_routing
from ..._writer_core import (
    ShardWritePlan,
    assign_cel_ids_pandas,
    assign_shard_ids_pandas,
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
from ...config import CelShardedWriteConfig, HashShardedWriteConfig, WriteConfig
from ...errors import ShardyfusionError
from ...inputs import ColumnWriteInput
from ...manifest import BuildResult
from ...routing import VERIFY_SAMPLE_ROWS, verify_hash_routing


@dataclass(frozen=True)
class DaskWriteOptions:
    #: Sort each shard's rows by ``key_col`` before writing. Accepted for the seed's API: shardy
    #: sorts them in any case (in Arrow, before ``shardy write-shard``, which then writes the
    #: b-tree as rows arrive); the stable sort keeps the last of a repeated key last.
    sort_within_partitions: bool = False
    #: Re-verify writer-side routing against the reader-side router (20 sampled rows).
    verify_routing: bool = True


def write_hash_sharded(
    ddf: Any,
    config: HashShardedWriteConfig,
    input: ColumnWriteInput,
    options: DaskWriteOptions | None = None,
) -> BuildResult:
    """Builds and publishes a hash-sharded snapshot from a Dask DataFrame."""
    started = time.perf_counter()
    run_id = begin_build("write_hash_sharded", config, HashShardedWriteConfig, input, lambda: list(ddf.columns))
    options = options or DaskWriteOptions()
    num_dbs = resolve_num_dbs(config, lambda: len(ddf))
    col = config.shard_id_col

    meta = ddf._meta.assign(**{col: pd.Series(dtype="int32")})
    routed = ddf.map_partitions(assign_shard_ids_pandas, input.key_col, num_dbs, col, meta=meta)
    if options.verify_routing:
        _verify(routed, input.key_col, col, num_dbs)

    plan = make_plan(config, input, num_dbs, run_id)
    return _shuffle_write_publish(config, plan, routed, started)


def write_cel_sharded(
    ddf: Any,
    config: CelShardedWriteConfig,
    input: ColumnWriteInput,
    options: DaskWriteOptions | None = None,
) -> BuildResult:
    """Builds and publishes a CEL-sharded snapshot from a Dask DataFrame: shard ids from the
    expression over each partition's ``cel_columns`` (kernel, Arrow buffers), the shard count
    from ``routing_values`` or discovered from the ids (direct mode), then as the hash build."""
    started = time.perf_counter()
    run_id = begin_build("write_cel_sharded", config, CelShardedWriteConfig, input, lambda: list(ddf.columns))
    options = options or DaskWriteOptions()
    routing = CelRouting.of(config)
    col = config.shard_id_col
    inferred = None
    if config.sharding.infer_routing_values_from_data:
        # Every row's token, distinct per partition then on the driver, before any routing.
        texts = ddf.map_partitions(
            _partition_tokens, routing, meta=pd.DataFrame({"token": pd.Series(dtype="object")})
        ).compute()
        inferred = infer_routing_values(texts["token"].tolist(), routing.expr)
        routing = replace(routing, routing_values=tuple(inferred))

    meta = ddf._meta.assign(**{col: pd.Series(dtype="int32")})
    routed = ddf.map_partitions(assign_cel_ids_pandas, routing, col, meta=meta)
    if options.verify_routing:
        _verify_cel(routed, routing, col)
    # Every row routed once before the shuffle: direct mode takes the shard count from the ids,
    # and a failing row or unknown token stops the build before any shard is written.
    ids = routed[col].unique().compute().tolist()
    num_dbs = cel_num_dbs(routing, ids)

    plan = make_plan(config, input, num_dbs, run_id, inferred)
    return _shuffle_write_publish(config, plan, routed, started)


def _shuffle_write_publish(config: WriteConfig, plan: ShardWritePlan, routed: Any, started: float) -> BuildResult:
    """Both builds' tail: shuffle by shard id, write every partition (one compute), publish."""
    col = plan.shard_id_col
    # Dask picks its P2P shuffle whenever a distributed client exists, even when another scheduler
    # is the ambient one (it then fails); task-based shuffling works on every scheduler.
    method = None if _ambient_client(routed) is not None else "tasks"
    shuffled = routed.shuffle(on=col, npartitions=plan.num_dbs, shuffle_method=method)
    written = shuffled.map_partitions(write_partition, plan, meta=empty_results())
    sharding_ms = int((time.perf_counter() - started) * 1000)

    write_started = time.perf_counter()
    results = _compute_results(written, routed, col)
    write_ms = int((time.perf_counter() - write_started) * 1000)
    return publish(config, plan, results_pdf_to_attempts(results), started, sharding_ms, write_ms)


def _partition_tokens(pdf: pd.DataFrame, routing: CelRouting) -> pd.DataFrame:
    if len(pdf) == 0:
        return pd.DataFrame({"token": pd.Series(dtype="object")})
    arrays = {name: pa.Array.from_pandas(pdf[name]) for name in routing.column_names}
    return pd.DataFrame({"token": pd.Series(sorted(routing.tokens(arrays)), dtype="object")})


def _sample(frame: Any) -> pd.DataFrame:
    with warnings.catch_warnings():
        # "Insufficient elements for head": a small first partition; the fallback covers it.
        warnings.simplefilter("ignore", UserWarning)
        sample = frame.head(VERIFY_SAMPLE_ROWS, npartitions=1, compute=True)
        if len(sample) < VERIFY_SAMPLE_ROWS and frame.npartitions > 1:
            sample = frame.head(VERIFY_SAMPLE_ROWS, npartitions=-1, compute=True)
    return sample


def _verify_cel(routed: Any, routing: CelRouting, col: str) -> None:
    """Eager sample of the routed frame, re-routed one row at a time by the kernel's scalar path."""
    names = routing.column_names
    sample = _sample(routed[[*dict.fromkeys([*names, col])]])
    rows = sample.to_dict("records")
    verify_cel_routing(routing, (({n: r[n] for n in names}, r[col]) for r in rows))


def _verify(routed: Any, key_col: str, col: str, num_dbs: int) -> None:
    """Eager sample of the routed frame, recomputed by the reader-side router."""
    sample = _sample(routed[[key_col, col]])
    verify_hash_routing(zip(sample[key_col].tolist(), sample[col].tolist(), strict=True), num_dbs)


def _ambient_client(collection: Any) -> Any:
    """The distributed ``Client`` when it is the scheduler ``compute`` would use, else None."""
    try:
        import dask.base
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is part of the extra
        return None
    base: Any = dask.base
    scheduler = base.get_scheduler(collections=[collection])
    owner = getattr(scheduler, "__self__", None)
    return owner if isinstance(owner, Client) else None


def _compute_results(written: Any, routed: Any, col: str) -> pd.DataFrame:
    """Runs every partition's writes; per-partition outcomes so failures name their shards."""
    import dask
    import distributed

    dask_api: Any = dask
    wait: Any = distributed.wait
    parts = written.to_delayed()
    client = _ambient_client(written)
    frames: list[pd.DataFrame] = []
    failures: list[BaseException] = []
    if client is not None:
        futures = client.compute(parts)
        try:
            wait(futures)
            lost: list[BaseException] = []
            for f in futures:
                if f.status == "finished":
                    frames.append(f.result())
                    continue
                try:
                    exc = f.exception()
                except BaseException as err:  # a cancelled future raises instead of returning
                    exc = err
                if exc is None:
                    lost.append(RuntimeError(f"Dask reported write task {f.key} as {f.status}"))
                else:
                    failures.append(exc)
            # The task errors (e.g. KilledWorker) first: they are the cause worth chaining.
            failures.extend(lost)
        finally:
            for f in futures:
                f.release()
    else:
        try:
            frames = list(dask_api.compute(*parts))
        except Exception as err:
            failures.append(err)
    results = pd.concat(frames, ignore_index=True) if frames else empty_results()
    if not failures:
        return results
    shard_errors = [e for e in failures if isinstance(e, ShardyfusionError)]
    engine_errors = [e for e in failures if not isinstance(e, ShardyfusionError)]
    if not engine_errors:
        raise shard_errors[0]
    cause = engine_errors[0]
    written_ids = {int(x) for x in results["db_id"].tolist()}
    try:
        present = {int(x) for x in routed[col].unique().compute().tolist()}
    except Exception:
        present = set()
    raise coverage_error(present - written_ids, cause, "Dask") from cause


__all__ = ["DaskWriteOptions", "ShardWritePlan", "write_cel_sharded", "write_hash_sharded"]
