"""What one import really loads: ``sys.modules`` of a fresh interpreter after it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(*modules: str) -> set[str]:
    """The names in ``sys.modules`` of a fresh interpreter (``src`` on its path, nothing
    of the environment) after importing ``modules``."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        cwd=ROOT / "src",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    names = json.loads(done.stdout)
    return {str(name) for name in names}


def of_package(names: set[str], *packages: str) -> set[str]:
    """The names that are ``packages`` or modules inside them."""
    return {name for name in names if name.split(".")[0] in packages}
