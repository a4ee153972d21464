"""The documented run command (`make demo`) keeps working: every row as expected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_authorizer_and_broker_flows_with_no_surprise() -> None:
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")
    result = subprocess.run(
        [sys.executable, "-m", "tools.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Token broker" in result.stdout
    assert "rows as expected" in result.stdout
