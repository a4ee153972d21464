"""The authorizer's speed and memory as a deployed function runs (``make bench``); exits 1
when a target is missed.

The process is made to look like a Lambda execution environment before the handler is
imported (``lambda_env``: ``AWS_LAMBDA_FUNCTION_NAME`` and the rest, ``POWERTOOLS_*`` from
template.yaml, a trace header), so the handler's init phase runs as in Lambda (config
loaded, keys prefetched over HTTP from 127.0.0.1), metrics are on, and every decision
line goes to a line-buffered stdout that is a pipe drained by another process, the two
on one CPU as a 512 MB function's share of one vCPU (``lambda_env.one_cpu``). Timings
are medians of interleaved rounds against ``cryptography``'s bare RS256 verify measured
in the same run (``timing.Rounds``):

1. ``Verifier.verify`` of a token it has not seen (parse, key, signature, claims);
2. a warm REST TOKEN invocation of ``lambda_handler``, 50 routes, the same token each time
   (the authorizer remembers the token and its decision);
3. the same with a new token every call (and, for information, with the pipe's reader on
   another CPU, which the kernel must wake there for every line);
4. cold start to the first decision against ``import jwt`` plus one decode (``cold``);

then a breakdown of a new-token call (its stages, and a profile by function), and the
resident memory of a warm authorizer holding 1,024 cached tokens (``memory``). The table
goes to stdout, the figures as JSON on the last line (``--json PATH`` writes them too).
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tools.bench import cold, memory
from tools.bench.fixture import (
    AUDIENCE,
    EXPECTED_ROUTE,
    Fixture,
    JwksServer,
    MemoryFetcher,
    handler_config,
    make_fixture,
    rest_token_event,
)
from tools.bench.lambda_env import environment, one_cpu, piped_stdout, runtime_logging
from tools.bench.timing import Figure, Rounds, Row, finish, progress, render

TARGET_VERIFY = 1.5  # Verifier.verify, new token / bare verify
TARGET_HANDLER_SAME = 1.3  # warm handler, same token / bare verify
TARGET_HANDLER_NEW = 2.5  # warm handler, new token / bare verify
ROUNDS = 60  # interleaved rounds (about 12 s)
QUICK_ROUNDS = 15
PROFILED_CALLS = 2048  # the third pool of new tokens

# Variables of the developer's shell that would change what is measured.
_ENV_REMOVED = (
    "AUTHORIZER_CONFIG_FILE",
    "AUTHORIZER_CONFIG_PARAMETER",
    "POWERTOOLS_DEV",  # would disable metrics
    "POWERTOOLS_METRICS_DISABLED",
    "POWERTOOLS_TRACE_DISABLED",
    "AWS_LAMBDA_LOG_LEVEL",
    "LOG_LEVEL",
)


def deployed(config: dict[str, Any]) -> dict[str, str]:
    """The authorizer function's environment with this config inline."""
    for name in _ENV_REMOVED:
        os.environ.pop(name, None)
    env = environment("AuthorizerFunction") | {"AUTHORIZER_CONFIG": json.dumps(config)}
    os.environ.update(env)
    return env


def check_output(handler: ModuleType, event: dict[str, Any], scratch: Path) -> None:
    """One invocation into a file: its INFO decision line and the EMF metrics are written."""
    log = scratch / "handler-output.log"
    saved = os.dup(1)
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        sys.stdout.flush()
        os.dup2(target, 1)
        response = handler.lambda_handler(event, None)
        handler.metrics.flush()
        sys.stdout.flush()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(target)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    decisions = [d for d in lines if d.get("message") == "decision"]
    if not decisions or decisions[-1].get("decision") != "allow":
        raise SystemExit(f"bench: no INFO 'decision' allow line in the handler output: {lines}")
    if "xray_trace_id" not in decisions[-1] or not any("_aws" in d for d in lines):
        raise SystemExit(f"bench: no trace id or no EMF metrics in the output: {lines}")
    if response["policyDocument"]["Statement"][0]["Effect"] != "Allow":
        raise SystemExit(f"bench: the token was not allowed: {response}")


def warm(
    fx: Fixture, server: JwksServer, scratch: Path, rounds_run: int = ROUNDS
) -> tuple[list[Row], str, bool]:
    """The in-process figures, the profile summary of a new-token call, and whether they
    ran on one CPU (``lambda_env.one_cpu``)."""
    issuers = handler_config(server.url)["issuers"]
    from authorizer.config import validate
    from authorizer.decision import TOKENS_KEPT
    from authorizer.verifier import Verifier

    config = validate({"issuers": issuers, "routes": [{"route": "GET /a", "scopes": ["a"]}]})
    verifier = Verifier(config.issuers, MemoryFetcher(fx.jwks))
    if verifier.verify(fx.token).claims["sub"] != "00u1a2b3c4d5e6f7g8h9":
        raise SystemExit("bench: Verifier.verify did not verify the token as expected")

    runtime_logging()
    import authorizer.handler as handler  # its init phase: config, keys over HTTP

    if server.hits != 1:
        raise SystemExit(f"bench: expected the init phase to fetch the JWKS once ({server.hits})")
    event = rest_token_event(fx.token)
    check_output(handler, event, scratch)
    decision = handler.runtime.decide(event)
    if decision.effect != "allow" or decision.route != EXPECTED_ROUTE:
        raise SystemExit(f"bench: expected allow on {EXPECTED_ROUTE}, got {decision}")
    authorizer = handler.runtime.authorizer
    assert authorizer is not None

    pool = 2 * TOKENS_KEPT  # twice what the authorizer remembers: never a token it knows
    fresh = itertools.cycle(fx.fresh_tokens[:pool])
    fresh_events = itertools.cycle([rest_token_event(t) for t in fx.fresh_tokens[pool : 2 * pool]])
    profiled = [rest_token_event(t) for t in fx.fresh_tokens[2 * pool :]]
    public_key, signature, signing_input = fx.public_key, fx.signature, fx.signing_input
    lambda_handler, parse_event = handler.lambda_handler, _parse_event()
    fields = handler.decision_fields(decision)

    def floor() -> None:
        public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())

    import jwt  # PyJWT, in .venv-lambda for the comparison and the cold-start floor

    def pyjwt_decode(token: str) -> object:
        return jwt.decode(token, public_key, algorithms=["RS256"], audience=AUDIENCE)

    # The tokens of the verify figure never reach the handler's caches: new to it here.
    apart_events = itertools.cycle([rest_token_event(t) for t in fx.fresh_tokens[:pool]])
    with one_cpu() as (cpu, other_cpu):
        with piped_stdout():
            rounds = Rounds(floor)
            rounds.add("verify", lambda: verifier.verify(next(fresh)))
            rounds.add("same", lambda: lambda_handler(event, None))
            rounds.add("new", lambda: lambda_handler(next(fresh_events), None))
            rounds.add("event", lambda: parse_event(event))
            rounds.add("decide", lambda: handler.runtime.decide(event))
            rounds.add("route", lambda: authorizer.routes.match("rest", "GET", "/orders/42"))
            rounds.add("log", lambda: handler.request_log.info("decision", fields))
            rounds.add("pyjwt", lambda: pyjwt_decode(next(fresh)))
            rounds.run(rounds_run)
            profile = _profile(lambda: [lambda_handler(e, None) for e in profiled])
        apart = None
        if other_cpu is not None:  # the output's reader woken on another CPU per line
            with piped_stdout(reader_cpu=other_cpu):
                apart = Rounds(floor)
                apart.add("new", lambda: lambda_handler(next(apart_events), None))
                apart.run(max(5, rounds_run // 3))
    if server.hits != 1:
        raise SystemExit(f"bench: the keys were fetched again while timing ({server.hits})")
    rows: list[Row] = [
        Figure("floor: cryptography RS256 verify (median)", rounds.floor),
        rounds.figure("Verifier.verify, a new token", "verify", TARGET_VERIFY),
        rounds.figure("warm lambda_handler, REST TOKEN, same token", "same", TARGET_HANDLER_SAME),
        rounds.figure("warm lambda_handler, REST TOKEN, new token", "new", TARGET_HANDLER_NEW),
        *(
            [apart.figure("  the same, the pipe's reader on another CPU", "new")]
            if apart is not None
            else []
        ),
        rounds.figure("  of it: the event parsed (events.parse_event)", "event"),
        rounds.figure("  of it: a decision without verifying (runtime.decide)", "decide"),
        rounds.figure("  of it: route match (50 routes)", "route"),
        rounds.figure("  of it: the decision line, back to back to the pipe", "log"),
        rounds.figure("PyJWT's jwt.decode of a new token, for comparison", "pyjwt"),
    ]
    return rows, profile, cpu is not None


def _parse_event() -> Any:
    from authorizer.events import parse_event

    return parse_event


def _profile(run: Any) -> str:
    """Where a new-token call spends its time: the functions with the most own time."""
    profiler = cProfile.Profile()
    profiler.runcall(run)
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]  # pstats' table, not in typeshed
    total = sum(own for _, _, own, _, _ in entries.values()) or 1.0
    top = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:12]
    lines = [f"profile of {PROFILED_CALLS} new-token calls (cProfile; own time, share of all):"]
    for (path, line, name), (_, calls, own, _, _) in top:
        where = name if path == "~" else f"{_short(path)}:{line} {name}"
        lines.append(f"  {100 * own / total:5.1f}%  {calls // PROFILED_CALLS:>3}/call  {where}")
    return "\n".join(lines)


def _short(path: str) -> str:
    parts = Path(path).parts
    for anchor in ("authorizer", "aws_lambda_powertools", "json", "logging"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    return Path(path).name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"the in-process figures only, {QUICK_ROUNDS} rounds (the test suite's check)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    fx = make_fixture()
    rounds_run = QUICK_ROUNDS if args.quick else ROUNDS
    with JwksServer(fx.jwks) as server, tempfile.TemporaryDirectory() as scratch:
        env = deployed(handler_config(server.url))
        progress(f"in process: {rounds_run} interleaved rounds of each figure and the floor")
        rows, profile, pinned = warm(fx, server, Path(scratch), rounds_run)
        if not args.quick:
            progress(f"cold start: {cold.RUNS} fresh processes of each kind, alternating")
            rows += cold.figures(fx, env, server)
            progress("memory: a fresh process holding 1,024 verified tokens")
            rows += memory.authorizer_figures(env, fx)
    print(render(rows))
    where = "on one CPU with the pipe's reader" if pinned else "NOT pinned to one CPU"
    print(f"in process: medians of interleaved rounds in thread CPU time, {where};")
    print("cold: medians of process CPU time")
    print(profile)
    return finish(rows, started, args.json, profile=profile.splitlines(), one_cpu=pinned)


if __name__ == "__main__":
    sys.exit(main())
