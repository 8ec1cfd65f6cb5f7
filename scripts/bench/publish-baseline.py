"""Baseline for scripts/bench/publish.ts: builds the same manifest with Python's sqlite3 the way
the reference does (in-memory database, DDL, inserts, `serialize()`), timed inside Python.

Reads one JSON job on stdin: {"ddl": [...], "build_meta": [...], "shard_template": {...},
"sizes": [...], "runs": {size: n}}; prints {"<size>": {"ms": [...], "bytes": n}} on stdout.
"""
import json
import sqlite3
import sys
import time


def shard_rows(tpl, count):
    for db_id in range(count):
        yield (
            db_id,
            tpl["url_prefix"] + "/db=%05d/attempt=00" % db_id,
            0,
            tpl["row_count"],
            tpl["db_bytes"],
            "1",
            str(tpl["row_count"]),
            tpl["checkpoint_id"],
            tpl["writer_info"],
        )


def build(job, count):
    con = sqlite3.connect(":memory:")
    try:
        for ddl in job["ddl"]:
            con.execute(ddl)
        meta = list(job["build_meta"])
        meta[2] = count  # num_dbs
        con.execute("INSERT INTO build_meta VALUES (?,?,?,?,?,?,?,?,?,?,?)", meta)
        con.executemany(
            "INSERT INTO shards (db_id, db_url, attempt, row_count, db_bytes, min_key, max_key, "
            "checkpoint_id, writer_info) VALUES (?,?,?,?,?,?,?,?,?)",
            shard_rows(job["shard_template"], count),
        )
        con.commit()
        return con.serialize()
    finally:
        con.close()


def main():
    job = json.load(sys.stdin)
    out = {}
    for size in job["sizes"]:
        times = []
        size_bytes = 0
        for _ in range(job["runs"][str(size)]):
            t0 = time.perf_counter()
            data = build(job, size)
            times.append((time.perf_counter() - t0) * 1000.0)
            size_bytes = len(data)
        out[str(size)] = {"ms": times, "bytes": size_bytes}
    json.dump(out, sys.stdout)


main()
