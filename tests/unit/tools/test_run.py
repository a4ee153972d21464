"""`make run` and `make smoke` hand their variables to `python -m tools.run` as options it
takes: PROVIDER=, SHARED_CACHE=1 and ARGS="..." (any other option, as written)."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from tests.support.paths import ROOT
from tools import run

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def tools_run_options(*make_args: str) -> list[str]:
    """The options of the `python -m tools.run` line that `make -n` (print, run nothing)
    shows for ``make_args``."""
    done = subprocess.run(
        ["make", "-n", *make_args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    (line,) = [line for line in done.stdout.splitlines() if "-m tools.run" in line]
    words = shlex.split(line)
    return words[words.index("tools.run") + 1 :]


def test_make_run_passes_args_as_options_tools_run_takes() -> None:
    options = tools_run_options("run", "ARGS=--flavor http --cache-ttl 0")
    assert options == ["--flavor", "http", "--cache-ttl", "0"]
    args = run.parser().parse_args(options)
    assert (args.flavor, args.cache_ttl, args.smoke) == ("http", 0.0, False)


def test_make_smoke_passes_provider_shared_cache_and_args_together() -> None:
    options = tools_run_options(
        "smoke", "PROVIDER=entra", "SHARED_CACHE=1", "ARGS=--flavor rest-request"
    )
    args = run.parser().parse_args(options)
    assert (args.smoke, args.provider, args.shared_cache) == (True, "entra", True)
    assert args.flavor == "rest-request"


def test_make_run_without_variables_runs_the_defaults() -> None:
    args = run.parser().parse_args(tools_run_options("run", "SHARED_CACHE=0"))
    assert (args.flavor, args.cache_ttl, args.provider, args.shared_cache) == (
        "rest-token",
        300.0,
        None,
        False,
    )
