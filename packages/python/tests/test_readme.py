"""The README's Dask and Ray minimal examples run as written against MinIO, with credentials and
endpoint from the environment, reading `s3://lake/users/` and publishing to `s3://my-bucket/...`."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
ROWS = 500


def example(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"<!-- example: {re.escape(name)} -->\s*```python\n(.*?)```", text, re.S)
    assert m, f"README has no example {name!r}"
    return m.group(1)


def with_config(full: str, config_block: str) -> str:
    """The full example with its config replaced by a backend variant (as the README says to)."""
    head, sep, tail = full.partition("result = write_hash_sharded(")
    assert sep
    return head + config_block + "\n" + sep + tail


@pytest.fixture(scope="module")
def s3_env(minio: Any) -> dict[str, str]:
    fs = minio.filesystem()
    for bucket in ("lake", "my-bucket"):
        with contextlib.suppress(OSError):  # already there
            fs.create_dir(bucket)
    table = pa.table(
        {"id": pa.array(range(ROWS), pa.int64()), "payload": pa.array([f"user-{i}".encode() for i in range(ROWS)])}
    )
    with fs.open_output_stream("lake/users/part-0.parquet") as f:
        pq.write_table(table, f)
    env = dict(os.environ)
    env.update(
        {
            "AWS_ENDPOINT_URL": minio.endpoint,
            "AWS_ACCESS_KEY_ID": minio.access_key,
            "AWS_SECRET_ACCESS_KEY": minio.secret_key,
            "AWS_REGION": minio.region,
            "AWS_DEFAULT_REGION": minio.region,
        }
    )
    return env


def run_example(code: str, env: dict[str, str], tmp_path: Path) -> str:
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-4000:]
    ref = out.stdout.strip().splitlines()[-1]
    return ref


def check(ref: str, prefix: str, env: dict[str, str]) -> None:
    assert ref.startswith(f"{prefix}/manifests/")
    keys = [0, 7, 123, ROWS - 1]
    cmd = [
        os.environ["SHARDY_TEST_REAL_BIN"],
        "--current-url",
        f"{prefix}/_CURRENT",
        "-o",
        "jsonl",
        "--value-encoding",
        "utf8",
        "multiget",
        *map(str, keys),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout.strip().splitlines()[-1])["results"]
    assert [(r["found"], r["value"]) for r in results] == [(True, f"user-{k}") for k in keys]


def test_dask_examples(s3_env: dict[str, str], tmp_path: Path) -> None:
    ref = run_example(example("dask"), s3_env, tmp_path)
    check(ref, "s3://my-bucket/snapshots/users", s3_env)
    ref = run_example(with_config(example("dask"), example("dask-sqlite")), s3_env, tmp_path)
    check(ref, "s3://my-bucket/snapshots/users-sqlite", s3_env)


def test_ray_examples(s3_env: dict[str, str], tmp_path: Path) -> None:
    ref = run_example(example("ray"), s3_env, tmp_path)
    check(ref, "s3://my-bucket/snapshots/users", s3_env)
    ref = run_example(with_config(example("ray"), example("ray-sqlite")), s3_env, tmp_path)
    check(ref, "s3://my-bucket/snapshots/users-sqlite", s3_env)
