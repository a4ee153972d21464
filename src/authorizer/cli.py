"""``python -m authorizer check CONFIG`` and ``explain CONFIG --token TOKEN METHOD PATH``.

``check`` validates a config and lists every problem (exit 1 when there are any), plus
route pairs that a cached policy cannot tell apart. ``explain`` prints the decision for
one request and why; it exits 0 whatever the decision, non-zero only for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from authorizer.config import AuthorizerConfig
from authorizer.decision import Authorizer
from authorizer.errors import ConfigError
from authorizer.fetch import HttpJsonFetcher
from authorizer.patterns import glob_tokens, overlaps, template_tokens
from authorizer.routes import Route
from authorizer.sources import load_file
from authorizer.verifier import Verifier

EXPLAIN_ARN = "arn:aws:execute-api:us-east-1:123456789012:explain/$default"


def cache_conflicts(config: AuthorizerConfig) -> list[tuple[Route, Route]]:
    """Pairs whose IAM patterns reach into each other's paths with different scopes."""
    routes = [r for r in config.routes if not r.websocket]
    found = []
    for i, a in enumerate(routes):
        for b in routes[i + 1 :]:
            same_rule = (a.any_scopes, a.all_scopes) == (b.any_scopes, b.all_scopes)
            if same_rule or not set(a.methods) & set(b.methods):
                continue
            if overlaps(glob_tokens(a), template_tokens(b)) and overlaps(
                glob_tokens(b), template_tokens(a)
            ):
                found.append((a, b))
    return found


def _event(api: str, method: str, path: str, token: str) -> dict[str, Any]:
    header = {"Authorization": f"Bearer {token}"}
    if api == "websocket":
        return {"type": "REQUEST", "methodArn": f"{EXPLAIN_ARN}/$connect", "headers": header}
    arn = f"{EXPLAIN_ARN}/{method.upper()}{path if path.startswith('/') else '/' + path}"
    if api == "http":
        return {"version": "2.0", "type": "REQUEST", "routeArn": arn, "headers": header}
    return {"type": "TOKEN", "methodArn": arn, "authorizationToken": f"Bearer {token}"}


def check(path: str) -> int:
    try:
        config = load_file(path)
    except ConfigError as e:
        problems = getattr(e, "problems", [str(e)])
        print(f"{path}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"{path}: OK ({len(config.issuers)} issuer(s), {len(config.routes)} route(s))")
    for a, b in cache_conflicts(config):
        print(
            f"  note: '{a.key}' and '{b.key}' overlap in IAM wildcard terms; a cached policy "
            "for a token granted only one of them is narrowed to the requested resource"
        )
    return 0


def explain(path: str, token: str, method: str, route_path: str, api: str) -> int:
    try:
        config = load_file(path)
    except ConfigError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 2
    authorizer = Authorizer(config, Verifier(config.issuers, HttpJsonFetcher()))
    decision = authorizer.decide(_event(api, method, route_path, token))
    print(f"decision: {decision.effect} ({decision.reason})")
    print(f"route:    {decision.route or '-'}")
    if decision.token is not None:
        claims = decision.token.claims
        print(f"issuer:   {decision.token.issuer}")
        print(f"sub:      {claims.get('sub')}")
        print(f"scopes:   {' '.join(sorted(decision.token.scopes)) or '-'}")
    if decision.response is not None:
        print("response: " + json.dumps(decision.response, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m authorizer")
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="validate a config file and list its problems")
    p_check.add_argument("config")
    p_explain = sub.add_parser("explain", help="show the decision for one request and why")
    p_explain.add_argument("config")
    p_explain.add_argument("--token", required=True)
    p_explain.add_argument("--api", choices=("rest", "http", "websocket"), default="rest")
    p_explain.add_argument("method", help="GET, POST... (ignored for websocket)")
    p_explain.add_argument("path", help="the request path, e.g. /orders/42, or $connect")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args.config)
    return explain(args.config, args.token, args.method, args.path, args.api)
