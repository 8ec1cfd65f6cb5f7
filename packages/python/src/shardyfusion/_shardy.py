"""Finding and running the ``shardy`` executable (shard writes and publishing live there).

Lookup order: the copy bundled in the installed package (``shardyfusion/_bin/shardy``, put there
by ``scripts/build-wheel``), else ``$SHARDY_BIN``, else ``shardy`` on ``PATH``. Failures come
back as one JSON record on stderr (``{"op","error","error_type"}``) and are re-raised as the
Python class of the same name.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import hashlib
import json
import os
import shutil
import struct
import subprocess
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from .errors import (
    PublishCurrentError,
    ShardyExecutableError,
    ShardyfusionError,
    error_class_for,
)


def find_shardy() -> str:
    bundled = Path(__file__).resolve().parent / "_bin" / "shardy"
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return str(bundled)
    env = os.environ.get("SHARDY_BIN")
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise ShardyExecutableError(
                f"SHARDY_BIN={env} is not an executable file; point it at the shardy executable"
            )
        return env
    on_path = shutil.which("shardy")
    if on_path:
        return on_path
    raise ShardyExecutableError(
        "cannot find the shardy executable: install a shardyfusion wheel (it bundles shardy), set "
        "SHARDY_BIN=/path/to/shardy, or put shardy on PATH (build it with `bash scripts/build-shardy`)"
    )


def _death_signal_prefix() -> list[str]:
    """``setpriv --pdeathsig KILL``: the child dies with the worker that started it, so a killed
    worker never leaves a shard writer running that could upload after the engine's retry."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def error_from_stderr(op: str, returncode: int, stderr: str) -> ShardyfusionError:
    """The typed error a failed ``shardy`` run reported (its last JSON record on stderr)."""
    for line in reversed(stderr.strip().splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or "error" not in record:
            continue
        message = str(record["error"])
        name = str(record.get("error_type") or "")
        cls = error_class_for(name)
        if cls is PublishCurrentError:
            ref = record.get("manifest_ref")
            return PublishCurrentError(message, manifest_ref=str(ref) if ref else None)
        if cls is not None:
            return cls(message)
        return ShardyExecutableError(f"shardy {op} failed ({name or 'error'}): {message}")
    tail = stderr.strip()[-2000:] or "(no output)"
    return ShardyExecutableError(f"shardy {op} exited with status {returncode}: {tail}")


def run_shardy(
    executable: str,
    op: str,
    args: Sequence[str],
    stdin: Any = None,
    env: dict[str, str] | None = None,
) -> str:
    """Runs ``shardy <op> args...`` with ``stdin`` bytes; returns stdout or raises the typed error."""
    data = stdin if stdin is not None else b""
    return run_shardy_feeding(executable, op, args, lambda sink: sink.write(data), env=env)


def run_shardy_feeding(
    executable: str,
    op: str,
    args: Sequence[str],
    feed: Callable[[IO[bytes]], Any],
    env: dict[str, str] | None = None,
) -> str:
    """Runs ``shardy <op> args...`` while ``feed`` writes its stdin (streamed as it is produced,
    never held whole); returns stdout or raises the typed error."""
    cmd = [*_death_signal_prefix(), executable, "-o", "jsonl", op, *args]
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
    except OSError as err:
        raise ShardyExecutableError(f"cannot run {executable}: {err}") from err
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    # Both outputs drained on their own threads: a full pipe never stalls the feeding.
    out: list[bytes] = []
    err_out: list[bytes] = []
    drains = [
        threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=lambda: err_out.append(proc.stderr.read()), daemon=True),  # type: ignore[union-attr]
    ]
    for t in drains:
        t.start()
    feed_error: BaseException | None = None
    try:
        feed(proc.stdin)
    except OSError as err:
        # shardy stopped reading (it failed): its exit status and stderr say why.
        feed_error = err
    except BaseException as err:
        # Closing stdin mid-stream leaves shardy without the end-of-stream marker: it fails too.
        feed_error = err
        raise
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        for t in drains:
            t.join()
        proc.wait()
    stderr = b"".join(err_out).decode("utf-8", "replace")
    if proc.returncode != 0:
        raise error_from_stderr(op, proc.returncode, stderr)
    if feed_error is not None:
        raise ShardyExecutableError(f"writing to shardy {op} failed: {feed_error}") from feed_error
    return b"".join(out).decode("utf-8")


class _WriteServer:
    """One ``shardy write-server`` process: ``write-shard`` calls as framed requests on its stdin,
    one JSON response line each (see ``packages/cli/src/commands/write-server.ts``)."""

    def __init__(self, executable: str) -> None:
        cmd = [*_death_signal_prefix(), executable, "write-server"]
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as err:
            raise ShardyExecutableError(f"cannot run {executable}: {err}") from err
        # The server's own stderr (a crash report), drained so it never blocks; the tail is kept.
        self._stderr: collections.deque[bytes] = collections.deque(maxlen=64)
        stderr = self.proc.stderr
        assert stderr is not None
        threading.Thread(target=lambda: self._stderr.extend(stderr), daemon=True).start()

    def request(self, argv: Sequence[str], body: Any) -> tuple[int, str, str]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        header = json.dumps({"argv": list(argv)}).encode("utf-8")
        view = memoryview(body)
        try:
            stdin.write(struct.pack("<I", len(header)) + header + struct.pack("<Q", view.nbytes))
            stdin.write(view)
            stdin.flush()
        except OSError:
            pass  # the server died: the missing response below says so, with its stderr
        line = stdout.readline()
        if not line:
            self.close()
            tail = b"".join(self._stderr).decode("utf-8", "replace").strip()[-2000:] or "(no output)"
            raise ShardyExecutableError(
                f"shardy write-server exited (status {self.proc.returncode}) before answering: {tail}"
            )
        record = json.loads(line)
        return int(record["code"]), str(record["stdout"]), str(record["stderr"])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _WriteServerPool:
    """Idle write servers per executable and environment, reused across partitions and builds of
    this process (an engine worker). A changed environment (e.g. rotated credentials) gets new
    servers; every server ends with this process (stdin closed, or ``pdeathsig``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str], list[_WriteServer]] = {}
        # A server being started ahead of its first request (``prestart``), per key.
        self._starting: dict[tuple[str, str], Future[_WriteServer]] = {}
        self._pid = os.getpid()
        # Servers are started from this one long-lived thread: `pdeathsig` fires when the thread
        # that started a child ends, and engines run tasks on threads that come and go.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shardy-write-server")
        atexit.register(self.close_all)

    def prestart(self, executable: str) -> None:
        """Starts a server in the background unless one is idle or starting: its start-up then
        overlaps the caller's work (e.g. routing and shuffling before this worker's first write)."""
        key = (executable, _environment_key())
        with self._lock:
            stale = self._only_key(key)
            if not self._idle[key] and key not in self._starting:
                self._starting[key] = self._spawner.submit(_WriteServer, executable)
        _close_all(stale)

    def run(self, executable: str, op: str, args: Sequence[str], body: Any) -> str:
        key = (executable, _environment_key())
        with self._lock:
            stale = self._only_key(key)
            server = self._idle[key].pop() if self._idle[key] else None
            starting = self._starting.pop(key, None) if server is None else None
        _close_all(stale)
        if server is None:
            server = (starting or self._spawner.submit(_WriteServer, executable)).result()
        try:
            code, out, err = server.request(["-o", "jsonl", op, *args], body)
        except BaseException:
            server.close()
            raise
        with self._lock:
            self._idle.setdefault(key, []).append(server)
        if code != 0:
            raise error_from_stderr(op, code, err)
        return out

    def _only_key(self, key: tuple[str, str]) -> list[Future[_WriteServer]]:
        """Keeps only ``key``'s servers (under the lock): servers started under another executable
        or environment will not be asked again; those are returned to be closed."""
        if self._pid != os.getpid():
            # A forked child: the parent's servers (and their pipes) stay the parent's.
            self._idle, self._starting, self._pid = {}, {}, os.getpid()
            self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shardy-write-server")
        stale = [_done(s) for k, idle in self._idle.items() if k != key for s in idle]
        stale += [f for k, f in self._starting.items() if k != key]
        self._idle = {key: self._idle.get(key, [])}
        self._starting = {k: f for k, f in self._starting.items() if k == key}
        return stale

    def close_all(self) -> None:
        with self._lock:
            servers = [_done(s) for idle in self._idle.values() for s in idle] + list(self._starting.values())
            self._idle.clear()
            self._starting.clear()
        _close_all(servers)


def _done(server: _WriteServer) -> Future[_WriteServer]:
    future: Future[_WriteServer] = Future()
    future.set_result(server)
    return future


def _close_all(servers: Sequence[Future[_WriteServer]]) -> None:
    """Closes servers, those still starting once started (a failed start has nothing to close)."""
    for future in servers:
        future.add_done_callback(_close_started)


def _close_started(future: Future[_WriteServer]) -> None:
    if future.exception() is None:
        future.result().close()


def _environment_key() -> str:
    return hashlib.sha256(json.dumps(sorted(os.environ.items())).encode("utf-8")).hexdigest()


_POOL = _WriteServerPool()


def prestart_warm_server(executable: str) -> None:
    """Starts this process's next ``write-server`` in the background (no-op when one is idle or
    starting), so a later ``run_shardy_warm`` finds it started."""
    _POOL.prestart(executable)


def run_shardy_warm(executable: str, op: str, args: Sequence[str], body: Any) -> str:
    """``shardy <op> args...`` with ``body`` as its stdin, run by a warm ``write-server`` of this
    process (started on first use, then reused): returns stdout or raises the typed error."""
    return _POOL.run(executable, op, args, body)
