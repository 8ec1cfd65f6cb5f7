"""``ColumnWriteInput``: which column is the key and how rows become values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigValidationError
from .serde import ValueSpec


@dataclass(frozen=True)
class ColumnWriteInput:
    key_col: str
    value_spec: ValueSpec
    vector: Any = None
    vector_fn: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.key_col, str) or self.key_col == "":
            raise ConfigValidationError(
                f"input.key_col must be a non-empty column name, got {self.key_col!r}", field="input.key_col"
            )
        if not isinstance(self.value_spec, ValueSpec):
            raise ConfigValidationError(
                f"input.value_spec must be a ValueSpec (ValueSpec.binary_col/json_cols/callable_encoder), got {self.value_spec!r}",
                field="input.value_spec",
            )
        if self.vector is not None or self.vector_fn is not None:
            raise ConfigValidationError(
                "input.vector is not supported: shardy builds key-value snapshots only; remove it", field="input.vector"
            )


__all__ = ["ColumnWriteInput"]
