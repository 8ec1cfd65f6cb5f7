"""CEL through the WASM kernel: the compile check at config time (same words as the TS core's
``compileCel``). CEL builds are refused at write time while ``shardy write-shard``/``publish``
take hash configs only."""

from __future__ import annotations

from collections.abc import Mapping

from .errors import ConfigValidationError

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
    if failure is None:
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


def require_cel_support() -> None:
    raise ConfigValidationError(
        "CEL sharding is not available in this shardy build: `shardy write-shard` and `shardy publish` "
        "accept hash-sharded configs only. Use HashShardedWriteConfig, or upgrade shardy once CEL "
        "routing lands there",
        field="sharding.cel_expr",
    )
