"""The authorizer's hot path has not become slower: the benchmark's own figures, quickly.

The timing targets live in ``make bench`` (tools/bench/authorizer.py); this runs its
in-process figures in a fresh process (``--quick``: fewer rounds) and fails when a ratio
to the bare signature check measured in the same run is far beyond what the code costs
today. Today (on one CPU with the pipe's reader, as make bench runs them) same-token is
0.49x-0.60x, new-token 2.3x-2.9x and verification 1.4x-1.6x, the upper ends in this
host's slow stretches. Each limit is about 1.4 to 1.8 times those figures: a change that
doubles one fails, a slow stretch does not. Where the benchmark cannot pin itself to one
CPU, every line wakes the pipe's reader on another CPU (up to 4.1x measured), so the
new-token limit is wider there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

LIMITS = {
    "warm lambda_handler, REST TOKEN, same token": 0.9,  # target 1.3x
    "warm lambda_handler, REST TOKEN, new token": 4.0,  # target 2.5x
    "Verifier.verify, a new token": 2.5,  # target 1.5x
}
UNPINNED_NEW_TOKEN_LIMIT = 6.0


@pytest.mark.timeout(300)
def test_the_hot_path_stays_within_its_limits(tmp_path: Path) -> None:
    report = tmp_path / "bench.json"
    env = os.environ | {"PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-m", "tools.bench.authorizer", "--quick", "--json", str(report)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: a bench target missed
    result = json.loads(report.read_text())
    limits = dict(LIMITS)
    if not result["one_cpu"]:
        limits["warm lambda_handler, REST TOKEN, new token"] = UNPINNED_NEW_TOKEN_LIMIT
    figures = {f["name"]: f for f in result["figures"]}
    over = {
        name: round(figures[name]["ratio"], 2)
        for name, limit in limits.items()
        if figures[name]["ratio"] > limit
    }
    assert over == {}, f"ratios to a bare RS256 verify over their limits {limits}: {over}"
