"""``LocalSlateDbFactory``: SlateDB written to local disk per task, then uploaded on close."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .slatedb_adapter import _reject_unsupported


@dataclass(frozen=True)
class LocalSlateDbFactory:
    """Reference ``LocalSlateDbFactory``; serialised as ``{"kind": "slatedb-local"}``."""

    settings: Any = None
    credential_provider: Any = None
    s3_connection_options: Any = None

    def to_wire(self) -> dict[str, Any]:
        _reject_unsupported(self, "slatedb-local", ("settings", "credential_provider", "s3_connection_options"))
        return {"kind": "slatedb-local"}


__all__ = ["LocalSlateDbFactory"]
