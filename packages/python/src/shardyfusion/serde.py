"""``ValueSpec``: how a row becomes the stored value (reference ``serde.py``).

``binary_col`` and ``json_cols`` are encoded by ``shardy`` from the Arrow columns (byte-exact with
the reference's ``json.dumps``); ``callable_encoder`` runs in Python, on the engine's workers, and
its bytes travel to ``shardy`` as one binary column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .errors import ConfigValidationError

RowEncoder = Callable[[Mapping[str, Any]], bytes]


@dataclass(frozen=True)
class ValueSpec:
    kind: Literal["binary_col", "json_cols", "callable"]
    col: str | None = None
    cols: tuple[str, ...] | None = None
    fn: RowEncoder | None = None

    @staticmethod
    def binary_col(col: str) -> ValueSpec:
        """The value is this column's bytes (``None`` -> ``b""``, ``str`` -> UTF-8)."""
        if not isinstance(col, str) or col == "":
            raise ConfigValidationError(
                f"ValueSpec.binary_col needs a column name, got {col!r}", field="input.value_spec"
            )
        return ValueSpec("binary_col", col=col)

    @staticmethod
    def json_cols(cols: Sequence[str] | None = None) -> ValueSpec:
        """The value is ``json.dumps(row, sort_keys=True, separators=(",", ":"))`` of these columns (all if None)."""
        if cols is not None:
            if isinstance(cols, str) or not all(isinstance(c, str) and c for c in cols):
                raise ConfigValidationError(
                    f"ValueSpec.json_cols takes a list of column names or None, got {cols!r}",
                    field="input.value_spec",
                )
            return ValueSpec("json_cols", cols=tuple(cols))
        return ValueSpec("json_cols")

    @staticmethod
    def callable_encoder(fn: RowEncoder) -> ValueSpec:
        """Any ``row -> bytes`` function; the row is a dict of the data columns."""
        if not callable(fn):
            raise ConfigValidationError(
                f"ValueSpec.callable_encoder takes a function row -> bytes, got {type(fn).__name__}",
                field="input.value_spec",
            )
        return ValueSpec("callable", fn=fn)

    @property
    def description(self) -> str:
        if self.kind == "binary_col":
            return f"binary_col:{self.col}"
        if self.kind == "json_cols":
            return "json_cols:all" if self.cols is None else "json_cols:" + ",".join(self.cols)
        return "callable_encoder"

    def columns(self) -> tuple[str, ...] | None:
        """Columns the spec reads (None: every data column)."""
        if self.kind == "binary_col":
            return (self.col,) if self.col else ()
        if self.kind == "json_cols":
            return self.cols
        return None

    def encode(self, row: Mapping[str, Any]) -> bytes:
        """Python-side encoding of one row (used for ``callable_encoder``)."""
        if self.fn is None:
            raise ConfigValidationError(f"{self.description} is encoded by shardy, not in Python")
        value = self.fn(row)
        if isinstance(value, bytearray):
            value = bytes(value)
        if not isinstance(value, bytes):
            raise ConfigValidationError(
                f"callable_encoder must return bytes, got {type(value).__name__} for row {dict(row)!r:.200}",
                field="input.value_spec",
            )
        return value


__all__ = ["RowEncoder", "ValueSpec"]
