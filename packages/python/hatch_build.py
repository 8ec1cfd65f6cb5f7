"""Wheel build hook: a wheel that bundles the ``shardy`` executable is platform-specific (but not
tied to a Python version), so tag it ``py3-none-<platform>``."""

from __future__ import annotations

import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        if (Path(self.root) / "src" / "shardyfusion" / "_bin" / "shardy").is_file():
            platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
            build_data["pure_python"] = False
            build_data["tag"] = f"py3-none-{platform}"
