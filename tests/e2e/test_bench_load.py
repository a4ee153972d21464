"""tools/bench/load.py with tiny settings: it runs, reports three scenarios, no errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_flow import EXPECTED, TOKENS
from tools.bench import load as bench_load

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_the_bench_calls_expect_what_the_e2e_table_says() -> None:
    column = {task: col for col, (task, _, _) in TOKENS.items()}
    for task, method, path, status in bench_load.CALLS:
        assert EXPECTED[f"{method} {path}"][column[task]] == status, (task, method, path)
    assert {status for *_, status in bench_load.CALLS} == {200, 403}


def test_a_short_load_run_has_no_errors_and_the_cache_shows() -> None:
    env = os.environ | {"PYTHONPATH": "src:."}
    command = [sys.executable, "-m", "tools.bench.load", "--clients", "2", "--seconds", "1"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    rows = {row["name"]: row for row in report["scenarios"]}
    assert list(rows) == ["API, cache on", "API, cache off", "broker POST /token"]
    for row in rows.values():
        assert row["requests"] > 0, row
        assert row["errors"] == 0, row
    cached, uncached = rows["API, cache on"], rows["API, cache off"]
    assert cached["authorizer_calls"] < cached["requests"]
    assert uncached["authorizer_calls"] == uncached["requests"]
    assert report["ok"] is True
