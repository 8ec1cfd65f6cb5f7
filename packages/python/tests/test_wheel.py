"""The wheel bundles the shardy executable and the kernel, and an installed wheel uses them with
no SHARDY_BIN and no shardy on PATH: a Dask build runs from it end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

SCRIPT = r"""
import os, sys, pandas as pd, dask, dask.dataframe as dd
import shardyfusion
from shardyfusion._shardy import find_shardy
from shardyfusion._kernel import kernel_path
from shardyfusion import ColumnWriteInput, HashShardedWriteConfig, ValueSpec
from shardyfusion.sqlite_adapter import SqliteFactory
from shardyfusion.writer.dask import write_hash_sharded
target = sys.argv[1]
assert shardyfusion.__file__.startswith(target), shardyfusion.__file__
assert find_shardy().startswith(target), find_shardy()
assert str(kernel_path()).startswith(target), kernel_path()
pdf = pd.DataFrame({"id": range(100), "payload": [b"v%d" % i for i in range(100)]})
with dask.config.set(scheduler="sync"):
    r = write_hash_sharded(
        dd.from_pandas(pdf, npartitions=2),
        HashShardedWriteConfig(num_dbs=4, s3_prefix="file://" + sys.argv[2], adapter_factory=SqliteFactory()),
        ColumnWriteInput(key_col="id", value_spec=ValueSpec.binary_col("payload")),
    )
assert r.stats.rows_written == 100 and len(r.winners) == 4
print(r.manifest_ref.ref)
"""


def test_installed_wheel_runs_with_its_bundled_executable(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{REPO / '.tools' / 'node_modules' / '.bin'}:/usr/bin:/bin"}
    built = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-wheel"), "--outdir", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = Path(built.stdout.strip().splitlines()[-1])
    assert wheel.name.startswith("shardyfusion-0.1.0-py3-none-")
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr
    run_env = {k: v for k, v in os.environ.items() if k not in ("SHARDY_BIN", "SHARDY_KERNEL_WASM")}
    run_env["PATH"] = "/usr/bin:/bin"
    run_env["PYTHONPATH"] = str(target)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(target), str(tmp_path / "snap")],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=600,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().startswith(f"file://{tmp_path}/snap/manifests/")
