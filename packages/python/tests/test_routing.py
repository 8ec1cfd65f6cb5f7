"""The kernel's batch routing over Arrow buffers agrees with the reference vectors and with the
reader-side router (``xxhash`` PyPI) on every supported key type, chunking and slicing."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from shardyfusion import ConfigValidationError
from shardyfusion._kernel import CHUNK_ROWS, get_kernel
from shardyfusion.routing import canonical_bytes, route_hash, xxh3_digest


def test_reference_vectors() -> None:
    k = get_kernel()
    assert list(k.route_hash(pa.array(range(10), pa.int64()), 3)) == [2, 2, 1, 1, 0, 2, 0, 2, 0, 0]
    assert list(k.route_hash(pa.array(range(10), pa.int64()), 2)) == [1, 0, 1, 1, 0, 0, 1, 1, 0, 1]
    assert list(k.route_hash(pa.array(range(32), pa.int64()), 4)) == [
        1, 2, 3, 1, 0, 0, 3, 3, 2, 3, 1, 0, 3, 1, 2, 3, 2, 3, 1, 2, 2, 2, 1, 2, 1, 2, 3, 3, 3, 3, 2, 0,
    ]  # fmt: skip
    assert xxh3_digest(b"") == 0x2D06800538D394C2 == k.xxh3(b"")
    assert xxh3_digest(-1) == 0x5111C7E47D784413
    assert [route_hash(x, 100) for x in ["a", "hello", "ünï", b"\x00\x01", b"abc"]] == [19, 89, 64, 35, 4]
    assert list(k.route_hash(pa.array(["a", "hello", "ünï"]), 100)) == [19, 89, 64]
    assert list(k.route_hash(pa.array([b"\x00\x01", b"abc"]), 100)) == [35, 4]


@pytest.mark.parametrize(
    "arr",
    [
        pa.array([random.randint(-(2**63), 2**63 - 1) for _ in range(3000)], pa.int64()),
        pa.array([random.randint(-(2**31), 2**31 - 1) for _ in range(3000)], pa.int32()),
        pa.array([random.randint(0, 255) for _ in range(3000)], pa.uint8()),
        pa.array([random.randint(0, 2**63 - 1) for _ in range(3000)], pa.uint64()),
        pa.array([f"k{random.random()}é" for _ in range(3000)], pa.string()),
        pa.array([f"k{random.random()}" for _ in range(3000)], pa.large_string()),
        pa.array([random.randbytes(random.randint(0, 40)) for _ in range(3000)], pa.binary()),
        pa.array([random.randbytes(5) for _ in range(3000)], pa.large_binary()),
    ],
    ids=["int64", "int32", "uint8", "uint64", "utf8", "large_utf8", "binary", "large_binary"],
)
def test_kernel_matches_reader_router(arr: pa.Array) -> None:
    sliced = arr.slice(17, 2500)
    got = get_kernel().route_hash(pa.chunked_array([arr.slice(0, 17), sliced]), 13)
    expected = [route_hash(v, 13) for v in arr.slice(0, 17 + 2500).to_pylist()]
    assert got.tolist() == expected


def test_large_input_is_routed_in_chunks() -> None:
    n = CHUNK_ROWS * 2 + 5
    keys = np.arange(n, dtype=np.int64) * 7919
    got = get_kernel().route_hash(pa.array(keys), 16)
    sample = range(0, n, 997)
    assert [int(got[i]) for i in sample] == [route_hash(int(keys[i]), 16) for i in sample]


def test_bad_keys_are_config_errors() -> None:
    with pytest.raises(ConfigValidationError, match="null key at row 2"):
        get_kernel().route_hash(pa.array([1, 2, None]), 4)
    with pytest.raises(ConfigValidationError, match="cannot be routed"):
        get_kernel().route_hash(pa.array([1.5]), 4)
    with pytest.raises(ConfigValidationError, match="INT_OUT_OF_RANGE"):
        get_kernel().route_hash(pa.array([2**63], pa.uint64()), 4)
    with pytest.raises(ConfigValidationError, match="outside the signed 64-bit range"):
        canonical_bytes(2**63)
    assert canonical_bytes(True) == canonical_bytes(1)
    assert get_kernel().route_hash(pa.array([True, False]), 7).tolist() == [route_hash(1, 7), route_hash(0, 7)]
