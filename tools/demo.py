"""`make demo`: run scopegate locally against the real test identity provider.

Starts the test IdP (tests/idp, oidc-provider) on 127.0.0.1, configures the authorizer from
tools/demo-config.yaml for that issuer, gets access tokens for several clients, sends
authorizer events of every API type (built from events/*.json) to
``authorizer.handler.lambda_handler`` and prints what API Gateway would answer. Then the
token broker (tools/demo_broker.py): ECS tasks get tokens through SigV4, and those tokens
go through the authorizer. Every row carries the expected outcome, so the demo is also a
smoke check: it exits 1 on a mismatch.

    PYTHONPATH=src:. python -m tools.demo [--verbose]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from tools import demo_broker
from tools.local.iam import iam_allows
from tools.local.idp import ORDERS_API, IdentityProvider, default_clients

ROOT = Path(__file__).resolve().parents[1]
CONFIG_TEMPLATE = ROOT / "tools" / "demo-config.yaml"
ARN_PREFIX = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod"
PLACEHOLDER = "REPLACE_WITH_TOKEN"
EVENT_FILES = {
    "REST TOKEN": "authorizer-rest-token.json",
    "REST REQUEST": "authorizer-rest-request.json",
    "HTTP v1": "authorizer-http-v1.json",
    "HTTP v2": "authorizer-http-v2.json",
    "WebSocket": "authorizer-websocket-connect.json",
}
CLIENTS = ("reader", "writer", "partial-admin", "admin", "ws")
ALLOW, DENY, UNAUTH = "200 allow", "403 deny", "401 Unauthorized"
HEAD = ("API", "client", "request", "outcome", "principalId", "check")
BROKER_API = "REST REQUEST"  # how tasks present the broker's tokens to the API

# (API type, client or bad token, "METHOD /path" or "$connect", expected outcome)
REQUESTS: list[tuple[str, str, str, str]] = [
    ("REST TOKEN", "reader", "GET /orders/42", ALLOW),
    ("REST TOKEN", "reader", "POST /orders", DENY),
    ("REST TOKEN", "writer", "POST /orders", ALLOW),
    ("REST TOKEN", "reader", "GET /orders/42/items", DENY),
    ("REST TOKEN", "writer", "GET /orders/42/items", ALLOW),
    ("REST TOKEN", "(no token)", "GET /orders", UNAUTH),
    ("REST TOKEN", "(tampered)", "GET /orders", UNAUTH),
    ("REST TOKEN", "(garbage)", "GET /orders", UNAUTH),
    ("REST REQUEST", "reader", "GET /orders", ALLOW),
    ("REST REQUEST", "reader", "GET /customers", DENY),
    ("REST REQUEST", "admin", "DELETE /admin/users/7", ALLOW),
    ("REST REQUEST", "partial-admin", "DELETE /admin/users/7", DENY),
    ("REST REQUEST", "(no token)", "GET /orders", UNAUTH),
    ("HTTP v1", "reader", "GET /orders/42", ALLOW),
    ("HTTP v1", "writer", "POST /orders", ALLOW),
    ("HTTP v1", "ws", "GET /orders", DENY),
    ("HTTP v1", "(tampered)", "GET /orders/42", UNAUTH),
    ("HTTP v2", "reader", "GET /orders", ALLOW),
    ("HTTP v2", "reader", "POST /orders", DENY),
    ("HTTP v2", "admin", "PUT /admin/settings", ALLOW),
    ("HTTP v2", "partial-admin", "GET /admin/x", DENY),
    ("HTTP v2", "(garbage)", "GET /orders", UNAUTH),
    ("WebSocket", "ws", "$connect", ALLOW),
    ("WebSocket", "reader", "$connect", DENY),
    ("WebSocket", "(no token)", "$connect", UNAUTH),
]
# The reader's policy for GET /orders/42, as API Gateway would reuse it from its cache.
CACHED_FOR = "GET /orders/42"
CACHE_REUSES = [("GET /orders/7", ALLOW)] + [
    (r, DENY) for r in ("GET /orders/42/items", "POST /orders", "GET /admin/x")
]


@dataclass
class Row:
    """One authorizer request and its outcome."""

    api: str
    client: str
    request: str
    expected: str
    outcome: str
    principal: str

    @property
    def ok(self) -> bool:
        return self.outcome == self.expected

    @property
    def cells(self) -> tuple[str, ...]:
        check = "ok" if self.ok else f"EXPECTED {self.expected}"
        return (self.api, self.client, self.request, self.outcome, self.principal, check)


def arn_for(request: str) -> str:
    """The method/route ARN API Gateway puts in the event for ``METHOD /path``."""
    return f"{ARN_PREFIX}/{request.replace(' /', '/', 1)}"


def build_event(api: str, token: str | None, request: str) -> dict[str, Any]:
    """A sample event retargeted at ``request``; the authorizer reads only the ARN and token.

    (The sample's other request fields, such as ``httpMethod``, keep their original values.)
    """
    text = (ROOT / "events" / EVENT_FILES[api]).read_text(encoding="utf-8")
    event: dict[str, Any] = json.loads(text.replace(PLACEHOLDER, token or ""))
    event["routeArn" if api == "HTTP v2" else "methodArn"] = arn_for(request)
    if token is None:  # no Authorization header at all (TOKEN authorizer: an empty token)
        for key in ("headers", "multiValueHeaders"):
            headers = event.get(key, {})
            for name in [n for n in headers if n.lower() == "authorization"]:
                del headers[name]
        event.pop("identitySource", None)
        event.pop("authorizationToken", None)
        if api == "REST TOKEN":
            event["authorizationToken"] = ""
    return event


def tamper(token: str) -> str:
    """Flip one character in the middle of the signature."""
    head, _, signature = token.rpartition(".")
    i = len(signature) // 2
    return f"{head}.{signature[:i]}{'B' if signature[i] == 'A' else 'A'}{signature[i + 1 :]}"


def judge(api: str, request: str, response: dict[str, Any]) -> tuple[str, str]:
    """(outcome, principalId) of a handler response, as API Gateway would judge it."""
    if "isAuthorized" in response:  # HTTP API payload 2.0, simple response
        return (ALLOW if response["isAuthorized"] is True else DENY), "-"
    allowed = iam_allows(response["policyDocument"], arn_for(request))
    return (ALLOW if allowed else DENY), str(response.get("principalId", "-"))


def configure(issuer: str, verbose: bool) -> None:
    """The environment the handler reads on import and first invocation."""
    config = yaml.safe_load(CONFIG_TEMPLATE.read_text(encoding="utf-8"))
    config["issuers"][0]["issuer"] = issuer
    assert config["issuers"][0]["audiences"] == [ORDERS_API]
    for name in ("AUTHORIZER_CONFIG_FILE", "AUTHORIZER_CONFIG_PARAMETER"):
        os.environ.pop(name, None)  # several config sources at once fail closed
    os.environ["AUTHORIZER_CONFIG"] = json.dumps(config)
    if not verbose:
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        # Powertools 3.37 still prints single_metric() EMF lines (the JWKS fetch count) and
        # warns about the never-flushed metric set when metrics are disabled; hide both.
        warnings.filterwarnings("ignore", module="aws_lambda_powertools")


class TableRow(Protocol):
    """What print_table and the final verdict need of a row (a Row or a demo_broker.Step)."""

    @property
    def ok(self) -> bool: ...
    @property
    def cells(self) -> tuple[str, ...]: ...


def print_table(title: str, head: tuple[str, ...], rows: Sequence[TableRow]) -> None:
    cells = [r.cells for r in rows]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    print(f"\n{title}")
    for line in [head, tuple("-" * w for w in widths), *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def decide(api: str, token: str | None, request: str, verbose: bool) -> tuple[Any, str, str]:
    """(response, outcome, principalId) of one authorizer invocation; never raises."""
    from authorizer.decision import Unauthorized  # after configure(): env read on import
    from authorizer.handler import lambda_handler

    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    try:
        with quiet:  # EMF metric prints only: the logger keeps the real stdout
            response = lambda_handler(build_event(api, token, request), None)
        return response, *judge(api, request, response)
    except Unauthorized as e:  # API Gateway answers 401 only for exactly this message
        return {}, UNAUTH if str(e) == "Unauthorized" else f"raised {e!r}", "-"
    except Exception as e:  # noqa: BLE001 - a crash is a failed row, not a crashed demo
        return {}, f"error: {e!r}", "-"


def run(idp: IdentityProvider, verbose: bool) -> list[Row]:
    configure(idp.issuer, verbose)
    scopes = {c["client_id"]: c["scope"] for c in default_clients()}
    tokens: dict[str, str | None] = {
        c: idp.token(c, idp.client_secret(c), scope=scopes[c]) for c in CLIENTS
    }
    reader = tokens["reader"]
    assert reader is not None
    tokens |= {"(no token)": None, "(tampered)": tamper(reader), "(garbage)": "not-a-jwt"}

    rows: list[Row] = []
    cached: dict[str, Any] | None = None
    for api, client, request, expected in REQUESTS:
        response, outcome, principal = decide(api, tokens[client], request, verbose)
        rows.append(Row(api, client, request, expected, outcome, principal))
        if (api, client, request) == ("REST TOKEN", "reader", CACHED_FOR):
            cached = response
    print_table("Requests (API Gateway's answer for each authorizer response)", HEAD, rows)

    assert cached is not None
    assert "policyDocument" in cached
    cache_rows = [
        Row("REST TOKEN", "reader", r, expected, *judge("REST TOKEN", r, cached))
        for r, expected in CACHE_REUSES
    ]
    title = f"Cache safety: the reader's policy from {CACHED_FOR}, reused for"
    print_table(title, HEAD, cache_rows)
    if verbose:
        print(json.dumps(cached["policyDocument"], indent=2))
    return rows + cache_rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--verbose", action="store_true", help="keep Powertools logs/metrics")
    args = parser.parse_args()
    started = time.monotonic()
    idp = IdentityProvider(default_clients()).start()
    try:
        print(f"test identity provider: {idp.issuer} (audience {ORDERS_API})")
        rows: list[TableRow] = [*run(idp, args.verbose)]
        steps = demo_broker.run(idp, lambda t, r: decide(BROKER_API, t, r, args.verbose)[1:])
        print_table(demo_broker.TITLE, demo_broker.HEAD, steps)
        rows += steps
    finally:
        idp.stop()
    failed = [r for r in rows if not r.ok]
    took = time.monotonic() - started
    if failed:
        print(f"\nFAILED: {len(failed)} of {len(rows)} rows differ from the expected outcome")
        return 1
    print(f"\nall {len(rows)} rows as expected ({took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
