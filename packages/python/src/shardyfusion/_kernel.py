"""The WASM routing kernel (``packages/kernel/wasm/shardy_kernel.wasm``) driven through wasmtime.

Shard ids are computed over Arrow buffers, never row by row in Python: each chunk of the key
column (values, offsets) is copied into the kernel's memory, described by the 40-byte column
descriptor of ``crates-wasm/kernel/ABI.md`` and routed by ``kernel_route_hash`` in one call.
One ``Kernel`` per thread (a wasmtime store is single-threaded); the compiled module is shared.
"""

from __future__ import annotations

import ctypes
import os
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .errors import ConfigValidationError, ShardyExecutableError

KERNEL_FILE = "shardy_kernel.wasm"
SUPPORTED_ABI_VERSIONS = (1, 2)
DESCRIPTOR_SIZE = 40
#: Rows per kernel call: bounds the scratch memory the kernel needs.
CHUNK_ROWS = 1 << 16
MAX_NUM_DBS = 0x7FFF_FFFF

_TYPE_CODES: dict[Any, int] = {
    pa.int8(): 1,
    pa.int16(): 2,
    pa.int32(): 3,
    pa.int64(): 4,
    pa.uint8(): 5,
    pa.uint16(): 6,
    pa.uint32(): 7,
    pa.uint64(): 8,
    pa.string(): 9,
    pa.large_string(): 10,
    pa.binary(): 11,
    pa.large_binary(): 12,
}
_ERRORS = {
    1: "NULL_KEY: the key is null",
    2: "INT_OUT_OF_RANGE: an unsigned key above 2^63-1 cannot be hashed as a signed 64-bit int",
    3: "NEGATIVE_UNSIGNED",
    4: "U32_OUT_OF_RANGE",
    5: "UNSUPPORTED_TYPE",
    6: "BAD_ARGUMENT",
    7: "BAD_OFFSETS",
    8: "OUTPUT_TOO_SMALL",
    9: "KEY_LENGTH",
}


def kernel_path() -> Path:
    """The kernel: bundled in the package, else ``SHARDY_KERNEL_WASM``, else the repo checkout."""
    here = Path(__file__).resolve().parent
    bundled = here / "_assets" / KERNEL_FILE
    if bundled.is_file():
        return bundled
    env = os.environ.get("SHARDY_KERNEL_WASM")
    if env:
        p = Path(env)
        if not p.is_file():
            raise ShardyExecutableError(f"SHARDY_KERNEL_WASM={env} is not a file; point it at {KERNEL_FILE}")
        return p
    for parent in here.parents:
        candidate = parent / "packages" / "kernel" / "wasm" / KERNEL_FILE
        if candidate.is_file():
            return candidate
    raise ShardyExecutableError(
        f"cannot find the routing kernel {KERNEL_FILE}: install a shardyfusion wheel (it bundles it), "
        "set SHARDY_KERNEL_WASM=/path/to/shardy_kernel.wasm, or build it with `bash scripts/build-wasm`"
    )


_module_lock = threading.Lock()
_module: tuple[Any, Any] | None = None
_local = threading.local()


def _engine_and_module() -> tuple[Any, Any]:
    global _module
    with _module_lock:
        if _module is None:
            import wasmtime

            engine = wasmtime.Engine()
            _module = (engine, wasmtime.Module.from_file(engine, str(kernel_path())))
        return _module


def get_kernel() -> Kernel:
    """This thread's kernel instance (instantiated on first use)."""
    k: Kernel | None = getattr(_local, "kernel", None)
    if k is None:
        k = Kernel()
        _local.kernel = k
    return k


class Kernel:
    def __init__(self) -> None:
        import wasmtime

        engine, module = _engine_and_module()
        self._store = wasmtime.Store(engine)
        instance = wasmtime.Instance(self._store, module, [])
        ex: Any = instance.exports(self._store)
        self._exports: Any = ex
        self._memory: Any = ex["memory"]
        self._alloc: Any = ex["kernel_alloc"]
        self._route_hash: Any = ex["kernel_route_hash"]
        self._error_row: Any = ex["kernel_error_row"]
        self._xxh3: Any = ex["kernel_xxh3"]
        version = ex["kernel_abi_version"](self._store)
        if version not in SUPPORTED_ABI_VERSIONS:
            raise ShardyExecutableError(
                f"kernel ABI version {version} is not supported by this shardyfusion (expects one of "
                f"{SUPPORTED_ABI_VERSIONS}); reinstall matching versions"
            )
        self._blocks: dict[str, tuple[int, int]] = {}

    # -- scratch memory -------------------------------------------------------------------------

    def _block(self, name: str, size: int) -> int:
        """A reusable block of at least ``size`` bytes (grown geometrically, never freed)."""
        ptr, cap = self._blocks.get(name, (0, 0))
        if cap >= size and ptr:
            return ptr
        cap = max(size, cap * 2, 64)
        ptr = int(self._alloc(self._store, cap))
        if ptr == 0:
            raise MemoryError(f"kernel_alloc({cap}) failed")
        self._blocks[name] = (ptr, cap)
        return ptr

    def _base(self) -> int:
        # Re-read after every allocation: the memory may have grown and moved.
        return ctypes.addressof(self._memory.data_ptr(self._store).contents)

    def _copy_in(self, dst: int, address: int, size: int) -> None:
        if size:
            ctypes.memmove(self._base() + dst, address, size)

    # -- routing --------------------------------------------------------------------------------

    def route_hash(self, keys: pa.Array | pa.ChunkedArray, num_dbs: int, what: str = "key column") -> np.ndarray:
        """``xxh3_64(canonical_bytes(key)) % num_dbs`` for every key, as int32."""
        if not (1 <= num_dbs <= MAX_NUM_DBS):
            raise ConfigValidationError(f"num_dbs must be in [1, {MAX_NUM_DBS}], got {num_dbs}", field="num_dbs")
        chunks = keys.chunks if isinstance(keys, pa.ChunkedArray) else [keys]
        out = np.empty(len(keys), dtype=np.int32)
        row = 0
        for chunk in chunks:
            chunk = _normalise(chunk, what)
            for start in range(0, len(chunk), CHUNK_ROWS):
                part = chunk.slice(start, min(CHUNK_ROWS, len(chunk) - start))
                self._route_chunk(part, num_dbs, out[row : row + len(part)], row, what)
                row += len(part)
        return out

    def _route_chunk(self, arr: pa.Array, num_dbs: int, out: np.ndarray, first_row: int, what: str) -> None:
        n = len(arr)
        if n == 0:
            return
        if arr.null_count:
            bad = first_row + int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
            raise ConfigValidationError(
                f"{what} has a null key at row {bad}; every row needs a key", field="input.key_col"
            )
        code = _TYPE_CODES[arr.type]
        bufs = arr.buffers()
        desc = self._block("desc", DESCRIPTOR_SIZE)
        out_ptr = self._block("out", 4 * n)
        if code <= 8:
            width = arr.type.bit_width // 8
            size = n * width
            values = self._block("values", size)
            self._copy_in(values, bufs[1].address + arr.offset * width, size)
            offsets_ptr, values_len, values_base = 0, size, 0
        else:
            owidth = 8 if code in (10, 12) else 4
            ofmt = np.int64 if owidth == 8 else np.int32
            offsets = np.frombuffer(bufs[1], dtype=ofmt, count=n + 1, offset=arr.offset * owidth)
            lo, hi = int(offsets[0]), int(offsets[-1])
            offsets_ptr = self._block("offsets", (n + 1) * owidth)
            values = self._block("values", max(hi - lo, 1))
            self._copy_in(offsets_ptr, bufs[1].address + arr.offset * owidth, (n + 1) * owidth)
            if hi > lo and bufs[2] is not None:
                self._copy_in(values, bufs[2].address + lo, hi - lo)
            values_len, values_base = hi - lo, lo
        descriptor = struct.pack("<IIIIIIIIQ", code, n, values, values_len, offsets_ptr, 0, 0, 0, values_base)
        ctypes.memmove(self._base() + desc, descriptor, DESCRIPTOR_SIZE)
        rc = self._route_hash(self._store, desc, num_dbs, out_ptr)
        if rc != 0:
            row = self._error_row(self._store)
            where = "" if row == 0xFFFFFFFF else f" at row {first_row + row}"
            raise ConfigValidationError(
                f"routing {what} failed{where}: {_ERRORS.get(rc, f'error {rc}')}", field="input.key_col"
            )
        ctypes.memmove(out.ctypes.data, self._base() + out_ptr, 4 * n)

    # -- CEL ----------------------------------------------------------------------------------

    def cel_compile_error(self, expr: str, declarations: dict[str, str]) -> tuple[int, int, str] | None:
        """Compiles ``expr`` with ``name type`` declarations; ``(kind, byte_pos, message)`` on
        failure, None when it compiles (the program is freed again)."""
        ex = self._exports
        if "kernel_cel_compile" not in ex:
            raise ShardyExecutableError(
                "this shardy kernel has no CEL support; rebuild it with `bash scripts/build-wasm`"
            )
        src = expr.encode("utf-8")
        decl = "\n".join(f"{n} {t}" for n, t in declarations.items()).encode("utf-8")
        src_ptr = self._block("cel_src", max(len(src), 1))
        decl_ptr = self._block("cel_decl", max(len(decl), 1))
        ctypes.memmove(self._base() + src_ptr, src, len(src))
        ctypes.memmove(self._base() + decl_ptr, decl, len(decl))
        handle = int(ex["kernel_cel_compile"](self._store, src_ptr, len(src), decl_ptr, len(decl), 0))
        if handle != 0:
            ex["kernel_cel_free"](self._store, handle)
            return None
        kind = int(ex["kernel_cel_error_kind"](self._store))
        pos = int(ex["kernel_cel_error_pos"](self._store))
        ptr = int(ex["kernel_cel_text_ptr"](self._store))
        n = int(ex["kernel_cel_text_len"](self._store))
        message = ctypes.string_at(self._base() + ptr, n).decode("utf-8", "replace")
        return kind, pos, message

    def xxh3(self, data: bytes) -> int:
        """XXH3-64 (seed 0) of ``data`` through the kernel's scalar path."""
        ptr = self._block("scalar", max(len(data), 1))
        ctypes.memmove(self._base() + ptr, data, len(data))
        return int(self._xxh3(self._store, ptr, len(data))) & 0xFFFF_FFFF_FFFF_FFFF


def _normalise(arr: pa.Array, what: str) -> pa.Array:
    """Dictionary keys decoded, bools as int64 (Python ``True`` routes as ``1``), else as is."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_boolean(t):
        return arr.cast(pa.int64())
    if pa.types.is_string_view(t):
        return arr.cast(pa.string())
    if pa.types.is_binary_view(t):
        return arr.cast(pa.binary())
    if t not in _TYPE_CODES:
        raise ConfigValidationError(
            f"{what} has type {t}, which cannot be routed; keys must be integers, strings or bytes",
            field="input.key_col",
        )
    return arr
