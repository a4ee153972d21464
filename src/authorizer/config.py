"""The authorizer's configuration (schema version 1): parsing and validation.

Validation collects every problem it finds so ``python -m authorizer check`` can list them
all; anything invalid raises ``ConfigError`` and the handler fails closed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from authorizer.errors import ConfigError
from authorizer.jws import ALGORITHMS
from authorizer.profiles import PROFILES, PROVIDERS, ClaimRule, Provider, profile_rules, token_type
from authorizer.routes import Route, Segment, parse_route
from scopegate_core.documents import got
from scopegate_core.errors import DocumentError
from scopegate_core.urls import check_url

DEFAULT_ALGORITHMS = ("RS256",)
DEFAULT_SCOPE_CLAIMS = ("scope", "scp")
DEFAULT_CONTEXT_CLAIMS = ("sub", "client_id", "scope")

_ISSUER_KEYS = frozenset(
    {
        "issuer",
        "audiences",
        "algorithms",
        "jwks_uri",
        "scope_claims",
        "required_claims",
        "leeway_seconds",
        "provider",
        "client_ids",
        "token_types",
    }
)
_ROUTE_KEYS = frozenset({"route", "scopes", "all_scopes"})
_NO_STRINGS: tuple[str, ...] = ()
_TOP_KEYS = frozenset({"issuers", "routes", "context_claims", "http_api_response"})


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    issuer: str
    audiences: frozenset[str]  # empty: `aud` is not checked (the issuer has client_ids)
    algorithms: frozenset[str]
    jwks_uri: str | None
    scope_claims: tuple[str, ...]
    required_claims: tuple[tuple[str, Any], ...]
    leeway_seconds: int
    provider: Provider = "generic"
    client_ids: frozenset[str] = frozenset()  # empty: the client id is not checked
    token_types: frozenset[str] = frozenset()  # normalised (profiles.token_type); empty: any
    client_id_claims: tuple[str, ...] = PROFILES["generic"].client_id_claims
    profile_claims: tuple[ClaimRule, ...] = ()  # the profile's rules not overridden
    defaults: frozenset[str] = frozenset()  # keys whose value is the profile's default


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


def _strings(value: object, what: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{what} must be a list of non-empty strings, not {got(value)}")
    if not value and not allow_empty:
        raise ConfigError(f"{what} must not be empty")
    return tuple(value)


def _scopes(value: object, what: str) -> tuple[str, ...]:
    """Scope names: each one RFC 6749 section 3.3 scope-token, so never with whitespace."""
    scopes = _strings(value, what)
    spaced = [s for s in scopes if any(c.isspace() for c in s)]
    if spaced:
        hint = "; write a list of scopes" if isinstance(value, str) else ""
        raise ConfigError(
            f"{what}: {', '.join(map(repr, spaced))} contains whitespace, which no token's "
            f"scope can (RFC 6749 section 3.3: a scope is one token){hint}"
        )
    return scopes


def _algorithm(alg: str, what: str) -> None:
    if alg in ALGORITHMS:
        return
    if alg.upper() == "NONE" or alg.upper().startswith("HS"):
        raise ConfigError(
            f"{what}: {alg!r} refused ('none' and HS* are never accepted: an issuer's "
            "tokens must be signed with its private key)"
        )
    raise ConfigError(
        f"{what}: unknown algorithm {alg!r} refused; choose from {sorted(ALGORITHMS)}"
    )


class _Collector:
    """Runs one check after another, keeping each ``DocumentError`` (the authorizer's
    ``ConfigError`` is one) as a problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.failed = False

    def __call__[T](self, check: Callable[[], T], default: T) -> T:
        try:
            return check()
        except DocumentError as e:
            self.add(str(e))
            return default

    def add(self, problem: str) -> None:
        self.problems.append(problem)
        self.failed = True


def _issuer(raw: object, n: int, problems: list[str]) -> IssuerConfig | None:
    where = f"issuers[{n}]"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping, not {got(raw)}")
        return None
    check = _Collector(problems)
    unknown = set(raw) - _ISSUER_KEYS
    if unknown:
        check.add(f"{where}: unknown keys {sorted(unknown)}")
    issuer = check(lambda: check_url(raw.get("issuer"), f"{where}.issuer"), "")
    provider = raw.get("provider", "generic")
    if provider not in PROVIDERS:
        check.add(
            f"{where}.provider {provider!r} is not a known provider; choose one of "
            f"{', '.join(PROVIDERS)}"
        )
        provider = "generic"
    profile = PROFILES[provider]

    def listed(key: str) -> tuple[str, ...]:
        """An optional list key: () when absent; a present one must hold strings."""
        if key not in raw:
            return ()
        return check(lambda: _strings(raw[key], f"{where}.{key}"), _NO_STRINGS)

    audiences, client_ids = listed("audiences"), listed("client_ids")
    if "audiences" not in raw and "client_ids" not in raw:
        check.add(
            f"{where}: give 'audiences' (the token's aud), 'client_ids' (its client id claim:"
            f" {' or '.join(profile.client_id_claims)}) or both"
        )
    what = f"{where}.algorithms"
    algorithms = check(
        lambda: _strings(raw.get("algorithms", list(DEFAULT_ALGORITHMS)), what), _NO_STRINGS
    )
    for alg in algorithms:
        check(partial(_algorithm, alg, what), None)
    jwks_uri = raw.get("jwks_uri")
    if jwks_uri is not None:
        jwks_uri = check(lambda: check_url(jwks_uri, f"{where}.jwks_uri"), None)
    defaults = {k for k in ("scope_claims",) if k not in raw}
    scope_claims = check(
        lambda: _strings(
            raw.get("scope_claims", list(profile.scope_claims)), f"{where}.scope_claims"
        ),
        _NO_STRINGS,
    )
    token_types = listed("token_types")  # RFC 8725 explicit typing; absent: typ is not read
    required = raw.get("required_claims", {})
    if not isinstance(required, dict) or not all(isinstance(k, str) for k in required):
        check.add(
            f"{where}.required_claims must be a mapping of claim to value, not {got(required)}"
        )
        required = {}
    leeway = raw.get("leeway_seconds", 0)
    if isinstance(leeway, bool) or not isinstance(leeway, int) or not 0 <= leeway <= 300:
        check.add(f"{where}.leeway_seconds must be an integer from 0 to 300, not {got(leeway)}")
    rules: tuple[ClaimRule, ...] = ()
    if issuer:
        try:
            rules = profile_rules(provider, issuer)
        except ConfigError as e:
            check.add(f"{where}.issuer: {e}")
        if provider == "auth0" and not issuer.endswith("/"):
            check.add(
                f"{where}.issuer: an auth0 issuer ends with '/' (https://{{tenant}}.auth0.com/),"
                " as its tokens' iss does"
            )
    if check.failed:
        return None
    return IssuerConfig(
        issuer,
        frozenset(audiences),
        frozenset(algorithms),
        jwks_uri,
        scope_claims,
        tuple(required.items()),
        leeway,
        provider,
        frozenset(client_ids),
        frozenset(token_type(t) for t in token_types),
        profile.client_id_claims,
        tuple(rule for rule in rules if rule.claim not in required),  # explicit keys win
        frozenset(defaults),
    )


def _route(raw: object, n: int, problems: list[str]) -> Route | None:
    where = f"routes[{n}]"
    if not isinstance(raw, dict):
        problems.append(
            f"{where} must be a mapping with 'route' and 'scopes' or 'all_scopes', not {got(raw)}"
        )
        return None
    check = _Collector(problems)
    unknown = set(raw) - _ROUTE_KEYS
    if unknown:
        check.add(f"{where}: unknown keys {sorted(unknown)}")
    if "scopes" not in raw and "all_scopes" not in raw:
        check.add(f"{where}: give 'scopes' (any of) or 'all_scopes' (all of)")
    any_scopes = (
        check(lambda: _scopes(raw["scopes"], f"{where}.scopes"), _NO_STRINGS)
        if "scopes" in raw
        else _NO_STRINGS
    )
    all_scopes = (
        check(lambda: _scopes(raw["all_scopes"], f"{where}.all_scopes"), _NO_STRINGS)
        if "all_scopes" in raw
        else ()
    )
    text = raw.get("route")
    if not isinstance(text, str):
        check.add(f"{where}.route must be a string like 'GET /orders/{{id}}', not {got(text)}")
        return None
    try:
        # returned even when its scopes were refused, so checks across routes see it
        return parse_route(text, any_scopes=frozenset(any_scopes), all_scopes=frozenset(all_scopes))
    except ConfigError as e:
        check.add(f"{where}: {e}")
        return None


def _renamed_siblings(routes: list[tuple[int, Route]]) -> list[str]:
    """API Gateway allows one path variable name per position under a parent
    (``/orders/{id}`` next to ``/orders/{orderId}/items`` is refused at deploy)."""
    problems: list[str] = []
    seen: dict[tuple[Segment, ...], tuple[str, Route]] = {}
    for n, route in routes:
        for i, seg in enumerate(route.segments):
            if seg.kind != "param":
                continue
            name, other = seen.setdefault(route.segments[:i], (seg.text, route))
            if name != seg.text:
                problems.append(
                    f"routes[{n}] {route.key!r}: path variable {{{seg.text}}} next to "
                    f"{{{name}}} of {other.key!r}; API Gateway allows one variable name per "
                    "position, so use the same name in both"
                )
                break
    return problems


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
        issuer = _issuer(raw, n, problems)
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
        route = _route(raw, n, problems)
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
    problems += _renamed_siblings(distinct)
    try:
        context = _strings(
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
