"""Where the ``shardy`` executable comes from, and how its typed errors come back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shardyfusion import ShardyExecutableError, ShardyfusionError
from shardyfusion._shardy import _WriteServerPool, error_from_stderr, find_shardy
from shardyfusion.errors import PublishCurrentError, PublishManifestError, ShardWriteError


def test_shardy_bin_then_path_then_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    exe = tmp_path / "bin" / "shardy"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("SHARDY_BIN", str(exe))
    assert find_shardy() == str(exe)
    monkeypatch.setenv("SHARDY_BIN", str(tmp_path / "missing"))
    with pytest.raises(ShardyExecutableError, match=r"SHARDY_BIN=.*missing is not an executable"):
        find_shardy()
    monkeypatch.delenv("SHARDY_BIN")
    monkeypatch.setenv("PATH", str(exe.parent))
    assert find_shardy() == str(exe)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ShardyExecutableError, match="set SHARDY_BIN=/path/to/shardy, or put shardy on PATH"):
        find_shardy()


def test_typed_errors_are_rebuilt_by_name() -> None:
    err = error_from_stderr(
        "publish",
        1,
        'noise\n{"op":"publish","error":"Uploading the manifest failed; nothing was published","error_type":"PublishManifestError"}\n',
    )
    assert isinstance(err, PublishManifestError) and err.retryable
    cur = error_from_stderr(
        "publish",
        1,
        '{"op":"publish","error":"Writing p/_CURRENT failed (x); the manifest is uploaded but not current.",'
        '"error_type":"PublishCurrentError","manifest_ref":"s3://b/p/manifests/t_run_id=r/manifest"}',
    )
    assert isinstance(cur, PublishCurrentError)
    assert cur.manifest_ref == "s3://b/p/manifests/t_run_id=r/manifest"
    assert isinstance(
        error_from_stderr("write-shard", 1, '{"error":"x","error_type":"ShardWriteError"}'), ShardWriteError
    )
    plain = error_from_stderr("write-shard", 134, "Segmentation fault")
    assert isinstance(plain, ShardyExecutableError) and "status 134" in str(plain)


def test_the_session_runs_a_real_executable() -> None:
    real = os.environ["SHARDY_TEST_REAL_BIN"]
    assert Path(real).is_file() and os.access(real, os.X_OK)


def test_a_prestarted_write_server_serves_the_next_call() -> None:
    pool = _WriteServerPool()
    exe = find_shardy()
    try:
        pool.prestart(exe)
        pool.prestart(exe)  # one is starting already: no second one
        [starting] = pool._starting.values()
        pid = starting.result().proc.pid
        with pytest.raises(ShardyfusionError, match="no-such-flag"):
            pool.run(exe, "write-shard", ["--no-such-flag"], b"")
        [idle] = [s for servers in pool._idle.values() for s in servers]
        assert idle.proc.pid == pid
        assert not pool._starting
        pool.prestart(exe)  # one is idle: nothing to start
        assert not pool._starting
    finally:
        pool.close_all()
