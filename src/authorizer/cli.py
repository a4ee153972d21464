"""``python -m authorizer check CONFIG`` and ``explain CONFIG --token TOKEN METHOD PATH``.

``check`` validates a config and lists every problem (exit 1 when there are any), the
provider profile in effect for each issuer (its defaults marked), plus route pairs that
a cached policy cannot tell apart. ``explain`` prints the decision for
one request and why; it exits 0 whatever the decision, non-zero only for bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from authorizer.claims import scopes_of
from authorizer.config import AuthorizerConfig, IssuerConfig
from authorizer.decision import Authorizer
from authorizer.errors import ConfigError, TokenRejected
from authorizer.fetch import HttpJsonFetcher
from authorizer.patterns import glob_tokens, overlaps, template_tokens
from authorizer.profiles import PROFILES
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
    for issuer in config.issuers:
        for line in profile_lines(issuer):
            print(f"  {line}")
    for a, b in cache_conflicts(config):
        print(
            f"  note: '{a.key}' and '{b.key}' overlap in IAM wildcard terms; a cached policy "
            "for a token granted only one of them is narrowed to the requested resource"
        )
    return 0


def profile_lines(issuer: IssuerConfig) -> list[str]:
    """The rules in effect for one issuer, the provider's defaults marked as such."""
    profile = PROFILES[issuer.provider]
    default = f" ({issuer.provider} default)"

    def listed(values: Iterable[str]) -> str:
        return ", ".join(values if isinstance(values, tuple) else sorted(values))

    rules = [f"{r.claim} = {r.value!r} ({r.reason})" for r in issuer.profile_claims]
    rules += [f"{k} = {v!r} (required_claim_mismatch)" for k, v in issuer.required_claims]
    provider = issuer.provider + (" (default)" if issuer.provider == "generic" else "")
    client_claim = " or ".join(issuer.client_id_claims)
    rows = [
        (
            "scopes from",
            listed(issuer.scope_claims) + (default if "scope_claims" in issuer.defaults else ""),
        ),
        (
            "audience",
            f"aud must be one of {listed(issuer.audiences)}"
            if issuer.audiences
            else "aud not checked",
        ),
        (
            "client id",
            f"{client_claim} must be one of {listed(issuer.client_ids)}"
            if issuer.client_ids
            else f"not checked (the claim is {client_claim})",
        ),
        (
            "token type",
            f"typ must be one of {listed(issuer.token_types)} (any case, application/ optional)"
            if issuer.token_types
            else "typ not checked",
        ),
        ("required", "; ".join(rules) if rules else "none"),
        ("always", f"signature with {listed(issuer.algorithms)}, exact iss, exp"),
        ("note", profile.note),
    ]
    return [f"issuer {issuer.issuer}: provider {provider}"] + [
        f"  {label + ':':<12} {value}" for label, value in rows
    ]


def scope_sources(claims: dict[str, Any], issuer: IssuerConfig) -> str:
    """Which claims gave the scopes: ``orders:read (from scp)``."""
    parts = []
    for name in issuer.scope_claims:
        if name not in claims:
            continue
        try:
            found = scopes_of(claims, dataclasses.replace(issuer, scope_claims=(name,)))
        except TokenRejected:
            continue
        parts.append(f"{' '.join(sorted(found)) or '(none)'} (from {name})")
    return "; ".join(parts) or f"- (none of {', '.join(issuer.scope_claims)} is present)"


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
    if decision.claim is not None:
        print(f"claim:    {decision.claim}")
    if decision.detail is not None:
        print(f"why:      {decision.detail}")
    if decision.token is not None:
        claims = decision.token.claims
        issuer = next(i for i in config.issuers if i.issuer == decision.token.issuer)
        print(f"issuer:   {decision.token.issuer} (provider {issuer.provider})")
        print(f"sub:      {claims.get('sub')}")
        print(f"scopes:   {' '.join(sorted(decision.token.scopes)) or '-'}")
        print(f"          {scope_sources(claims, issuer)}")
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
