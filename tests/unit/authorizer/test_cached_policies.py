"""The promise "caching is safe", checked for random route tables against an oracle.

API Gateway caches the policy the authorizer returns for one request (per token) and judges
later requests to *other* routes with it. So for random route tables (literals, ``{param}``,
``{proxy+}``, ``ANY``, nesting), random scope sets, REST and HTTP APIs: for every trigger
request (a path of every route, and paths no route serves), the policy ``decide`` returns
is judged, as a cached copy would be, for every concrete path of every route. The oracle is
written apart from ``src/``: ``tools.local.routes.RouteMap`` picks the route as API Gateway
does and ``tools.local.iam`` judges the policy as IAM does.

- Where the policy for the scope set is exact, every routed request is answered as the
  config does; where it is not, nothing is ever granted that the config refuses, and
  ``check`` (``exactness.cache_conflicts``) reports the route pairs that make it so.
- The trigger itself is always answered as the config does, and a request no route serves
  is refused without refusing the token's other routes.
- Paths no route serves are never allowed beyond the granted routes' own IAM patterns.

The test prints how many generated tables had an inexact scope set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authorizer.config import AuthorizerConfig, validate
from authorizer.decision import Authorizer
from authorizer.exactness import cache_conflicts
from authorizer.verifier import Verifier
from tests.support.issuer import AUDIENCE, ISSUER, LocalIssuer
from tools.local.iam import iam_allows
from tools.local.routes import Api, Route, RouteMap, split

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod"
LITERALS = ["a", "b", "files"]
VALUES = [*LITERALS, "x"]  # what a {param} or {proxy+} segment holds in a request
SCOPES = ["s1", "s2", "s3"]
METHODS = ["GET", "POST", "DELETE"]  # DELETE only reaches ANY routes
IDP = LocalIssuer()
TOKENS: dict[str, str] = {}


@st.composite
def route_texts(draw: st.DrawFn) -> str:
    """A route; a {param}'s name depends on its position only, as API Gateway requires of
    siblings."""
    n = draw(st.integers(0, 3))
    segs = [draw(st.sampled_from([*LITERALS, f"{{p{i}}}"])) for i in range(n)]
    if draw(st.integers(0, 2)) == 0 and n < 3:
        segs.append("{proxy+}")
    return f"{draw(st.sampled_from(['GET', 'POST', 'ANY']))} /{'/'.join(segs)}"


@st.composite
def tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    texts = draw(st.lists(route_texts(), min_size=1, max_size=6, unique=True))
    rules: list[dict[str, Any]] = []
    for text in texts:
        key = "scopes" if draw(st.booleans()) else "all_scopes"
        scopes = draw(st.lists(st.sampled_from(SCOPES), min_size=1, max_size=2, unique=True))
        rules.append({"route": text, key: scopes})
    return rules


@st.composite
def paths_of(draw: st.DrawFn, route: Route) -> str:
    parts: list[str] = []
    for seg in route.segments:
        if seg.endswith("+}"):
            parts += draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=3))
        elif seg.startswith("{"):
            parts.append(draw(st.sampled_from(VALUES)))
        else:
            parts.append(seg)
    return "/" + "/".join(parts)


@dataclass
class Tally:
    tables: int = 0
    inexact: int = 0
    apis: set[str] = field(default_factory=set)


def config_of(raw: list[dict[str, Any]]) -> AuthorizerConfig:
    issuer = {"issuer": ISSUER, "audiences": [AUDIENCE]}
    return validate({"issuers": [issuer], "routes": raw, "http_api_response": "iam"})


def token_for(scopes: frozenset[str]) -> str:
    text = " ".join(sorted(scopes))
    if text not in TOKENS:
        TOKENS[text] = IDP.token(text)
    return TOKENS[text]


def event(api: str, method: str, path: str, token: str) -> dict[str, Any]:
    arn = f"{PREFIX}/{method}{path}"
    if api == "http":
        return {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": arn,
            "headers": {"authorization": f"Bearer {token}"},
        }
    return {"type": "TOKEN", "methodArn": arn, "authorizationToken": f"Bearer {token}"}


def expected(oracle: RouteMap, rules: dict[str, Any], api: Api, method: str, path: str) -> bool:
    route = oracle.match(api, method, split(path))
    return route is not None and rules[route.key]


def granted_rules(raw: list[dict[str, Any]], scopes: frozenset[str]) -> dict[str, Any]:
    """The config's decision per route, written out here rather than taken from src/."""
    out = {}
    for rule in raw:
        any_of, all_of = set(rule.get("scopes", [])), set(rule.get("all_scopes", []))
        out[Route.parse(rule["route"]).key] = all_of <= scopes and (
            not any_of or bool(any_of & scopes)
        )
    return out


def own_patterns(raw: list[dict[str, Any]], granted: dict[str, Any]) -> dict[str, Any]:
    """A policy of the granted routes' own IAM patterns only, made here from the route text."""
    resources = []
    for rule in raw:
        route = Route.parse(rule["route"])
        if granted[route.key]:
            path = "/".join("*" if s.startswith("{") else s for s in route.segments)
            methods = METHODS if route.method == "ANY" else [route.method]
            resources += [f"{PREFIX}/{m}/{path}" for m in methods]
    statement = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resources}
    return {"Statement": [statement] if resources else []}


def test_cached_policies_answer_every_route_as_the_config_does() -> None:
    tally = Tally()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data(), raw=tables(), api=st.sampled_from(["rest", "http"]))
    def run(data: st.DataObject, raw: list[dict[str, Any]], api: Api) -> None:
        config = config_of(raw)
        routes = [Route.parse(rule["route"]) for rule in raw]
        oracle = RouteMap(routes)
        paths = sorted({data.draw(paths_of(r)) for r in routes for _ in range(2)})
        unrouted = ["/zz", *(p.rstrip("/") + "/" for p in paths), *(p + "/zz" for p in paths)]
        triggers = data.draw(st.lists(st.sampled_from(unrouted), max_size=3, unique=True))
        scope_sets = data.draw(
            st.lists(st.frozensets(st.sampled_from(SCOPES)), min_size=1, max_size=3)
        )
        inexact = False
        for scopes in scope_sets:
            inexact |= check_scope_set(config, raw, oracle, api, scopes, paths, unrouted, triggers)
        tally.tables += 1
        tally.inexact += inexact

    run()
    print(f"\n{tally.inexact} of {tally.tables} generated route tables had an inexact scope set")


def check_scope_set(
    config: AuthorizerConfig,
    raw: list[dict[str, Any]],
    oracle: RouteMap,
    api: Api,
    scopes: frozenset[str],
    paths: list[str],
    unrouted: list[str],
    unrouted_triggers: list[str],
) -> bool:
    authorizer = Authorizer(config, Verifier(config.issuers, IDP))
    token = token_for(scopes)
    rules = granted_rules(raw, scopes)
    policy = authorizer.policies.scope_policy(scopes, api)
    if not policy.exact:
        reported = {(c.refused, c.harmed) for c in cache_conflicts(config.routes)}
        for case in policy.conflicts:
            assert (case.refused, case.harmed) in reported, f"check misses {case}"
    beyond = own_patterns(raw, rules)
    judged: list[dict[str, Any]] = []  # a policy judged for every request once is enough
    for method, trigger in [(m, p) for m in METHODS for p in (*paths, *unrouted_triggers)]:
        decision = authorizer.decide(event(api, method, trigger, token))
        assert decision.response is not None
        document = decision.response["policyDocument"]
        want = expected(oracle, rules, api, method, trigger)
        assert iam_allows(document, f"{PREFIX}/{method}{trigger}") == want, (
            f"trigger {method} {trigger}: {json.dumps(document)}"
        )
        if any(document is seen for seen in judged):
            continue
        judged.append(document)
        for other_method in METHODS:
            for path in (*paths, *unrouted):
                arn = f"{PREFIX}/{other_method}{path}"
                got = iam_allows(document, arn)
                if oracle.match(api, other_method, split(path)) is None:
                    assert not got or iam_allows(beyond, arn), f"{other_method} {path} allowed"
                    continue
                should = expected(oracle, rules, api, other_method, path)
                assert not (got and not should), f"over-grant: {other_method} {path}"
                if policy.exact:
                    assert got == should, (
                        f"after {method} {trigger}, {other_method} {path}: policy {got}, "
                        f"config {should}"
                    )
    return not policy.exact


@pytest.mark.parametrize("api", ["rest", "http"])
@pytest.mark.parametrize(
    "rules",
    [
        [("GET /orders/search", "search:use"), ("GET /orders/{id}", "orders:read")],
        [("GET /files/public", "public"), ("GET /files/{proxy+}", "files")],
        [("GET /admin/health", "health"), ("ANY /admin/{proxy+}", "admin")],
    ],
)
def test_a_literal_next_to_a_wildcard_sibling_is_exact_for_every_scope_set(
    api: Api, rules: list[tuple[str, str]]
) -> None:
    """The issue's examples: the literal's paths are never the wildcard's, so a cached
    policy for one call answers the other route as the config does, for every token."""
    raw = [{"route": route, "scopes": [scope]} for route, scope in rules]
    config = config_of(raw)
    assert cache_conflicts(config.routes) == []
    routes = [Route.parse(route) for route, _ in rules]
    oracle = RouteMap(routes)
    paths = ["/orders/search", "/orders/42", "/files/public", "/files/a/b", "/files/public/x"]
    paths += ["/admin/health", "/admin/users/7"]
    for mask in range(4):
        scopes = frozenset(scope for i, (_, scope) in enumerate(rules) if mask >> i & 1)
        unrouted = ["/files/a/", "/orders/42/x", "/admin", "/zz"]
        assert not check_scope_set(config, raw, oracle, api, scopes, paths, unrouted, unrouted)
