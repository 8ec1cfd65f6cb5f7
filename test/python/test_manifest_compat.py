"""TS-built manifests and _CURRENT, checked with Python's sqlite3 + json the way the reference reads them.

Runs `bun packages/core/test/fixtures/emit-manifest.ts OUT` (bun from .tools/, as scripts/setup
installs it) and checks every column against the reference format spec §3.1/§3.2.
"""

import json
import re
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

# The spec's DDL, written once: the stdlib fixture that builds reference-style manifests owns it.
from fixtures.make_manifest import BUILD_META_DDL, SHARDS_DDL

ROOT = Path(__file__).resolve().parents[2]
BUN = ROOT / ".tools" / "node_modules" / ".bin" / "bun"

PYDANTIC_DT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")
VARIANTS = ["hash", "cel_categorical", "cel_direct", "bytes_keys"]


@pytest.fixture(scope="module")
def emitted(tmp_path_factory):
    if not BUN.exists():
        pytest.fail(f"bun not found at {BUN}: run `bash scripts/setup` first")
    out = tmp_path_factory.mktemp("ts-manifests")
    proc = subprocess.run(
        [str(BUN), "packages/core/test/fixtures/emit-manifest.ts", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        pytest.fail(f"emit-manifest.ts failed ({proc.returncode}):\n{proc.stderr}")
    return out, json.loads((out / "expected.json").read_text())


def open_manifest(out: Path, name: str) -> sqlite3.Connection:
    payload = (out / f"{name}.manifest").read_bytes()
    assert payload[:16] == b"SQLite format 3\x00"
    con = sqlite3.connect(":memory:")
    con.deserialize(payload)
    con.row_factory = sqlite3.Row
    return con


def canonical(text: str) -> str:
    return json.dumps(json.loads(text), sort_keys=True)


def key_value(described):
    if described is None:
        return None
    if "int" in described:
        return int(described["int"])
    if "str" in described:
        return described["str"]
    return bytes.fromhex(described["bytes"])


def reference_key_column(value):
    """What the reference writes for a key: json.dumps of the value, bytes as their UTF-8 string."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None  # the reference would crash; shardy writes NULL and keeps the bytes in custom
    return json.dumps(value)


@pytest.mark.parametrize("name", VARIANTS)
def test_schema_is_exactly_the_reference_ddl(emitted, name):
    out, _ = emitted
    con = open_manifest(out, name)
    tables = dict(con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
    assert tables == {"build_meta": BUILD_META_DDL, "shards": SHARDS_DDL}
    assert con.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("name", VARIANTS)
def test_build_meta_row(emitted, name):
    out, expected = emitted
    want = expected[name]
    con = open_manifest(out, name)
    rows = con.execute("SELECT * FROM build_meta").fetchall()
    assert len(rows) == 1
    row = rows[0]
    assert row["run_id"] == want["run_id"]
    assert PYDANTIC_DT.match(row["created_at"]), row["created_at"]
    datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))
    assert type(row["num_dbs"]) is int and row["num_dbs"] == want["num_dbs"]
    assert row["s3_prefix"] == "s3://bucket/prefix"
    assert row["key_col"] == want["key_col"]
    assert row["db_path_template"] == "db={db_id:05d}"
    assert row["shard_prefix"] == "shards"
    assert type(row["format_version"]) is int and row["format_version"] == 4
    assert row["key_encoding"] == want["key_encoding"]
    for column in ("sharding", "custom"):
        assert row[column] == canonical(row[column]), column
        assert row[column].isascii(), column

    sharding = json.loads(row["sharding"])
    assert set(sharding) == {"cel_columns", "cel_expr", "hash_algorithm", "routing_values", "strategy"}
    assert sharding["hash_algorithm"] == "xxh3_64"
    assert sharding["strategy"] == want["strategy"]
    assert sharding["cel_expr"] == want["cel_expr"]
    assert sharding["cel_columns"] == want["cel_columns"]
    if sharding["strategy"] == "hash":
        assert sharding["routing_values"] is None and sharding["cel_expr"] is None
    rv = sharding["routing_values"]
    if rv is not None:
        # sharding_types.validate_routing_values + the categorical cardinality rule
        assert all(v is not None and not isinstance(v, bool) for v in rv)
        assert len({type(v) for v in rv}) <= 1 and all(isinstance(v, (int, str)) for v in rv)
        assert len(set(rv)) == len(rv)
        assert row["num_dbs"] == max(1, len(rv))


@pytest.mark.parametrize("name", VARIANTS)
def test_shard_rows(emitted, name):
    out, expected = emitted
    want = expected[name]
    con = open_manifest(out, name)
    num_dbs = con.execute("SELECT num_dbs FROM build_meta").fetchone()[0]
    rows = con.execute("SELECT * FROM shards ORDER BY db_id").fetchall()
    assert len(rows) == len(want["shards"]) <= num_dbs
    for row, w in zip(rows, want["shards"], strict=True):
        assert 0 <= row["db_id"] < num_dbs and row["db_id"] == w["db_id"]
        for column in ("db_url", "attempt", "row_count", "db_bytes", "checkpoint_id"):
            assert row[column] == w[column], column
        for column in ("attempt", "row_count", "db_bytes"):
            assert type(row[column]) is int
        assert row["writer_info"] == canonical(row["writer_info"])
        info = json.loads(row["writer_info"])
        assert set(info) == {"attempt", "duration_ms", "stage_id", "task_attempt_id"}
        assert info["attempt"] == w["attempt"]
        for column in ("min_key", "max_key"):
            assert row[column] == reference_key_column(key_value(w[column])), column
            if row[column] is not None:
                assert json.dumps(json.loads(row[column])) == row[column]


def test_u64_keys_beyond_2_pow_53_are_exact(emitted):
    out, _ = emitted
    con = open_manifest(out, "hash")
    keys = [
        (json.loads(a), json.loads(b)) for a, b in con.execute("SELECT min_key, max_key FROM shards ORDER BY db_id")
    ]
    assert keys == [(1, 2**53 + 1), (2**63, 2**64 - 1)]


def test_custom_keeps_floats_and_unicode(emitted):
    out, _ = emitted
    con = open_manifest(out, "hash")
    custom = json.loads(con.execute("SELECT custom FROM build_meta").fetchone()[0])
    assert custom["owner"] == "Zoë 😀"
    assert isinstance(custom["ratio"], float) and custom["ratio"] == 1.0
    assert custom["tiny"] == 1.5e-7
    assert custom["sqlite_sidecar"] == {
        "codec": "zstd",
        "filename": "shard.sidecar",
        "format_version": 8,
        "page_size": 4096,
    }


def test_bytes_are_reference_readable_and_exact_in_custom(emitted):
    out, expected = emitted
    want = expected["bytes_keys"]
    con = open_manifest(out, "bytes_keys")
    sharding = json.loads(con.execute("SELECT sharding FROM build_meta").fetchone()[0])
    assert sharding["routing_values"] == ["tag-a", "tag-ü"]  # what the reference itself would write
    ext = json.loads(con.execute("SELECT custom FROM build_meta").fetchone()[0])["shardy_bytes"]
    assert [bytes.fromhex(h) for h in ext["routing_values_hex"]] == [key_value(v) for v in want["routing_values"]]
    for w in want["shards"]:
        bounds = ext["key_bounds_hex"][str(w["db_id"])]
        assert bytes.fromhex(bounds["min_key"]) == key_value(w["min_key"])
        assert bytes.fromhex(bounds["max_key"]) == key_value(w["max_key"])


def test_current_pointer(emitted):
    out, expected = emitted
    raw = (out / "_CURRENT").read_bytes()
    text = raw.decode("utf-8")
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    pointer = json.loads(text)
    want = expected["_CURRENT"]
    assert pointer == {
        "format_version": 1,
        "manifest_content_type": "application/x-sqlite3",
        "manifest_ref": want["manifest_ref"],
        "run_id": want["run_id"],
        "updated_at": want["updated_at"],
    }
    assert re.search(
        r"/manifests/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z_run_id=ts-hash/manifest$", pointer["manifest_ref"]
    )
