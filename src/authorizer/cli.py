"""``python -m authorizer check CONFIG [--openapi FILE]``, ``explain CONFIG --token TOKEN
METHOD PATH`` and ``routes-from-openapi FILE [-o OUT]``.

``check`` validates a config and lists every problem (exit 1 when there are any), the
provider profile in effect for each issuer (its defaults marked), plus route pairs that a
cached policy cannot tell apart; with ``--openapi`` it also lists the drift between the
config and the API's OpenAPI document (exit 1 when there is any). ``explain`` prints the
decision for one request and why; it exits 0 whatever the decision, non-zero only for bad
input. ``routes-from-openapi`` prints the ``routes:`` an OpenAPI document implies. A bad
OpenAPI document exits 2. The OpenAPI modules (and their parser) are imported only by the
commands that read one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from authorizer.claims import scopes_of
from authorizer.config import AuthorizerConfig, IssuerConfig
from authorizer.decision import Authorizer
from authorizer.errors import ConfigError, OpenApiError, TokenRejected
from authorizer.exactness import cache_conflicts as inherent_conflicts
from authorizer.fetch import HttpJsonFetcher
from authorizer.profiles import PROFILES
from authorizer.route_sets import Conflict
from authorizer.routes import ApiType, Route
from authorizer.sources import load_file
from authorizer.verifier import Verifier

if TYPE_CHECKING:
    from authorizer.base_path import BasePathMode

_API_NAMES = {"rest": "REST", "http": "HTTP"}
EXPLAIN_ARN = "arn:aws:execute-api:us-east-1:123456789012:explain/$default"


def cache_conflicts(config: AuthorizerConfig) -> list[tuple[Route, Route]]:
    """Route pairs that make some scope set's cached policy inexact, in config order
    (see ``exactness.cache_conflicts``, which also gives the paths)."""
    order = {r: i for i, r in enumerate(config.routes)}
    pairs: dict[tuple[Route, Route], None] = {}
    for case in inherent_conflicts(config.routes):
        a, b = sorted((case.refused, case.harmed), key=order.__getitem__)
        pairs[a, b] = None
    return sorted(pairs, key=lambda p: (order[p[0]], order[p[1]]))


def _conflict_notes(config: AuthorizerConfig) -> list[str]:
    """One note per route pair: the APIs it holds for and one request a cache gets wrong."""
    order = {r: i for i, r in enumerate(config.routes)}
    cases: dict[tuple[Route, Route], list[Conflict]] = {}
    for case in inherent_conflicts(config.routes):
        a, b = sorted((case.refused, case.harmed), key=order.__getitem__)
        cases.setdefault((a, b), []).append(case)
    notes = []
    for (a, b), found in sorted(cases.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]])):
        apis = " and ".join(dict.fromkeys(_API_NAMES[c.api] for c in found))
        case = found[0]
        granted = " and ".join(f"'{r.key}'" for r in dict.fromkeys((case.granted, case.harmed)))
        notes.append(
            f"'{a.key}' and '{b.key}' overlap in IAM wildcard terms ({apis} APIs): a token "
            f"granted {granted} but not '{case.refused.key}' needs the Deny {case.deny}, "
            f"which also refuses {case.method} {case.path} (served by '{case.harmed.key}'), "
            "so a cached policy would answer that request wrongly; such tokens get a policy "
            "for the requested resource only"
        )
    return notes


def _event(api: str, method: str, path: str, token: str) -> dict[str, Any]:
    header = {"Authorization": f"Bearer {token}"}
    if api == "websocket":
        return {"type": "REQUEST", "methodArn": f"{EXPLAIN_ARN}/$connect", "headers": header}
    arn = f"{EXPLAIN_ARN}/{method.upper()}{path if path.startswith('/') else '/' + path}"
    if api == "http":
        return {"version": "2.0", "type": "REQUEST", "routeArn": arn, "headers": header}
    return {"type": "TOKEN", "methodArn": arn, "authorizationToken": f"Bearer {token}"}


def check(
    path: str,
    openapi: str | None = None,
    base_path: BasePathMode = "ignore",
    api: ApiType = "rest",
) -> int:
    try:
        config = load_file(Path(path).absolute())  # the command line: relative to the cwd
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
    for note in _conflict_notes(config):
        print(f"  note: {note}")
    if openapi is None:
        return 0
    from authorizer.drift import compare
    from authorizer.openapi import read_document
    from authorizer.openapi_routes import rules_for

    try:
        rules = rules_for(read_document(openapi, base_path))
    except OpenApiError as e:
        return _openapi_failed(openapi, e)
    drift = compare(config.routes, rules, api)
    granted = sum(1 for r in rules if r.ungranted is None)
    print(
        f"{openapi}: {len(rules)} operation(s), {granted} granted by scopes; "
        f"{len(drift.problems)} difference(s) from the config"
    )
    for problem in drift.problems:
        print(f"  - {problem}")
    for note in drift.notes:
        print(f"  note: {note}")
    return 1 if drift.problems else 0


def routes_from_openapi(source: str, output: str | None, base_path: BasePathMode) -> int:
    from authorizer.openapi import read_document
    from authorizer.openapi_routes import render, rules_for, warnings

    try:
        document = read_document(source, base_path)
        rules = rules_for(document)
    except OpenApiError as e:
        return _openapi_failed(source, e)
    text = render(document, rules, Path(source).name, base_path)
    for line in warnings(rules):
        print(f"warning: {line}", file=sys.stderr)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        _write_whole(Path(output), text)
    except OSError as e:
        print(f"{output}: cannot write: {e.strerror}", file=sys.stderr)
        return 2
    granted = sum(1 for r in rules if r.ungranted is None)
    print(f"{output}: {granted} route(s) written", file=sys.stderr)
    return 0


def _openapi_failed(source: str, e: OpenApiError) -> int:
    print(f"{source}: {len(e.problems)} problem(s) ({e.reason})", file=sys.stderr)
    for problem in e.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 2


def _write_whole(target: Path, text: str) -> None:
    """Write all of ``text`` or leave ``target`` as it was (a temporary file, renamed)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
        ("about", profile.note),
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
        config = load_file(Path(path).absolute())  # the command line: relative to the cwd
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


def _base_path_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-path",
        choices=("ignore", "prepend", "split"),
        default="ignore",
        help="what the servers' base path does to paths, as API Gateway's import option "
        "of that name (default ignore)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m authorizer")
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="validate a config file and list its problems")
    p_check.add_argument("config")
    p_check.add_argument("--openapi", help="also list drift from this OpenAPI document")
    _base_path_option(p_check)
    p_check.add_argument(
        "--api",
        choices=("rest", "http"),
        default="rest",
        help="whose route matching decides which rule an operation reaches (default rest)",
    )
    p_explain = sub.add_parser("explain", help="show the decision for one request and why")
    p_explain.add_argument("config")
    p_explain.add_argument("--token", required=True)
    p_explain.add_argument("--api", choices=("rest", "http", "websocket"), default="rest")
    p_explain.add_argument("method", help="GET, POST... (ignored for websocket)")
    p_explain.add_argument("path", help="the request path, e.g. /orders/42, or $connect")
    p_routes = sub.add_parser(
        "routes-from-openapi", help="print the routes an OpenAPI 3.0/3.1 document implies"
    )
    p_routes.add_argument("openapi", help="the API's OpenAPI document (JSON or YAML)")
    p_routes.add_argument("-o", "--output", help="write to this file instead of stdout")
    _base_path_option(p_routes)
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            code = check(args.config, args.openapi, args.base_path, args.api)
        elif args.command == "routes-from-openapi":
            code = routes_from_openapi(args.openapi, args.output, args.base_path)
        else:
            code = explain(args.config, args.token, args.method, args.path, args.api)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``explain ... | head``): what it read is all it wanted.
        # Point stdout at /dev/null so the interpreter's last flush fails no more
        # (the recipe of the Python docs, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code
