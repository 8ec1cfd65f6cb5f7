"""CEL through the WASM kernel: the compile check at config time (same words as the TS core's
``compileCel``), and the writers' routing: a partition's ``cel_columns`` routed as Arrow buffers
(``kernel_cel_route_batch``), single rows through the scalar path (``kernel_cel_route_values``)
for ``verify_routing``, and the shard count of a direct-mode build."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .errors import ConfigValidationError, ShardAssignmentError

_COMPILE_KINDS = {
    1: "syntax error",
    2: "undeclared reference",
    3: "type error",
    4: "invalid regular expression",
    5: "bad declaration",
    6: "unsupported feature",
}


def caret_line(expr: str, byte_pos: int) -> str:
    """Where the error is: the expression's line and a caret under the offending spot."""
    at = len(expr.encode("utf-8")[: max(0, byte_pos)].decode("utf-8", "ignore"))
    line_start = expr.rfind("\n", 0, at) + 1 if at > 0 else 0
    nl = expr.find("\n", at)
    line = expr[line_start : len(expr) if nl < 0 else nl]
    col = at - line_start
    line_no = expr[:line_start].count("\n") + 1
    where = f" (line {line_no}, column {col + 1})" if "\n" in expr else f" (column {col + 1})"
    return f"{where}\n  {line}\n  {' ' * col}^"


def check_cel_expr(expr: str, columns: Mapping[str, str]) -> None:
    """Rejects an expression that does not compile over ``cel_columns`` (e.g. ``key % 16u`` with an
    int ``key``: CEL has no ``%`` for ``(int, uint)``)."""
    from ._kernel import get_kernel

    failure = get_kernel().cel_compile_error(expr, dict(columns))
    if not isinstance(failure, tuple):
        return
    kind, pos, message = failure
    if kind == 5:
        lines = [f"{n} {t}" for n, t in columns.items()]
        decl = lines[pos - 1] if 0 < pos <= len(lines) else ""
        raise ConfigValidationError(
            f"CEL declaration '{decl}' is invalid: {message}; use identifiers and CEL types", field="cel_columns"
        )
    raise ConfigValidationError(
        f"CEL expression {_json(expr)} does not compile: {_COMPILE_KINDS.get(kind, 'error')}: {message}"
        f"{caret_line(expr, pos)}",
        field="cel_expr",
    )


def _json(s: str) -> str:
    import json

    return json.dumps(s, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Routing
# ---------------------------------------------------------------------------------------------

_INT64_MAX = 2**63 - 1


def _encode_token(value: Any) -> bytes:
    """A routing token as a kernel CEL value: int (uint above 2^63-1), string or bytes."""
    if isinstance(value, bool) or not isinstance(value, (int, str, bytes)):
        raise ConfigValidationError(f"routing value {value!r} must be an int, str or bytes", field="routing_values")
    if isinstance(value, int):
        return b"\x02" + struct.pack("<q", value) if value <= _INT64_MAX else b"\x03" + struct.pack("<Q", value)
    data = value.encode("utf-8") if isinstance(value, str) else value
    return (b"\x05" if isinstance(value, str) else b"\x06") + struct.pack("<I", len(data)) + data


def encode_routing(values: Sequence[Any]) -> bytes:
    return struct.pack("<I", len(values)) + b"".join(_encode_token(v) for v in values)


def encode_cel_value(value: Any, cel_type: str) -> bytes:
    """One column value as a kernel CEL value of its declared type (``None`` -> null)."""
    if value is None:
        return b"\x00"
    if hasattr(value, "item") and not isinstance(value, (bytes, str)):
        value = value.item()  # numpy scalars
    if cel_type == "int":
        return b"\x02" + struct.pack("<q", int(value))
    if cel_type == "uint":
        return b"\x03" + struct.pack("<Q", int(value))
    if cel_type == "double":
        return b"\x04" + struct.pack("<d", float(value))
    if cel_type == "bool":
        return b"\x01" + (b"\x01" if value else b"\x00")
    if cel_type == "string":
        data = str(value).encode("utf-8")
        return b"\x05" + struct.pack("<I", len(data)) + data
    data = bytes(value)
    return b"\x06" + struct.pack("<I", len(data)) + data


@dataclass(frozen=True)
class CelRouting:
    """What a worker needs to route rows by CEL; pickled into the engine's tasks."""

    expr: str
    columns: tuple[tuple[str, str], ...]
    routing_values: tuple[Any, ...] | None

    @classmethod
    def of(cls, config: Any) -> CelRouting:
        rv = config.routing_values
        return cls(config.cel_expr, tuple(config.cel_columns.items()), tuple(rv) if rv is not None else None)

    @property
    def column_names(self) -> list[str]:
        return [n for n, _ in self.columns]

    def _handle(self) -> tuple[Any, int]:
        from ._kernel import get_kernel

        kernel = get_kernel()
        routing = encode_routing(self.routing_values) if self.routing_values is not None else None
        return kernel, kernel.cel_program(self.expr, dict(self.columns), routing)

    def route_arrays(self, arrays: Mapping[str, pa.Array | pa.ChunkedArray]) -> np.ndarray:
        """Shard ids of a partition from its ``cel_columns`` (Arrow), through the batch call.
        Raises ``ShardAssignmentError`` for a failing row or an unknown categorical token."""
        from ._kernel import CelEvalError, cel_array

        kernel, handle = self._handle()
        cols = [cel_array(arrays[name], name) for name in self.column_names]
        try:
            ids: np.ndarray = kernel.cel_route_batch(handle, cols)
        except CelEvalError as err:
            where = f" at row {err.row} ({self._row_text(cols, err.row)})" if err.row is not None else ""
            raise ShardAssignmentError(
                f"CEL routing {self.expr!r} failed{where}: {err.detail}; fix the data or the expression"
            ) from None
        unknown = np.flatnonzero(ids < 0)
        if len(unknown):
            row = int(unknown[0])
            raise ShardAssignmentError(
                f"CEL expression {self.expr!r} gives a token that is not in routing_values "
                f"{list(self.routing_values or ())!r} for {len(unknown)} row(s), first at row {row} "
                f"({self._row_text(cols, row)}); add the token to routing_values or use "
                "infer_routing_values_from_data"
            )
        return ids

    def _row_text(self, cols: list[pa.Array], row: int) -> str:
        return ", ".join(f"{n}={c[row].as_py()!r}" for n, c in zip(self.column_names, cols, strict=True))

    def route_row(self, row: Mapping[str, Any]) -> int:
        """One row's shard id through the kernel's scalar path (``-1`` = unknown token)."""
        from ._kernel import CelEvalError

        kernel, handle = self._handle()
        encoded = b"".join(encode_cel_value(row.get(n), t) for n, t in self.columns)
        try:
            return int(kernel.cel_route_values(handle, encoded))
        except CelEvalError as err:
            raise ShardAssignmentError(f"CEL routing {self.expr!r} failed for {dict(row)!r}: {err.detail}") from None

    def tokens(self, arrays: Mapping[str, pa.Array | pa.ChunkedArray]) -> set[str]:
        """The distinct tokens of a partition (for ``infer_routing_values_from_data``), each as
        text tagged by type (``i:``/``s:``/``b:``) so engines can carry them in one column."""
        from ._kernel import CelEvalError, cel_array

        kernel, handle = self._handle()
        cols = [cel_array(arrays[name], name) for name in self.column_names]
        try:
            values = kernel.cel_eval_batch(handle, cols)
        except CelEvalError as err:
            where = f" at row {err.row} ({self._row_text(cols, err.row)})" if err.row is not None else ""
            raise ShardAssignmentError(f"CEL routing {self.expr!r} failed{where}: {err.detail}") from None
        out: set[str] = set()
        for row, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, (int, str, bytes)):
                raise ShardAssignmentError(
                    f"CEL expression {self.expr!r} gives {v!r} at row {row} ({self._row_text(cols, row)}); "
                    "inferred routing tokens must be int, string or bytes"
                )
            out.add(token_text(v))
        return out


def token_text(v: int | str | bytes) -> str:
    if isinstance(v, int):
        return f"i:{v}"
    if isinstance(v, str):
        return "s:" + v
    return "b:" + v.hex()


def _token_value(text: str) -> int | str | bytes:
    kind, rest = text[:2], text[2:]
    if kind == "i:":
        return int(rest)
    if kind == "s:":
        return rest
    return bytes.fromhex(rest)


def infer_routing_values(texts: Iterable[str], expr: str) -> list[Any]:
    """``sorted(set(tokens))`` in Python order (ints numeric, str by code point, bytes
    lexicographic); mixed types are refused."""
    values = [_token_value(t) for t in set(texts)]
    kinds = sorted({type(v).__name__ for v in values})
    if len(kinds) > 1:
        raise ShardAssignmentError(
            f"CEL expression {expr!r} gives tokens of mixed types ({', '.join(kinds)}); inferred routing "
            "values must all be int, all string or all bytes"
        )
    return sorted(values)  # type: ignore[type-var]


def verify_cel_routing(routing: CelRouting, sample: Iterable[tuple[Mapping[str, Any], Any]]) -> int:
    """Re-routes sampled ``(cel columns, writer db_id)`` rows through the scalar path; the rows
    checked. ``ShardAssignmentError`` on any mismatch."""
    rows = list(sample)
    bad = [(ctx, got, routing.route_row(ctx)) for ctx, got in rows]
    bad = [b for b in bad if b[1] is None or int(b[1]) != b[2]]
    if bad:
        ctx, got, expected = bad[0]
        raise ShardAssignmentError(
            f"Shard routing mismatch in {len(bad)}/{len(rows)} sampled rows: {dict(ctx)!r} was assigned shard "
            f"{got} by the writer but the reader routes it to shard {expected} (CEL {routing.expr!r}). This is a "
            "bug in a routing change; nothing was written. Do not silence it by disabling verify_routing"
        )
    return len(rows)


def discover_num_dbs(ids: Iterable[int]) -> int:
    """Direct mode: ``max(id) + 1``, the ids being exactly ``0..max``; 1 for empty data."""
    seen = sorted({int(i) for i in ids})
    if not seen:
        return 1
    missing = sorted(set(range(seen[-1] + 1)) - set(seen))
    if seen[0] < 0 or missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (", ..." if len(missing) > 10 else "")
        raise ShardAssignmentError(
            f"CEL direct routing produced non-consecutive shard IDs: {seen[:10]}{'...' if len(seen) > 10 else ''} "
            f"leaves out [{shown}]; the expression must return every id from 0 to its maximum "
            "(or use routing_values for tokens)"
        )
    return seen[-1] + 1
