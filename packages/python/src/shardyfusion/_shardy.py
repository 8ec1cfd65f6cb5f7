"""Finding and running the ``shardy`` executable (shard writes and publishing live there).

Lookup order: the copy bundled in the installed package (``shardyfusion/_bin/shardy``, put there
by ``scripts/build-wheel``), else ``$SHARDY_BIN``, else ``shardy`` on ``PATH``. Failures come
back as one JSON record on stderr (``{"op","error","error_type"}``) and are re-raised as the
Python class of the same name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import (
    PublishCurrentError,
    ShardyExecutableError,
    ShardyfusionError,
    error_class_for,
)

_MANIFEST_IN_MESSAGE = re.compile(r"the manifest (\S+) is uploaded")


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
            m = _MANIFEST_IN_MESSAGE.search(message)
            return PublishCurrentError(message, manifest_ref=m.group(1) if m else None)
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
    out, err_bytes = proc.communicate(input=stdin if stdin is not None else b"")
    if proc.returncode != 0:
        raise error_from_stderr(op, proc.returncode, err_bytes.decode("utf-8", "replace"))
    return str(out.decode("utf-8"))
