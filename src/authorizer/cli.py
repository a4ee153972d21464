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
    """Route pairs that can make a cached policy inexact (see ``policy.build_scope_policy``).

    A route R that a token may lack is a problem when some other route's pattern reaches
    into R's paths (R must be denied) while R's own pattern reaches into the paths of some
    other route (so denying R would refuse that one): the two may be different routes.
    """
    routes = [r for r in config.routes if not r.websocket]
    found: list[tuple[Route, Route]] = []
    for r in routes:
        others = [o for o in routes if (o.any_scopes, o.all_scopes) != (r.any_scopes, r.all_scopes)]
        for method in r.methods:
            rivals = [o for o in others if method in o.methods]
            needers = [g for g in rivals if overlaps(glob_tokens(g), template_tokens(r))]
            harmed = [g for g in rivals if overlaps(glob_tokens(r), template_tokens(g))]
            if needers and harmed:
                for x, y in ((needers[0], r), (r, harmed[0])):
                    pair = (x, y) if routes.index(x) < routes.index(y) else (y, x)
                    if pair not in found:
                        found.append(pair)
    return sorted(found, key=lambda p: (routes.index(p[0]), routes.index(p[1])))


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
