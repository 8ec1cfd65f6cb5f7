"""Test stand-in for ``shardy write-server`` (run by fault-shardy.sh): relays each framed request
to the real server, except a request for the shard named in ``$SHARDY_TEST_FAULT_DIR/kill.plan``
("<db_id> <max_kills>"): then it SIGKILLs its parent, the engine worker (a worker dying
mid-write), at most <max_kills> times. The plan is read per request: a warm server outlives tests."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO


def read_exact(stream: BinaryIO, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def planned_kill(argv: list[str]) -> bool:
    fault_dir = os.environ.get("SHARDY_TEST_FAULT_DIR")
    plan = Path(fault_dir or "/nonexistent") / "kill.plan"
    if not fault_dir or not plan.is_file():
        return False
    db, most = (int(x) for x in plan.read_text().split())
    ids = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--db-id", "--db-ids")), "")
    if str(db) not in ids.split(","):
        return False
    return len(list(Path(fault_dir).glob("killed.*"))) < most


def main() -> int:
    real = os.environ["SHARDY_TEST_REAL_BIN"]
    server = subprocess.Popen([real, *sys.argv[1:]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert server.stdin is not None and server.stdout is not None
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = read_exact(inp, 4)
        if len(head) < 4:
            break
        header = read_exact(inp, struct.unpack("<I", head)[0])
        size = read_exact(inp, 8)
        body = read_exact(inp, struct.unpack("<Q", size)[0])
        if planned_kill(json.loads(header)["argv"]):
            (Path(os.environ["SHARDY_TEST_FAULT_DIR"]) / f"killed.{os.getpid()}").touch()
            os.kill(os.getppid(), signal.SIGKILL)
            return 137
        server.stdin.write(head + header + size + body)
        server.stdin.flush()
        out.write(server.stdout.readline())
        out.flush()
    server.stdin.close()
    return server.wait()


if __name__ == "__main__":
    sys.exit(main())
