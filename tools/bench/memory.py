"""Resident memory of warm functions whose caches are full (``make bench``).

Each figure is measured in a fresh process with the deployed function's environment
(``lambda_env``), so nothing of the benchmark's own process counts:

- the authorizer with the 50-route config after one decision, then after 1,024 more new
  tokens: it remembers at most ``decision.TOKENS_KEPT`` (1,024) verified tokens, each with
  its latest decision, until it expires or for ``verifier.CACHE_SECONDS`` at the most;
- the broker after its first import, then holding 1,024 tokens of 1 KiB in its token cache,
  which holds at most ``token_cache.MAX_ENTRIES`` (1,024) grants, least recently used
  evicted.

    python -m tools.bench.memory authorizer|broker   (run by tools/bench/authorizer.py)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.bench.fixture import Fixture
from tools.bench.timing import Figure, Row

ROOT = Path(__file__).resolve().parents[2]
TOKENS = 1024


def resident_mib() -> float:
    """This process's resident set (VmRSS) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("bench: no VmRSS in /proc/self/status")


def authorizer_figures(env: dict[str, str], fx: Fixture) -> list[Row]:
    """``env`` holds the config whose JWKS (``fx``'s) a server of the caller's serves."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"token": fx.token, "fresh": fx.fresh_tokens[:TOKENS]}, f)
    try:
        found = _child("authorizer", env, f.name)
    finally:
        os.unlink(f.name)
    return [
        Figure("memory: warm authorizer, 50 routes, 1 token", found["warm"], unit="MiB"),
        Figure(f"memory: the same with {TOKENS:,} tokens cached", found["full"], unit="MiB"),
    ]


def broker_figures(env: dict[str, str]) -> list[Row]:
    found = _child("broker", env, "")
    return [
        Figure("memory: warm broker", found["warm"], unit="MiB"),
        Figure(f"memory: the same with {TOKENS:,} tokens cached", found["full"], unit="MiB"),
    ]


def _child(kind: str, env: dict[str, str], tokens_file: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "tools.bench.memory", kind, tokens_file],
        cwd=ROOT,
        env=env | {"PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    stderr = done.stderr.decode(errors="replace").strip()
    if done.returncode != 0 or not stderr:
        raise SystemExit(f"bench: memory child {kind} failed ({done.returncode}):\n{stderr}")
    result: dict[str, float] = json.loads(stderr.splitlines()[-1])
    return result


def _authorizer(tokens_file: str) -> dict[str, float]:
    tokens = json.loads(Path(tokens_file).read_text())
    import authorizer.handler as handler

    arn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders/42"

    def call(token: str) -> None:
        event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn}
        handler.lambda_handler(event, None)

    call(tokens["token"])
    warm = resident_mib()
    for token in tokens["fresh"]:
        call(token)
    authorizer = handler.runtime.authorizer
    assert authorizer is not None
    assert len(authorizer._seen) == TOKENS
    return {"warm": warm, "full": resident_mib()}


def _broker() -> dict[str, float]:
    import token_broker.handler  # noqa: F401  (the function as Lambda imports it)
    from token_broker.token_cache import CachedToken, TokenCache

    cache = TokenCache()
    warm = resident_mib()
    now = time.time()
    for n in range(TOKENS):
        token = f"eyJ{n:08d}" + "x" * 1013  # 1 KiB, about a signed JWT access token
        key = (f"client-{n}", "api://orders", None, ("orders:read", "orders:write"))
        cache.store(key, CachedToken(token, "orders:read orders:write", now + 3600))
    return {"warm": warm, "full": resident_mib()}


def main(argv: list[str]) -> int:
    kind, tokens_file = argv[0], argv[1] if len(argv) > 1 else ""
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the handlers' log lines go nowhere
    result: Any = _authorizer(tokens_file) if kind == "authorizer" else _broker()
    print(json.dumps(result), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
