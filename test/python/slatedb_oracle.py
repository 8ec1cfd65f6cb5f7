"""The official SlateDB (PyPI `slatedb`, UniFFI binding) as a test oracle for @shardy/slatedb.

Driven by packages/slatedb/test/*.test.ts: one JSON request on stdin, one JSON answer on stdout.
Bytes travel as hex; values come back as sha256 digests to keep answers small.

Requests (every one has "url" = object store URL and "path" = DB path inside that store):
  {"op": "read", "checkpoint": uuid|null, "follow_latest": bool, "keys": [hex...], "scan": bool,
   "prefix": hex|null}
      -> {"values": [sha256|null...], "scan": [[key hex, sha256]...]|null, "prefix_rows": [...]|null}
  {"op": "write", "settings": {dotted.key: json value}, "steps": [...]}
      steps: {"put": [[k, v]...]} | {"delete": [k...]} | {"flush": "memtable"|"wal"}
             | {"wait_compacted": seconds}
      -> {"manifest": {"l0": n, "compacted": [n ssts per run...], "last_l0_seq": n}}
  {"op": "manifest", "id": n|null} -> the decoded manifest's main fields
S3 URLs take their credentials from the AWS_* environment variables (object_store's names).
"""

import asyncio
import hashlib
import json
import sys
import time

from slatedb.uniffi import (
    AdminBuilder,
    DbBuilder,
    DbReaderBuilder,
    FlushOptions,
    FlushType,
    KeyRange,
    ObjectStore,
    ReaderMode,
    Settings,
    WriteBatch,
)


def digest(b):
    return hashlib.sha256(bytes(b)).hexdigest()


async def drain(it):
    out = []
    while (kv := await it.next()) is not None:
        out.append([bytes(kv.key).hex(), digest(kv.value)])
    return out


async def read(req, store):
    builder = DbReaderBuilder(req["path"], store)
    if req.get("checkpoint"):
        builder.with_reader_mode(ReaderMode.CHECKPOINT(req["checkpoint"]))
    elif req.get("follow_latest"):
        # Reads the latest manifest (and WAL) without creating a checkpoint, so it writes nothing.
        builder.with_reader_mode(ReaderMode.FOLLOW_LATEST())
    reader = await builder.build()
    try:
        values = []
        for k in req.get("keys", []):
            v = await reader.get(bytes.fromhex(k))
            values.append(None if v is None else digest(v))
        everything = KeyRange(start=None, start_inclusive=True, end=None, end_inclusive=False)
        scan = await drain(await reader.scan(everything)) if req.get("scan") else None
        prefix_rows = None
        if req.get("prefix") is not None:
            prefix_rows = await drain(await reader.scan_prefix(bytes.fromhex(req["prefix"]), everything))
        return {"values": values, "scan": scan, "prefix_rows": prefix_rows}
    finally:
        await reader.shutdown()


def manifest_summary(m):
    return {
        "id": m.id,
        "l0": len(m.l0),
        "compacted": [len(r.sst_views) for r in m.compacted],
        "last_l0_seq": m.last_l0_seq,
        "initialized": m.initialized,
        "checkpoints": [{"id": c.id, "manifest_id": c.manifest_id, "name": c.name} for c in m.checkpoints],
    }


async def read_manifest(req, store, manifest_id=None):
    admin = AdminBuilder(req["path"], store).build()
    m = await admin.read_manifest(manifest_id)
    return None if m is None else manifest_summary(m)


async def write(req, store):
    settings = Settings.default()
    for key, value in req.get("settings", {}).items():
        settings.set(key, json.dumps(value, separators=(",", ":")))
    builder = DbBuilder(req["path"], store)
    builder.with_settings(settings)
    db = await builder.build()
    try:
        for step in req["steps"]:
            if "put" in step:
                batch = WriteBatch()
                for k, v in step["put"]:
                    batch.put(bytes.fromhex(k), bytes.fromhex(v))
                await db.write(batch)
            elif "delete" in step:
                batch = WriteBatch()
                for k in step["delete"]:
                    batch.delete(bytes.fromhex(k))
                await db.write(batch)
            elif "flush" in step:
                kind = FlushType.MEM_TABLE if step["flush"] == "memtable" else FlushType.WAL
                await db.flush_with_options(FlushOptions(flush_type=kind))
            elif "wait_compacted" in step:
                deadline = time.monotonic() + step["wait_compacted"]
                while True:
                    m = await read_manifest(req, store)
                    if m is not None and m["compacted"]:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"no compaction within {step['wait_compacted']} s: {m}")
                    await asyncio.sleep(0.2)
            else:
                raise ValueError(f"unknown step {step}")
    finally:
        await db.shutdown()
    return {"manifest": await read_manifest(req, store)}


async def main():
    req = json.load(sys.stdin)
    store = ObjectStore.resolve(req["url"])
    op = req["op"]
    if op == "read":
        out = await read(req, store)
    elif op == "write":
        out = await write(req, store)
    elif op == "manifest":
        out = await read_manifest(req, store, req.get("id"))
    else:
        raise ValueError(f"unknown op {op}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
