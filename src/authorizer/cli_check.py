"""``python -m authorizer check CONFIG [--openapi FILE]``: every problem of a config, the
provider profile in effect for each issuer (its defaults marked), the route pairs a cached
policy cannot tell apart, and with ``--openapi`` the drift between the config and the
API's OpenAPI document. Exit 1 when there is any problem or drift, 2 for a bad OpenAPI
document."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from authorizer.cli_openapi import openapi_failed
from authorizer.config import AuthorizerConfig, IssuerConfig
from authorizer.errors import ConfigError, OpenApiError
from authorizer.exactness import cache_conflicts as inherent_conflicts
from authorizer.profiles import PROFILES
from authorizer.route_sets import Conflict
from authorizer.routes import ApiType, Route
from authorizer.sources import load_file

if TYPE_CHECKING:
    from authorizer.base_path import BasePathMode

_API_NAMES = {"rest": "REST", "http": "HTTP"}


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
            "so a cached policy would answer that request wrongly; such tokens' policies keep "
            "the Deny (never granting more), and where it would refuse the very request, "
            "allow only the requested resource"
        )
    return notes


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
        return openapi_failed(openapi, e)
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
