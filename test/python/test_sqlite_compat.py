"""SQLite shard compatibility with Python's stdlib sqlite3, both ways (reference-format §6, §6.1).

TS -> Python: `bun packages/sqlite/test/fixtures/compat-cli.ts write` builds a shard in a file
store; Python opens shard.db with sqlite3 and looks keys up the reference way, and checks the
sidecar with `sidecar_check.py` (an independent implementation of the v8 format) against dbstat.
Python -> TS: Python builds shard.db with the reference pragmas (and a dbstat-made sidecar bound
to the store's ETag); the TS download and range readers answer lookups from it.
"""

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
import sidecar_check
import xxhash

ROOT = Path(__file__).resolve().parents[2]
BUN = ROOT / ".tools" / "node_modules" / ".bin" / "bun"
CLI = ROOT / "packages" / "sqlite" / "test" / "fixtures" / "compat-cli.ts"
KV_DDL = "CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID"
ATTEMPT = "snap/shards/run_id=py/db=00000/attempt=00"


def key_of(i: int) -> bytes:
    return (i * 7).to_bytes(8, "big")


def value_of(i: int) -> bytes:
    return f"value-{i};".encode() * (600 if i % 13 == 0 else 1)


def cli(*args: str) -> dict:
    if not BUN.exists():
        pytest.fail(f"bun not found at {BUN}: run `bash scripts/setup` first")
    out = subprocess.run([str(BUN), str(CLI), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        pytest.fail(f"compat-cli {args[0]} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture()
def store_root(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    return root


@pytest.mark.parametrize("page_size", ["4096", "8192", "auto"])
def test_ts_written_shard_reads_in_python(store_root: Path, page_size: str) -> None:
    rows = 3000
    result = cli("write", str(store_root), ATTEMPT, str(rows), page_size)
    db_path = store_root / ATTEMPT / "shard.db"
    data = db_path.read_bytes()
    assert result["rowCount"] == rows
    assert result["dbBytes"] == len(data)
    assert result["minKey"] == key_of(0).hex() and result["maxKey"] == key_of(rows - 1).hex()
    # Our xxh3_128 checksum is the standard XXH3-128 (python-xxhash), in canonical hex.
    assert result["checksum"] == "xxh3_128:" + xxhash.xxh3_128_hexdigest(data)

    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        assert con.execute("SELECT sql FROM sqlite_schema WHERE name = 'kv'").fetchone()[0] == KV_DDL
        if page_size != "auto":
            expected_page = int(page_size)
        else:
            # The reference formula (§6): smallest page whose inline threshold holds p95 + max key + 12.
            lengths = sorted(len(value_of(i)) for i in range(rows))
            p95 = lengths[max(0, -(-95 * rows // 100) - 1)]
            expected_page = next(
                (s for s in (4096, 8192, 16384, 32768, 65536) if ((s - 12) * 64 // 255) - 23 >= p95 + 8 + 12),
                65536,
            )
        assert con.execute("PRAGMA page_size").fetchone()[0] == expected_page == result["pageSize"]
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM kv").fetchone()[0] == rows
        for i in range(rows):
            row = con.execute("SELECT v FROM kv WHERE k = ?", (key_of(i),)).fetchone()
            assert row is not None and row[0] == value_of(i), i
        assert con.execute("SELECT v FROM kv WHERE k = ?", ((1).to_bytes(8, "big"),)).fetchone() is None
        keys = [r[0] for r in con.execute("SELECT k FROM kv")]
        assert keys == sorted(keys)
    finally:
        con.close()


def test_ts_sidecar_follows_the_spec_byte_by_byte(store_root: Path) -> None:
    result = cli("write", str(store_root), ATTEMPT, "5000", "4096")
    db_path = store_root / ATTEMPT / "shard.db"
    raw = (store_root / ATTEMPT / "shard.sidecar").read_bytes()
    sidecar = sidecar_check.parse(raw)
    assert sidecar.db_tag == result["etag"] == cli("etag", str(store_root), f"{ATTEMPT}/shard.db")["etag"]
    assert sidecar_check.frame_has_checksum(sidecar.frame)
    assert sidecar.body_size > 0
    sidecar_check.check_against_db(sidecar, str(db_path))
    assert len(sidecar.chains) == result["sidecar"]["chains"] > 0
    # Our independent producer builds the same body from dbstat.
    rebuilt = sidecar_check.parse(sidecar_check.build(str(db_path), sidecar.db_tag))
    assert rebuilt.pagenos == sidecar.pagenos and rebuilt.stored_pages == sidecar.stored_pages
    assert rebuilt.chains == sidecar.chains


def write_reference_shard(db_path: Path, rows: int, page_size: int = 4096) -> None:
    """A shard.db built the way the reference's SqliteAdapter builds it (§6)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(db_path), isolation_level=None)
    for pragma in (
        f"PRAGMA page_size = {page_size}",
        "PRAGMA journal_mode = OFF",
        "PRAGMA synchronous = OFF",
        "PRAGMA cache_size = -2000",
        "PRAGMA locking_mode = EXCLUSIVE",
        "PRAGMA temp_store = MEMORY",
    ):
        con.execute(pragma)
    con.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
    con.execute("BEGIN")
    # Unsorted input, as the reference writes it, plus a duplicate (last write wins).
    order = sorted(range(rows), key=lambda i: (i * 7919) % rows)
    con.executemany("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", [(key_of(i), b"old") for i in order[:10]])
    con.executemany("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", [(key_of(i), value_of(i)) for i in order])
    con.execute("COMMIT")
    con.execute("PRAGMA optimize")
    con.close()


@pytest.mark.parametrize("mode", ["download", "range", "range-nosidecar"])
def test_python_written_shard_reads_in_ts(store_root: Path, mode: str) -> None:
    rows = 4000
    db_path = store_root / ATTEMPT / "shard.db"
    write_reference_shard(db_path, rows)
    if mode == "range":
        etag = cli("etag", str(store_root), f"{ATTEMPT}/shard.db")["etag"]
        (store_root / ATTEMPT / "shard.sidecar").write_bytes(sidecar_check.build(str(db_path), etag))
    probe = [0, 1, 13, 26, 500, 1999, 3999, *range(100, 4000, 97)]
    absent = [(1).to_bytes(8, "big"), (rows * 7).to_bytes(8, "big"), b"\x00", b""]
    out = cli("read", str(store_root), ATTEMPT, mode, *[key_of(i).hex() for i in probe], *[k.hex() for k in absent])
    values = out["values"]
    for j, i in enumerate(probe):
        assert values[j] == value_of(i).hex(), i
    assert values[len(probe) :] == [None] * len(absent)
    if mode == "range":
        assert out["sidecar"] == "used"
        # The reference-made sidecar gives the same budget: <= 2 range requests per cold get.
        assert max(out["perGet"]) <= 2
