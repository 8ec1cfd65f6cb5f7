"""The newest official SlateDB (PyPI `slatedb`) reads snapshots written by @shardy/slatedb.

The snapshot is written by packages/slatedb/test/fixtures/write-snapshot.ts (run with bun);
the official reader opens it by checkpoint id and must return every key, miss absent ones,
scan everything in order, and write nothing.
"""

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from slatedb.uniffi import AdminBuilder, DbReaderBuilder, KeyRange, ObjectStore, ReaderMode

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "packages/slatedb/test/fixtures/write-snapshot.ts"


def bun() -> str:
    found = shutil.which("bun") or str(ROOT / ".tools/node_modules/.bin/bun")
    if not Path(found).exists():
        pytest.fail("bun is not installed: run `bash scripts/setup` (it installs bun into .tools/)")
    return found


def write_snapshot(tmp_path: Path, *extra: str) -> dict:
    out = subprocess.run(
        [bun(), str(WRITER), str(tmp_path), "1500", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, f"write-snapshot.ts failed:\n{out.stderr}"
    return json.loads(out.stdout)


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


async def read_everything(tmp_path: Path, snapshot: dict):
    store = ObjectStore.resolve("file:///")
    db_path = f"{str(tmp_path).lstrip('/')}/db"
    builder = DbReaderBuilder(db_path, store)
    builder.with_reader_mode(ReaderMode.CHECKPOINT(snapshot["checkpoint_id"]))
    reader = await builder.build()
    try:
        got = [await reader.get(bytes.fromhex(k)) for k, _ in snapshot["rows"]]
        present = {k for k, _ in snapshot["rows"]}
        misses = [k + "ff" for k, _ in snapshot["rows"][:300] if k + "ff" not in present]
        missed = [await reader.get(bytes.fromhex(k)) for k in misses]
        it = await reader.scan(KeyRange(start=None, start_inclusive=True, end=None, end_inclusive=False))
        scanned = []
        while (kv := await it.next()) is not None:
            scanned.append([bytes(kv.key).hex(), bytes(kv.value).hex()])
    finally:
        await reader.shutdown()
    manifest = await AdminBuilder(db_path, store).build().read_manifest(None)
    return got, missed, scanned, manifest


@pytest.mark.parametrize("extra", [(), ("--compression", "lz4")], ids=["uncompressed", "lz4"])
def test_official_reader_reads_our_snapshot(tmp_path: Path, extra: tuple) -> None:
    snapshot = write_snapshot(tmp_path, *extra)
    assert snapshot["sst_count"] > 3
    before = files_under(tmp_path)
    got, missed, scanned, manifest = asyncio.run(read_everything(tmp_path, snapshot))
    assert [None if v is None else bytes(v).hex() for v in got] == [v for _, v in snapshot["rows"]]
    assert missed and all(v is None for v in missed)
    assert scanned == snapshot["rows"]
    assert files_under(tmp_path) == before, "the official reader must not write to the snapshot"
    assert manifest.initialized and manifest.last_l0_seq == 1 and len(manifest.l0) == 0
    assert [len(run.sst_views) for run in manifest.compacted] == [snapshot["sst_count"]]
    assert [(c.id, c.manifest_id, c.name) for c in manifest.checkpoints] == [(snapshot["checkpoint_id"], 1, "snapshot")]
