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
from dataclasses import dataclass
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

            engine = wasmtime.Engine(_engine_config())
            _module = (engine, wasmtime.Module.from_file(engine, str(kernel_path())))
        return _module


def _engine_config() -> Any:
    """wasmtime's compilation cache (``~/.cache/wasmtime``, keyed by module and wasmtime version):
    every engine worker process routes, and compiling the kernel costs ~0.3 s of CPU each time;
    without a usable cache directory, plain compilation."""
    import wasmtime

    config = wasmtime.Config()
    try:
        config.cache = True
    except Exception:  # e.g. no writable home: compile every time
        config = wasmtime.Config()
    return config


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
        desc = self._block("desc", DESCRIPTOR_SIZE)
        descriptor = self._stage_column(arr, _TYPE_CODES[arr.type], "")
        out_ptr = self._block("out", 4 * n)
        ctypes.memmove(self._base() + desc, descriptor, DESCRIPTOR_SIZE)
        rc = self._route_hash(self._store, desc, num_dbs, out_ptr)
        if rc != 0:
            row = self._error_row(self._store)
            where = "" if row == 0xFFFFFFFF else f" at row {first_row + row}"
            raise ConfigValidationError(
                f"routing {what} failed{where}: {_ERRORS.get(rc, f'error {rc}')}", field="input.key_col"
            )
        ctypes.memmove(out.ctypes.data, self._base() + out_ptr, 4 * n)

    def _stage_column(self, arr: pa.Array, code: int, slot: str) -> bytes:
        """Copies one Arrow array's buffers into kernel blocks named after ``slot``; its descriptor."""
        n = len(arr)
        bufs = arr.buffers()
        values_bit_offset = 0
        if code == 15:  # bool: bit-packed values
            first, values_bit_offset = divmod(arr.offset, 8)
            size = (values_bit_offset + n + 7) // 8
            values = self._block(slot + "values", max(size, 1))
            self._copy_in(values, bufs[1].address + first, size)
            offsets_ptr, values_len, values_base = 0, size, 0
        elif code <= 8 or code in (13, 14):
            width = arr.type.bit_width // 8
            size = n * width
            values = self._block(slot + "values", max(size, 1))
            self._copy_in(values, bufs[1].address + arr.offset * width, size)
            offsets_ptr, values_len, values_base = 0, size, 0
        else:
            owidth = 8 if code in (10, 12) else 4
            ofmt = np.int64 if owidth == 8 else np.int32
            offsets = np.frombuffer(bufs[1], dtype=ofmt, count=n + 1, offset=arr.offset * owidth)
            lo, hi = int(offsets[0]), int(offsets[-1])
            offsets_ptr = self._block(slot + "offsets", (n + 1) * owidth)
            values = self._block(slot + "values", max(hi - lo, 1))
            self._copy_in(offsets_ptr, bufs[1].address + arr.offset * owidth, (n + 1) * owidth)
            if hi > lo and bufs[2] is not None:
                self._copy_in(values, bufs[2].address + lo, hi - lo)
            values_len, values_base = hi - lo, lo
        validity_ptr, validity_bit_offset = 0, 0
        if arr.null_count and bufs[0] is not None:
            first, validity_bit_offset = divmod(arr.offset, 8)
            size = (validity_bit_offset + n + 7) // 8
            validity_ptr = self._block(slot + "validity", size)
            self._copy_in(validity_ptr, bufs[0].address + first, size)
        return struct.pack(
            "<IIIIIIIIQ",
            code,
            n,
            values,
            values_len,
            offsets_ptr,
            validity_ptr,
            validity_bit_offset,
            values_bit_offset,
            values_base,
        )

    # -- CEL ----------------------------------------------------------------------------------

    def cel_compile_error(
        self, expr: str, declarations: dict[str, str], keep: bool = False
    ) -> tuple[int, int, str] | int | None:
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
            if keep:
                return handle
            ex["kernel_cel_free"](self._store, handle)
            return None
        kind = int(ex["kernel_cel_error_kind"](self._store))
        pos = int(ex["kernel_cel_error_pos"](self._store))
        ptr = int(ex["kernel_cel_text_ptr"](self._store))
        n = int(ex["kernel_cel_text_len"](self._store))
        message = ctypes.string_at(self._base() + ptr, n).decode("utf-8", "replace")
        return kind, pos, message

    def _cel_text(self) -> bytes:
        ex = self._exports
        ptr = int(ex["kernel_cel_text_ptr"](self._store))
        n = int(ex["kernel_cel_text_len"](self._store))
        return ctypes.string_at(self._base() + ptr, n)

    def cel_program(self, expr: str, declarations: dict[str, str], routing: bytes | None) -> int:
        """A compiled program's handle, cached per (expression, columns, routing tokens)."""
        cache: dict[tuple[str, tuple[tuple[str, str], ...], bytes | None], int] = self.__dict__.setdefault(
            "_cel_programs", {}
        )
        key = (expr, tuple(declarations.items()), routing)
        handle = cache.get(key)
        if handle is not None:
            return handle
        failure = self.cel_compile_error(expr, declarations, keep=True)
        if not isinstance(failure, int):
            kind, _pos, message = failure or (0, 0, "no program")
            raise ConfigValidationError(
                f"CEL expression {expr!r} does not compile ({kind}): {message}", field="cel_expr"
            )
        handle = failure
        if routing is not None:
            ptr = self._block("cel_routing", max(len(routing), 1))
            ctypes.memmove(self._base() + ptr, routing, len(routing))
            rc = int(self._exports["kernel_cel_set_routing"](self._store, handle, ptr, len(routing)))
            if rc != 0:
                raise ConfigValidationError(
                    f"the kernel refused routing_values (code {rc}): {self._cel_text().decode('utf-8', 'replace')}",
                    field="routing_values",
                )
        cache[key] = handle
        return handle

    def cel_route_batch(self, handle: int, arrays: list[pa.Array]) -> np.ndarray:
        """Shard ids of every row (int32; ``-1`` = a categorical token not in ``routing_values``).
        ``arrays`` are the declared columns, in declaration order, of equal length, one chunk each."""
        n = len(arrays[0]) if arrays else 0
        out = np.empty(n, dtype=np.int32)
        for start in range(0, n, CHUNK_ROWS):
            rows = min(CHUNK_ROWS, n - start)
            parts = [a.slice(start, rows) for a in arrays]
            descs = b"".join(self._stage_column(part, _cel_type_code(part), f"cel{i}_") for i, part in enumerate(parts))
            desc_ptr = self._block("cel_descs", max(len(descs), DESCRIPTOR_SIZE))
            out_ptr = self._block("cel_out", 4 * rows)
            ctypes.memmove(self._base() + desc_ptr, descs, len(descs))
            rc = int(self._exports["kernel_cel_route_batch"](self._store, handle, desc_ptr, len(parts), rows, out_ptr))
            if rc != 0:
                row = int(self._error_row(self._store))
                raise CelEvalError(rc, None if row == 0xFFFFFFFF else start + row, self._cel_failure(rc))
            ctypes.memmove(out.ctypes.data + 4 * start, self._base() + out_ptr, 4 * rows)
        return out

    def cel_eval_batch(self, handle: int, arrays: list[pa.Array]) -> list[Any]:
        """Every row's CEL result (int, str or bytes; bool/double/null as such, for the caller
        to refuse), through ``kernel_cel_eval_batch``."""
        n = len(arrays[0]) if arrays else 0
        out: list[Any] = []
        for start in range(0, n, CHUNK_ROWS):
            rows = min(CHUNK_ROWS, n - start)
            parts = [a.slice(start, rows) for a in arrays]
            descs = b"".join(self._stage_column(part, _cel_type_code(part), f"cel{i}_") for i, part in enumerate(parts))
            desc_ptr = self._block("cel_descs", max(len(descs), DESCRIPTOR_SIZE))
            tags_ptr = self._block("cel_tags", rows)
            vals_ptr = self._block("cel_vals", 8 * rows)
            offs_ptr = self._block("cel_offs", 4 * (rows + 1))
            ctypes.memmove(self._base() + desc_ptr, descs, len(descs))
            rc = int(
                self._exports["kernel_cel_eval_batch"](
                    self._store, handle, desc_ptr, len(parts), rows, tags_ptr, vals_ptr, offs_ptr
                )
            )
            if rc != 0:
                row = int(self._error_row(self._store))
                raise CelEvalError(rc, None if row == 0xFFFFFFFF else start + row, self._cel_failure(rc))
            base = self._base()
            tags = ctypes.string_at(base + tags_ptr, rows)
            vals = np.frombuffer(ctypes.string_at(base + vals_ptr, 8 * rows), dtype="<i8")
            offs = np.frombuffer(ctypes.string_at(base + offs_ptr, 4 * (rows + 1)), dtype="<i4")
            data = self._cel_text()
            for i, tag in enumerate(tags):
                if tag == 2:
                    out.append(int(vals[i]))
                elif tag == 3:
                    out.append(int(vals[i]) & 0xFFFF_FFFF_FFFF_FFFF)
                elif tag in (5, 6):
                    raw = data[int(offs[i]) : int(offs[i + 1])]
                    out.append(raw.decode("utf-8") if tag == 5 else raw)
                elif tag == 1:
                    out.append(bool(vals[i]))
                elif tag == 4:
                    out.append(float(struct.unpack("<d", struct.pack("<q", int(vals[i])))[0]))
                else:
                    out.append(_CelOther(tag))
        return out

    def cel_route_values(self, handle: int, encoded: bytes) -> int:
        """The scalar path: one row's encoded variables -> its shard id (``-1`` = unknown token)."""
        ptr = self._block("cel_values", max(len(encoded), 1))
        ctypes.memmove(self._base() + ptr, encoded, len(encoded))
        rc = int(self._exports["kernel_cel_route_values"](self._store, handle, ptr, len(encoded)))
        if rc != 0:
            raise CelEvalError(rc, None, self._cel_failure(rc))
        text = self._cel_text()
        return int(struct.unpack("<i", text[-4:])[0])

    def _cel_failure(self, rc: int) -> str:
        kind = int(self._exports["kernel_cel_error_kind"](self._store))
        detail = self._cel_text().decode("utf-8", "replace")
        name = _CEL_CODES.get(rc) or _ERRORS.get(rc, f"error {rc}")
        if rc == 5:
            col = int(self._exports["kernel_cel_error_pos"](self._store))
            return f"{name}: column #{col + 1} does not fit its CEL type"
        return f"{name} (kind {kind}): {detail}" if detail else f"{name} (kind {kind})"

    def xxh3(self, data: bytes) -> int:
        """XXH3-64 (seed 0) of ``data`` through the kernel's scalar path."""
        ptr = self._block("scalar", max(len(data), 1))
        ctypes.memmove(self._base() + ptr, data, len(data))
        return int(self._xxh3(self._store, ptr, len(data))) & 0xFFFF_FFFF_FFFF_FFFF


_CEL_FLOAT_BOOL = {pa.float32(): 13, pa.float64(): 14, pa.bool_(): 15}
_CEL_CODES = {
    10: "CEL_COMPILE",
    11: "CEL_EVAL",
    12: "CEL_RESULT_TYPE: the routing result is not int, uint, string or bytes",
    13: "CEL_SHARD_RANGE: a direct shard id is outside [0, 2^31-1]",
    14: "CEL_BAD_HANDLE",
    15: "CEL_BAD_INPUT",
}


@dataclass(frozen=True)
class _CelOther:
    """A CEL result that can never be a routing token (null, list, map, type)."""

    tag: int

    def __repr__(self) -> str:
        return {0: "null", 7: "a list", 8: "a map", 9: "a type"}.get(self.tag, f"CEL value tag {self.tag}")


class CelEvalError(Exception):
    """A CEL batch or scalar evaluation the kernel refused: code, first failing row, words."""

    def __init__(self, code: int, row: int | None, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.row = row
        self.detail = detail


def _cel_type_code(arr: pa.Array) -> int:
    code = _TYPE_CODES.get(arr.type) or _CEL_FLOAT_BOOL.get(arr.type)
    if code is None:
        raise ConfigValidationError(
            f"a CEL column has Arrow type {arr.type}, which CEL cannot read", field="cel_columns"
        )
    return code


def cel_array(arr: pa.Array | pa.ChunkedArray, name: str) -> pa.Array:
    """One CEL column as a single Arrow array of a type the kernel reads."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_string_view(t):
        return arr.cast(pa.string())
    if pa.types.is_binary_view(t):
        return arr.cast(pa.binary())
    if pa.types.is_float16(t):
        return arr.cast(pa.float32())
    if t not in _TYPE_CODES and t not in _CEL_FLOAT_BOOL:
        raise ConfigValidationError(
            f"CEL column {name!r} has Arrow type {t}, which no CEL type reads; use integers, floats, "
            "bools, strings or bytes",
            field="cel_columns",
        )
    return arr


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
