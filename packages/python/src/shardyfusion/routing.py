"""The reader-side hash router, independent of the kernel: the ``xxhash`` PyPI package over the
reference's ``canonical_bytes``. ``verify_routing`` recomputes sampled rows with it."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import xxhash

from .errors import ConfigValidationError, ShardAssignmentError

#: Rows ``verify_routing`` samples.
VERIFY_SAMPLE_ROWS = 20


def canonical_bytes(key: Any) -> bytes:
    """bytes as is; str as UTF-8; int (bool included) as 8-byte signed little-endian."""
    if isinstance(key, bytes):
        return key
    if isinstance(key, (bytearray, memoryview)):
        return bytes(key)
    if isinstance(key, str):
        return key.encode("utf-8")
    if hasattr(key, "item") and not isinstance(key, (list, tuple)):
        key = key.item()  # numpy scalars
        return canonical_bytes(key)
    if isinstance(key, int):
        if not -(2**63) <= key <= 2**63 - 1:
            raise ConfigValidationError(f"int key {key} is outside the signed 64-bit range; it cannot be routed")
        return struct.pack("<q", int(key))
    raise ConfigValidationError(f"key {key!r} of type {type(key).__name__} cannot be routed; use int, str or bytes")


def xxh3_digest(key: Any) -> int:
    return int(xxhash.xxh3_64_intdigest(canonical_bytes(key), seed=0))


def route_hash(key: Any, num_dbs: int) -> int:
    """``xxh3_64(canonical_bytes(key), seed=0) % num_dbs``."""
    if num_dbs <= 0:
        raise ValueError(f"num_dbs must be > 0, got {num_dbs}")
    return xxh3_digest(key) % num_dbs


def verify_hash_routing(sample: Iterable[tuple[Any, Any]], num_dbs: int) -> int:
    """Checks writer-assigned ids of ``(key, db_id)`` rows; returns the rows checked.

    Raises ``ShardAssignmentError`` on any mismatch or out-of-range id.
    """
    rows = list(sample)
    bad: list[tuple[Any, Any, int]] = []
    for key, db_id in rows:
        expected = route_hash(key, num_dbs)
        got = int(db_id) if db_id is not None else None
        if got != expected:
            bad.append((key, db_id, expected))
    if bad:
        key, got, expected = bad[0]
        raise ShardAssignmentError(
            f"Shard routing mismatch in {len(bad)}/{len(rows)} sampled rows: key {key!r} was assigned shard "
            f"{got} by the writer but the reader routes it to shard {expected} (num_dbs={num_dbs}). This is a "
            "bug in a routing change; nothing was written. Do not silence it by disabling verify_routing"
        )
    return len(rows)


__all__ = ["VERIFY_SAMPLE_ROWS", "canonical_bytes", "route_hash", "verify_hash_routing", "xxh3_digest"]
