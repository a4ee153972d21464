"""The authorizer's configuration (schema version 1): the document as a whole.

Validation collects every problem it finds so ``python -m authorizer check`` can list them
all; anything invalid raises ``ConfigError`` and the handler fails closed. An issuer entry
is read by issuer_entries.py, a route entry by route_entries.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from authorizer.config_checks import strings
from authorizer.errors import ConfigError
from authorizer.issuer_entries import IssuerConfig, issuer_entry
from authorizer.route_entries import renamed_siblings, route_entry
from authorizer.routes import Route
from scopegate_core.documents import got

__all__ = ["AuthorizerConfig", "ConfigProblems", "IssuerConfig", "validate"]

DEFAULT_CONTEXT_CLAIMS = ("sub", "client_id", "scope")
_TOP_KEYS = frozenset({"issuers", "routes", "context_claims", "http_api_response"})


@dataclass(frozen=True, slots=True)
class AuthorizerConfig:
    issuers: tuple[IssuerConfig, ...]
    routes: tuple[Route, ...]
    context_claims: tuple[str, ...]
    http_api_response: Literal["simple", "iam"]


class ConfigProblems(ConfigError):
    """Every problem found in one document."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration: " + "; ".join(problems))
        self.problems = problems


def validate(doc: object) -> AuthorizerConfig:
    """Turn a parsed document into a config, or raise ``ConfigProblems`` listing every fault."""
    if not isinstance(doc, Mapping):
        raise ConfigProblems(["the document must be a mapping with 'issuers' and 'routes'"])
    problems: list[str] = []
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        problems.append(f"unknown top-level keys {sorted(unknown)}")
    issuers: list[IssuerConfig] = []
    raw_issuers = doc.get("issuers")
    if not isinstance(raw_issuers, list) or not raw_issuers:
        problems.append("'issuers' must be a non-empty list")
        raw_issuers = []
    for n, raw in enumerate(raw_issuers):
        issuer = issuer_entry(raw, n, problems)
        if issuer is not None:
            issuers.append(issuer)
    seen_iss = [i.issuer for i in issuers]
    for twice in sorted({i for i in seen_iss if seen_iss.count(i) > 1}):
        problems.append(f"the issuer {twice!r} is listed twice: give each issuer one entry")
    routes: list[Route] = []
    raw_routes = doc.get("routes")
    if not isinstance(raw_routes, list) or not raw_routes:
        problems.append("'routes' must be a non-empty list")
        raw_routes = []
    shapes: dict[tuple[object, ...], str] = {}
    distinct: list[tuple[int, Route]] = []
    for n, raw in enumerate(raw_routes):
        route = route_entry(raw, n, problems)
        if route is None:
            continue
        shape = (
            route.method,
            *((s.kind, s.text if s.kind == "literal" else "") for s in route.segments),
        )
        if route.websocket:
            shape = (route.key,)
        if shape in shapes:
            problems.append(f"routes[{n}] {route.key!r} repeats {shapes[shape]!r}")
        else:
            distinct.append((n, route))
        shapes[shape] = route.key
        routes.append(route)
    problems += renamed_siblings(distinct)
    try:
        context = strings(
            doc.get("context_claims", list(DEFAULT_CONTEXT_CLAIMS)),
            "context_claims",
            allow_empty=True,
        )
    except ConfigError as e:
        problems.append(str(e))
        context = ()
    mode = doc.get("http_api_response", "simple")
    if mode not in ("simple", "iam"):
        problems.append(f"http_api_response must be 'simple' or 'iam', not {got(mode)}")
        mode = "simple"
    if problems:
        raise ConfigProblems(problems)
    return AuthorizerConfig(tuple(issuers), tuple(routes), context, mode)
