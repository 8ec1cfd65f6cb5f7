"""Engine benchmark: rows/s end to end for the Dask and Ray writers (SQLite, file store, 16
shards, a local cluster of 2 workers) against a baseline run in the same engine graph whose
per-shard work is a straightforward pure-Python writer (per-row xxhash routing, stdlib sqlite3,
per-row inserts, the file copied into the store).

The input is generated and materialised (Dask ``persist``, Ray ``materialize``) once per engine,
before any clock starts, and both arms read the same materialised data: the timed region is the
write (routing, shuffle, shard writes, publish), not data generation. Runs alternate between the
arms; the table shows the median of ``--repeat`` runs of each.

    .venv/bin/python scripts/bench/engines.py [--rows 5000000] [--shards 16] [--engines dask,ray]

Prints a table and writes bench-results/engines.json. Needs dist/shardy (bash scripts/build-shardy)
or SHARDY_BIN.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
PARTITION_ROWS = 250_000


def make_partition(start: int, stop: int) -> pd.DataFrame:
    ids = np.arange(start, stop, dtype=np.int64)
    payload = np.char.add(b"value-", ids.astype("S20"))
    return pd.DataFrame({"id": ids, "payload": payload.astype(object)})


def ranges(rows: int) -> list[tuple[int, int]]:
    return [(s, min(s + PARTITION_ROWS, rows)) for s in range(0, rows, PARTITION_ROWS)]


# ---- the baseline: pure Python per row --------------------------------------------------------


def py_route(pdf: pd.DataFrame, num_dbs: int) -> pd.DataFrame:
    import xxhash

    out = pdf.copy()
    out["_shard_id"] = [xxhash.xxh3_64_intdigest(struct.pack("<q", int(k))) % num_dbs for k in pdf["id"]]
    out["_shard_id"] = out["_shard_id"].astype("int32")
    return out


def py_write(pdf: pd.DataFrame, store: str, scratch: str) -> pd.DataFrame:
    rows = []
    for db_id, group in pdf.groupby("_shard_id"):
        local = Path(scratch) / f"db={int(db_id):05d}-{os.getpid()}.db"
        local.unlink(missing_ok=True)
        con = sqlite3.connect(local, isolation_level=None)
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        con.execute("BEGIN")
        n = 0
        for k, v in zip(group["id"], group["payload"], strict=True):
            con.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (int(k).to_bytes(8, "big"), v))
            n += 1
        con.execute("COMMIT")
        con.close()
        dest = Path(store) / "shards" / f"db={int(db_id):05d}" / "attempt=00" / "shard.db"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, dest)
        local.unlink()
        rows.append({"db_id": int(db_id), "row_count": n})
    return pd.DataFrame(rows, columns=["db_id", "row_count"]).astype("int64")


# ---- Dask ---------------------------------------------------------------------------------------


def dask_input(rows: int) -> Any:
    import dask.dataframe as dd

    return dd.from_map(lambda r: make_partition(*r), ranges(rows))


def bench_dask(rows: int, shards: int, workdir: Path, repeat: int) -> dict[str, list[float]]:
    from distributed import Client, LocalCluster, wait
    from shardyfusion import ColumnWriteInput, HashShardedWriteConfig, ValueSpec
    from shardyfusion.sqlite_adapter import SqliteFactory
    from shardyfusion.writer.dask import write_hash_sharded

    def ours(ddf: Any, i: int) -> None:
        config = HashShardedWriteConfig(
            num_dbs=shards, s3_prefix=f"file://{workdir}/dask-shardy-{i}", adapter_factory=SqliteFactory()
        )
        result = write_hash_sharded(
            ddf, config, ColumnWriteInput(key_col="id", value_spec=ValueSpec.binary_col("payload"))
        )
        assert result.stats.rows_written == rows, result.stats

    def baseline(ddf: Any, i: int) -> None:
        meta = ddf._meta.assign(_shard_id=pd.Series(dtype="int32"))
        routed = ddf.map_partitions(py_route, shards, meta=meta)
        shuffled = routed.shuffle(on="_shard_id", npartitions=shards)
        scratch = tempfile.mkdtemp(dir=workdir)
        written = shuffled.map_partitions(
            py_write, str(workdir / f"dask-baseline-{i}"), scratch, meta=pd.DataFrame({"db_id": [1], "row_count": [1]})
        ).compute()
        assert int(written["row_count"].sum()) == rows

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        # Generated once, held by the workers: both arms start from the same persisted frame.
        ddf = client.persist(dask_input(rows))
        wait(ddf)
        return alternate(lambda i: ours(ddf, i), lambda i: baseline(ddf, i), repeat)


# ---- Ray ----------------------------------------------------------------------------------------


def ray_input(rows: int) -> Any:
    import ray

    return ray.data.from_items([{"start": s, "stop": e} for s, e in ranges(rows)]).map_batches(
        lambda b: pd.concat([make_partition(int(s), int(e)) for s, e in zip(b["start"], b["stop"], strict=True)]),
        batch_format="pandas",
        batch_size=1,
    )


def bench_ray(rows: int, shards: int, workdir: Path, repeat: int) -> dict[str, list[float]]:
    import ray
    from ray.data import DataContext
    from ray.data.context import ShuffleStrategy
    from shardyfusion import ColumnWriteInput, HashShardedWriteConfig, ValueSpec
    from shardyfusion.sqlite_adapter import SqliteFactory
    from shardyfusion.writer.ray import write_hash_sharded

    def ours(ds: Any, i: int) -> None:
        config = HashShardedWriteConfig(
            num_dbs=shards, s3_prefix=f"file://{workdir}/ray-shardy-{i}", adapter_factory=SqliteFactory()
        )
        result = write_hash_sharded(
            ds, config, ColumnWriteInput(key_col="id", value_spec=ValueSpec.binary_col("payload"))
        )
        assert result.stats.rows_written == rows, result.stats

    def baseline(ds: Any, i: int) -> None:
        ctx = DataContext.get_current()
        saved = ctx.shuffle_strategy
        ctx.shuffle_strategy = ShuffleStrategy.HASH_SHUFFLE
        try:
            scratch = tempfile.mkdtemp(dir=workdir)
            store = str(workdir / f"ray-baseline-{i}")
            routed = ds.map_batches(lambda b: py_route(b, shards), batch_format="pandas")
            routed = routed.repartition(shards, shuffle=True, keys=["_shard_id"])
            written = routed.map_batches(
                lambda b: py_write(b, store, scratch), batch_format="pandas", batch_size=None
            ).to_pandas()
        finally:
            ctx.shuffle_strategy = saved
        assert int(written["row_count"].sum()) == rows

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    DataContext.get_current().enable_progress_bars = False
    try:
        # Generated once into the object store: both arms start from the same materialised blocks.
        ds = ray_input(rows).materialize()
        return alternate(lambda i: ours(ds, i), lambda i: baseline(ds, i), repeat)
    finally:
        ray.shutdown()


def tree_cpu() -> dict[int, float]:
    """CPU seconds (user + system, reaped children included) of this process and of every
    descendant, by pid."""
    import psutil

    me = psutil.Process()
    out: dict[int, float] = {}
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        out[p.pid] = t.user + t.system + t.children_user + t.children_system
    return out


def cpu_since(before: dict[int, float]) -> float:
    """CPU the process tree used since ``before``: a lower bound (a process that started and
    ended in between, unreaped, is missed), but steadier than wall time on a shared machine."""
    return sum(max(0.0, t - before.get(pid, 0.0)) for pid, t in tree_cpu().items())


def alternate(ours: Any, baseline: Any, repeat: int) -> dict[str, list[float]]:
    """``repeat`` timed runs of each, alternating so both see the same machine load."""
    runs: dict[str, list[float]] = {
        "shardyfusion_s": [],
        "baseline_s": [],
        "shardyfusion_cpu_s": [],
        "baseline_cpu_s": [],
    }
    for i in range(repeat):
        for name, fn in (("shardyfusion", ours), ("baseline", baseline)):
            cpu = tree_cpu()
            t = time.perf_counter()
            fn(i)
            runs[f"{name}_s"].append(time.perf_counter() - t)
            runs[f"{name}_cpu_s"].append(cpu_since(cpu))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--engines", default="dask,ray")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating; the median counts")
    parser.add_argument("--out", default=str(REPO / "bench-results" / "engines.json"))
    args = parser.parse_args()
    if not os.environ.get("SHARDY_BIN"):
        exe = REPO / "dist" / "shardy"
        if not exe.is_file():
            print("no dist/shardy: run `bash scripts/build-shardy` (or set SHARDY_BIN)", file=sys.stderr)
            return 2
        os.environ["SHARDY_BIN"] = str(exe)

    results: dict[str, Any] = {
        "rows": args.rows,
        "shards": args.shards,
        "backend": "sqlite",
        "store": "file",
        "workers": 2,
        "repeat": args.repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "engines": {},
    }
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-") as tmp:
            run = bench_dask if engine == "dask" else bench_ray
            timing = run(args.rows, args.shards, Path(tmp), args.repeat)
        ours_s = statistics.median(timing["shardyfusion_s"])
        base_s = statistics.median(timing["baseline_s"])
        entry = {
            "shardyfusion_s": round(ours_s, 2),
            "baseline_s": round(base_s, 2),
            "shardyfusion_runs_s": [round(t, 2) for t in timing["shardyfusion_s"]],
            "baseline_runs_s": [round(t, 2) for t in timing["baseline_s"]],
            # CPU of the process tree per run (workers and shardy included; a lower bound), for context.
            "shardyfusion_cpu_s": round(statistics.median(timing["shardyfusion_cpu_s"]), 1),
            "baseline_cpu_s": round(statistics.median(timing["baseline_cpu_s"]), 1),
            "shardyfusion_rows_per_s": round(args.rows / ours_s),
            "baseline_rows_per_s": round(args.rows / base_s),
            "speedup": round(base_s / ours_s, 2),
        }
        results["engines"][engine] = entry

    print(f"\n{args.rows:,} rows, {args.shards} shards, SQLite, file store, 2 workers, median of {args.repeat}")
    print(f"{'engine':<8}{'shardyfusion rows/s':>22}{'baseline rows/s':>18}{'speedup':>10}{'cpu s (ours/base)':>20}")
    for engine, e in results["engines"].items():
        cpu = f"{e['shardyfusion_cpu_s']}/{e['baseline_cpu_s']}"
        print(
            f"{engine:<8}{e['shardyfusion_rows_per_s']:>22,}{e['baseline_rows_per_s']:>18,}{e['speedup']:>9}x{cpu:>20}"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
