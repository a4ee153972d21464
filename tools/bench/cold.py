"""Cold start to the first decision, as Lambda starts a new execution environment.

Each run is a fresh process of the deployed function's interpreter and environment
(``lambda_env``) that imports ``authorizer.handler`` (its init phase loads the config and
fetches the keys over HTTP from 127.0.0.1) and answers one REST TOKEN request
(``cold_child.py authorizer``). The floor is a fresh process that imports PyJWT and
decodes one token with a known key (``cold_child.py pyjwt``). The two kinds alternate and
the medians of their CPU times (user and system, spawn to exit) are compared; wall times
are shown beside.

Our modules run from a copy of ``src/`` compiled as ``src/Makefile`` compiles the build
(unchecked-hash bytecode), with no bytecode written, as from a function's read-only
``/var/task``; libraries have the bytecode pip compiled when it installed them (the build
compiles theirs too). The compile time is reported: what a cold start would pay on top
without that bytecode (SAM's own Python builder ships none).
"""

from __future__ import annotations

import compileall
import json
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.bench.fixture import AUDIENCE, METHOD_ARN, Fixture, JwksServer
from tools.bench.timing import Figure, Row

TARGET_COLD = 1.3  # cold authorizer process / cold PyJWT process (medians)
RUNS = 15  # fresh processes of each kind, alternating
WARMUPS = 2  # untimed runs of each kind first (page cache)
CHILD = Path(__file__).with_name("cold_child.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def figures(fx: Fixture, env: dict[str, str], server: JwksServer) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="scopegate-task-root-") as root:
        task_root = Path(root) / "task"
        shutil.copytree(SRC, task_root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        started = time.perf_counter()
        compileall.compile_dir(
            task_root, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
        compile_s = time.perf_counter() - started
        child_env = env | {
            "LAMBDA_TASK_ROOT": str(task_root),
            "PYTHONPATH": str(task_root),
            "PYTHONDONTWRITEBYTECODE": "1",
            "BENCH_TOKEN": fx.token,
            "BENCH_METHOD_ARN": METHOD_ARN,
            "BENCH_PUBLIC_PEM": fx.public_pem,
            "BENCH_AUDIENCE": AUDIENCE,
        }
        for _ in range(WARMUPS):
            _run("authorizer", child_env)
            _run("pyjwt", child_env)
        hits = server.hits
        cpus: dict[str, list[float]] = {"authorizer": [], "pyjwt": []}
        walls: dict[str, list[float]] = {"authorizer": [], "pyjwt": []}
        inner: dict[str, list[dict[str, float]]] = {"authorizer": [], "pyjwt": []}
        for i in range(RUNS):
            for mode in ("authorizer", "pyjwt") if i % 2 == 0 else ("pyjwt", "authorizer"):
                cpu, wall, timings = _run(mode, child_env)
                cpus[mode].append(cpu)
                walls[mode].append(wall)
                inner[mode].append(timings)
    if server.hits - hits != RUNS:
        raise SystemExit("bench: each cold authorizer should have fetched the JWKS once")
    ours, theirs = statistics.median(cpus["authorizer"]), statistics.median(cpus["pyjwt"])
    ours_wall, theirs_wall = (statistics.median(walls[m]) for m in ("authorizer", "pyjwt"))

    def median(mode: str, key: str) -> float:
        return statistics.median(t[key] for t in inner[mode]) / 1e3

    return [
        Figure("cold start to first decision (median CPU time)", ours, theirs, TARGET_COLD, "ms"),
        Figure("  the same in wall time, spawn to exit", ours_wall, theirs_wall, unit="ms"),
        Figure("  floor: fresh process, import jwt + one decode (CPU)", theirs, unit="ms"),
        Figure(
            "  import authorizer.handler (init: config, keys)",
            median("authorizer", "import_ms"),
            unit="ms",
        ),
        Figure("  first request", median("authorizer", "first_request_ms"), unit="ms"),
        Figure(
            "  PyJWT: import + decode in the process", median("pyjwt", "to_decision_ms"), unit="ms"
        ),
        Figure(
            "  compiling all of src/ to bytecode (the build does it once)", compile_s, unit="ms"
        ),
    ]


def _run(mode: str, env: dict[str, str]) -> tuple[float, float, dict[str, float]]:
    """CPU seconds (user + system) and wall seconds of the child from spawn to exit, and
    the child's own timings. CPU time is the figure: what the process costs, whatever else
    a shared machine runs meanwhile (a new execution environment has its vCPU to itself)."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-P", str(CHILD), mode],  # -P: not tools/bench/ on sys.path
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    stderr = child.stderr.read().decode(errors="replace").strip()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0 or not stderr:
        raise SystemExit(f"bench: cold {mode} child failed ({child.returncode}):\n{stderr}")
    return usage.ru_utime + usage.ru_stime, wall, json.loads(stderr.splitlines()[-1])
