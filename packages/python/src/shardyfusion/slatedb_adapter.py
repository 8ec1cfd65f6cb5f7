"""``SlateDbFactory``: the default backend, SlateDB written directly to the object store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigValidationError


def _reject_unsupported(factory: object, kind: str, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(factory, name) is not None:
            raise ConfigValidationError(
                f"kv.adapter_factory.{name} is not supported by the {kind} backend of shardy: shards "
                f"are written through the snapshot's store; set storage options on the write config instead",
                field=f"kv.adapter_factory.{name}",
            )


@dataclass(frozen=True)
class SlateDbFactory:
    """SlateDB straight to the object store (reference ``SlateDbFactory``, the default)."""

    env_file: str | None = None
    settings: Any = None
    credential_provider: Any = None
    bridge_timeouts: Any = None
    s3_connection_options: Any = None

    def to_wire(self) -> dict[str, Any]:
        _reject_unsupported(
            self,
            "slatedb",
            ("env_file", "settings", "credential_provider", "bridge_timeouts", "s3_connection_options"),
        )
        return {"kind": "slatedb"}


__all__ = ["SlateDbFactory"]
