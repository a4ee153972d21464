"""Speed and memory figures for the token broker (``make bench``, after the authorizer's);
exits 1 when a target is missed.

The process looks like the deployed broker function (``lambda_env``: the Lambda runtime's
variables, ``POWERTOOLS_*`` from template.yaml); metrics are on; the audit lines go to a
file where they are checked, and while timing to a line-buffered pipe whose reader shares
the process's one CPU (``lambda_env.one_cpu``). Timings are
medians of interleaved rounds against a floor measured in the same run (``timing``).

The broker runs in process against the real test identity provider (``tests/idp``,
oidc-provider in a child ``node`` process, reached over HTTP on 127.0.0.1) and moto's
Secrets Manager, through ``token_broker.handler.handle`` with REST proxy events as API
Gateway delivers them (dicts).

1. IdP calls per 1,000 requests for one grant within one token lifetime: the identity
   provider's own count of token requests must be exactly 1.
2. A warm cache-hit request through the handler against the floor of any handler:
   ``json.loads`` of the event and ``json.dumps`` of the same response. A 403 refusal (a
   caller with no grant) is shown alongside for context.
3. The resident memory of a warm broker, and of one holding 1,024 cached tokens
   (``memory``).

The table goes to stdout, followed by the figures as JSON on the last line
(``--json PATH`` also writes them to a file).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from tools.bench import memory
from tools.bench.lambda_env import environment, one_cpu, piped_stdout, runtime_logging
from tools.bench.timing import Count, Figure, Rounds, Row, finish, progress, render

TARGET_CACHE_HIT = 4.0  # warm cache-hit handle() / (json.loads(event) + json.dumps(response))
TARGET_IDP_CALLS = 1  # token requests to the IdP per 1,000 requests, exactly

REQUESTS = 1000
ROUNDS = 100  # interleaved rounds (about 6 s)

SECRET = "scopegate/orders-api"
CLIENT = "orders-api"
SCOPES = ["orders:read", "orders:write"]

# Variables of the developer's shell that would change what the broker does or where
# boto3 goes; removed before the handler is imported.
_ENV_REMOVED = (
    "BROKER_CONFIG",
    "BROKER_CONFIG_FILE",
    "BROKER_CONFIG_PARAMETER",
    "BROKER_CONFIG_MAX_AGE",
    "POWERTOOLS_DEV",
    "POWERTOOLS_METRICS_DISABLED",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
)


# --------------------------------------------------------------------------- fixtures


def prepare_environment() -> dict[str, str]:
    """The broker function's environment (lambda_env), set in this process."""
    for name in _ENV_REMOVED:
        os.environ.pop(name, None)
    env = environment("BrokerFunction")
    os.environ.update(env)
    return env


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """File descriptor 1 (where the handler's lines go) appends to ``path``."""
    sys.stdout.flush()
    saved = os.dup(1)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(target, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(target)


def broker_doc(issuer: str, worker_role: str, resource: str) -> dict[str, Any]:
    return {
        "clients": {CLIENT: {"secret": SECRET, "issuer": issuer, "resource": resource}},
        "grants": [{"principal": worker_role, "client": CLIENT, "scopes": SCOPES}],
    }


def log_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# ---------------------------------------------------------------------------- figures


def idp_calls(handler: ModuleType, state: Any, idp: Any, scratch: Path) -> list[Row]:
    """1,000 requests for one grant from a fresh runtime; the IdP counts its token requests."""
    from tools.local.broker_harness import WORKER, rest_event

    events = [
        rest_event(WORKER, "scope=orders:read", request_id=f"req-{n}") for n in range(REQUESTS)
    ]
    log = scratch / "idp-calls.log"
    idp.reset_stats()
    with output_to(log):
        statuses = [handler.handle(state, event)["statusCode"] for event in events]
    stats = idp.stats()
    refused = [s for s in statuses if s != 200]
    if refused:
        raise SystemExit(f"bench broker: {len(refused)} requests not answered 200: {refused[:5]}")
    issued = [d for d in log_lines(log) if d.get("event") == "token_issued"]
    if len(issued) != REQUESTS:
        raise SystemExit(f"bench broker: {len(issued)} audit lines for {REQUESTS} requests")
    misses = sum(d.get("cache") == "miss" for d in issued)
    return [
        Count(
            "IdP token requests per 1,000 requests (one grant, one token lifetime)",
            stats["token_requests"],
            TARGET_IDP_CALLS,
        ),
        Count("  IdP discovery requests, same 1,000", stats["discovery_requests"]),
        Count("  audit lines with cache=miss, same 1,000", misses, unit="lines"),
    ]


def check_output(handler: ModuleType, state: Any, event: dict[str, Any], scratch: Path) -> None:
    """One cache hit into a file: the INFO audit line must be there, and metrics on."""
    if not handler.metrics.enabled:
        raise SystemExit("bench broker: the handler's metrics are disabled")
    log = scratch / "check.log"
    with output_to(log):
        response = handler.handle(state, event)
        handler.metrics.flush()  # normally once a minute; here to see the EMF document
    lines = log_lines(log)
    issued = [d for d in lines if d.get("event") == "token_issued"]
    if not issued or issued[-1].get("level") != "INFO" or issued[-1].get("cache") != "hit":
        raise SystemExit(f"bench broker: no INFO token_issued cache=hit line: {lines}")
    emf = [d for d in lines if "_aws" in d]
    if not any("CacheHit" in json.dumps(d) for d in emf):
        raise SystemExit(f"bench broker: no CacheHit EMF metric in the output: {lines}")
    if response["statusCode"] != 200:
        raise SystemExit(f"bench broker: the cache hit was answered {response}")


def cache_hit(handler: ModuleType, state: Any, idp: Any, scratch: Path) -> list[Row]:
    from tools.local.broker_harness import STRANGER, WORKER, rest_event

    event = rest_event(WORKER, "scope=orders:read")
    refusal = rest_event(STRANGER, "scope=orders:read")
    handle = handler.handle
    with output_to(scratch / "warm-up.log"):
        response = handle(state, event)  # the miss that caches the token
        response = handle(state, event)  # a hit: the response the floor serialises
        refused = handle(state, refusal)
    if response["statusCode"] != 200 or "access_token" not in json.loads(response["body"]):
        raise SystemExit(f"bench broker: expected a token, got {response}")
    if refused["statusCode"] != 403:
        raise SystemExit(f"bench broker: expected 403 for a caller with no grant, got {refused}")
    check_output(handler, state, event, scratch)
    calls, tokens = state.idp.calls, idp.stats()["token_requests"]

    event_json = json.dumps(event)
    loads, dumps = json.loads, json.dumps

    def floor() -> None:
        loads(event_json)
        dumps(response)

    with one_cpu(), piped_stdout():  # the function and its output's reader on one CPU
        rounds = Rounds(floor)
        rounds.add("hit", lambda: handle(state, event))
        rounds.add("refused", lambda: handle(state, refusal))
        rounds.run(ROUNDS)
    if state.idp.calls != calls or idp.stats()["token_requests"] != tokens:
        raise SystemExit("bench broker: the identity provider was called while timing")
    return [
        Figure("floor: json.loads(event) + json.dumps(response) (median)", rounds.floor),
        rounds.figure("warm cache-hit request through handle()", "hit", TARGET_CACHE_HIT),
        rounds.figure("  403 refusal through handle() (no grant)", "refused"),
    ]


# ------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args()
    started = time.perf_counter()

    env = prepare_environment()
    import boto3
    from moto import mock_aws

    runtime_logging()  # as Lambda's runtime, before the handler's Logger is made
    import token_broker.handler as handler
    from tools.local.broker_harness import WORKER_ROLE, put_secret, runtime
    from tools.local.idp import ORDERS_API, IdentityProvider, default_clients

    progress("starting the test identity provider and moto's Secrets Manager")
    with (
        IdentityProvider(default_clients()) as idp,
        mock_aws(),
        tempfile.TemporaryDirectory() as scratch,
    ):
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        put_secret(
            secrets, SECRET, {"client_id": "writer", "client_secret": idp.client_secret("writer")}
        )
        doc = broker_doc(idp.issuer, WORKER_ROLE, ORDERS_API)
        progress(f"{REQUESTS} requests for one grant through a fresh runtime")
        rows: list[Row] = list(idp_calls(handler, runtime(doc, secrets), idp, Path(scratch)))
        progress(f"cache hit: {ROUNDS} interleaved rounds of each figure and the floor")
        rows += cache_hit(handler, runtime(doc, secrets), idp, Path(scratch))

    progress("memory: a fresh process holding 1,024 cached tokens")
    rows += memory.broker_figures(env)
    print(render(rows))
    print(f"timings: medians of {ROUNDS} interleaved rounds")
    return finish(rows, started, args.json)


if __name__ == "__main__":
    sys.exit(main())
