"""Which token_broker/client/ the scopegate-client wheel is built from.

From a clone (``pip install ./packages/scopegate-client``, or a git URL with
``#subdirectory=packages/scopegate-client``) it is the repository's ``src/``; from the
sdist that ``python -m build`` makes first, it is the sdist's own copy. Only the package's
``*.py`` files and its ``py.typed`` go in: no bytecode, no stray file of a working tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = Path("token_broker", "client")


class ClientSourceHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        candidates = (root / "src" / PACKAGE, root.parent.parent / "src" / PACKAGE)
        source = next((path for path in candidates if (path / "__init__.py").is_file()), None)
        if source is None:
            raise FileNotFoundError(f"no {PACKAGE}/__init__.py under {root}/src or ../../src")
        files = sorted([*source.glob("*.py"), source / "py.typed"])
        for file in files:
            build_data["force_include"][str(file)] = (PACKAGE / file.name).as_posix()
