"""``SqliteFactory``: one complete SQLite file per shard, built by ``shardy`` and uploaded once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .errors import ConfigValidationError

PageSize = Literal[4096, 8192, 16384, 32768, 65536, "auto"]


@dataclass(frozen=True)
class SqliteFactory:
    """The SQLite backend (reference ``SqliteFactory``); serialised as ``{"kind": "sqlite", ...}``."""

    page_size: PageSize | int | str = 4096
    cache_size_pages: int = -2000
    s3_connection_options: Any = None
    credential_provider: Any = None
    emit_sidecar: bool = True

    def to_wire(self) -> dict[str, Any]:
        for name in ("s3_connection_options", "credential_provider"):
            if getattr(self, name) is not None:
                raise ConfigValidationError(
                    f"kv.adapter_factory.{name} is not supported: shardy writes shards through the "
                    f"snapshot's store; set {name} on the write config (storage) instead",
                    field=f"kv.adapter_factory.{name}",
                )
        return {
            "kind": "sqlite",
            "page_size": self.page_size,
            "cache_size_pages": self.cache_size_pages,
            "emit_sidecar": self.emit_sidecar,
        }


__all__ = ["SqliteFactory"]
