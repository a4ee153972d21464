"""Cache-safe policies: what a cached policy allows equals what the config decides.

API Gateway evaluates a cached policy against later requests to other routes, so the
property checked here is the product's promise: for every configured route and concrete
paths generated from it, IAM evaluation of the returned policy agrees with the route
table's decision. Where ``check`` reports overlapping route pairs, a policy may be
narrower (``exact`` False), but it never grants more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authorizer.cli_check import cache_conflicts
from authorizer.config import AuthorizerConfig, validate
from authorizer.errors import ConfigError
from authorizer.policy import PolicyBook
from authorizer.routes import METHODS, ApiType, Route, RouteTable
from tools.local.iam import iam_allows

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod"
ISSUER = {"issuer": "https://idp.example.com", "audiences": ["api"]}
LITERALS = ["orders", "items", "admin", "v1"]
SCOPES = ["s1", "s2", "s3"]


def config_of(routes: Sequence[Mapping[str, object]]) -> AuthorizerConfig:
    return validate({"issuers": [ISSUER], "routes": routes})


@st.composite
def route_texts(draw: st.DrawFn) -> str:
    n = draw(st.integers(0, 3))
    segs = [draw(st.sampled_from([*LITERALS, "{id}"])) for _ in range(n)]
    if draw(st.booleans()) and n < 3:
        segs.append("{proxy+}")
    method = draw(st.sampled_from(["GET", "POST", "ANY"]))
    return f"{method} /{'/'.join(segs)}"


@st.composite
def rules(draw: st.DrawFn) -> dict[str, object]:
    rule: dict[str, object] = {"route": draw(route_texts())}
    if draw(st.booleans()):
        rule["scopes"] = draw(
            st.lists(st.sampled_from(SCOPES), min_size=1, max_size=2, unique=True)
        )
    else:
        rule["all_scopes"] = draw(
            st.lists(st.sampled_from(SCOPES), min_size=1, max_size=2, unique=True)
        )
    return rule


@st.composite
def configs(draw: st.DrawFn) -> AuthorizerConfig:
    raw = draw(st.lists(rules(), min_size=1, max_size=6))
    try:
        return config_of(raw)
    except ConfigError:  # duplicate shapes: API Gateway would not accept them either
        return config_of(raw[:1])


@st.composite
def paths_for(draw: st.DrawFn, route: Route) -> str:
    parts: list[str] = []
    for seg in route.segments:
        if seg.kind == "literal":
            parts.append(seg.text)
        elif seg.kind == "param":
            parts.append(draw(st.sampled_from([*LITERALS, "42", "x"])))
        else:
            parts += draw(st.lists(st.sampled_from([*LITERALS, "7", "y"]), min_size=1, max_size=3))
    return "/" + "/".join(parts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    config=configs(),
    api=st.sampled_from(["rest", "http"]),
    scopes=st.frozensets(st.sampled_from(SCOPES)),
)
def test_cached_policy_agrees_with_the_config_for_every_route(
    data: st.DataObject, config: AuthorizerConfig, api: ApiType, scopes: frozenset[str]
) -> None:
    book = PolicyBook(config.routes)
    table = RouteTable(config.routes)
    document = book.document(scopes, api, PREFIX)
    exact = book.scope_policy(scopes, api).exact
    assert exact or cache_conflicts(config), "inexact only where check reports a conflict"
    for route in config.routes:
        for method in route.methods:
            for _ in range(3):
                path = data.draw(paths_for(route))
                target = table.match(api, method, path)
                if target is None:
                    continue  # API Gateway never routes this request to a backend
                expected = target.granted(scopes)
                got = iam_allows(document, f"{PREFIX}/{method}{path}")
                assert not (got and not expected), f"over-grant: {method} {path}"
                if exact:
                    assert got == expected, f"{method} {path}: policy {got}, config {expected}"


EXAMPLE = [
    {"route": "GET /orders", "scopes": ["orders:read"]},
    {"route": "GET /orders/{id}", "scopes": ["orders:read"]},
    {"route": "POST /orders", "scopes": ["orders:write"]},
    {"route": "GET /orders/{id}/items", "scopes": ["items:read"]},
    {"route": "ANY /admin/{proxy+}", "all_scopes": ["admin", "ops"]},
    {"route": "$connect", "scopes": ["ws:connect"]},
]


def test_design_example_policies_are_exact_for_every_scope_set() -> None:
    config = config_of(EXAMPLE)
    book = PolicyBook(config.routes)
    assert cache_conflicts(config) == []
    all_scopes = ["orders:read", "orders:write", "items:read", "admin", "ops"]
    for mask in range(1 << len(all_scopes)):
        scopes = frozenset(s for i, s in enumerate(all_scopes) if mask >> i & 1)
        assert book.scope_policy(scopes, "rest").exact


def test_param_route_allow_is_guarded_by_a_deny_for_the_deeper_route() -> None:
    book = PolicyBook(config_of(EXAMPLE).routes)
    doc = book.document(frozenset({"orders:read"}), "rest", PREFIX)
    assert iam_allows(doc, f"{PREFIX}/GET/orders/42")
    # GET /orders/* would also match /orders/42/items, which needs items:read.
    assert not iam_allows(doc, f"{PREFIX}/GET/orders/42/items")
    assert not iam_allows(doc, f"{PREFIX}/POST/orders")
    assert not iam_allows(doc, f"{PREFIX}/GET/admin/x")


def test_any_route_is_allowed_per_method_never_with_a_method_wildcard() -> None:
    book = PolicyBook(config_of(EXAMPLE).routes)
    doc = book.document(frozenset({"admin", "ops"}), "rest", PREFIX)
    allowed = [r for s in doc["Statement"] if s["Effect"] == "Allow" for r in s["Resource"]]
    assert sorted(allowed) == sorted(f"{PREFIX}/{m}/admin/*" for m in METHODS)
    assert not iam_allows(doc, f"{PREFIX}/GET/orders")


def test_a_token_that_may_call_nothing_gets_a_deny_for_the_whole_stage() -> None:
    book = PolicyBook(config_of(EXAMPLE).routes)
    doc = book.document(frozenset({"unrelated"}), "rest", PREFIX)
    assert doc["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{PREFIX}/*"]}
    ]


def test_policies_are_memoised_per_relevant_scope_set_and_stage() -> None:
    book = PolicyBook(config_of(EXAMPLE).routes)
    a = book.document(frozenset({"orders:read", "x"}), "rest", PREFIX)
    b = book.document(frozenset({"orders:read", "y"}), "rest", PREFIX)
    c = book.document(frozenset({"orders:read"}), "rest", PREFIX + "-other")
    assert a is b
    assert c is not a


def test_a_conflict_made_by_three_routes_is_reported() -> None:
    """Found by the property test: /{id}'s Allow reaches /x/items/orders (so that route
    needs a Deny) while that route's Deny would reach /orders/orders/... (also granted)."""
    config = config_of(
        [
            {"route": "GET /", "scopes": ["s1"]},
            {"route": "GET /{id}", "scopes": ["s1"]},
            {"route": "GET /orders/orders/{proxy+}", "scopes": ["s1"]},
            {"route": "GET /{id}/items/orders", "all_scopes": ["s1", "s2"]},
        ]
    )
    assert not PolicyBook(config.routes).scope_policy(frozenset({"s1"}), "rest").exact
    assert cache_conflicts(config)


def test_overlapping_routes_are_reported_and_never_over_granted() -> None:
    config = config_of(
        [
            {"route": "GET /files/{proxy+}", "scopes": ["files"]},
            {"route": "GET /files/{id}/secret", "scopes": ["secret"]},
        ]
    )
    assert [(a.key, b.key) for a, b in cache_conflicts(config)] == [
        ("GET /files/{proxy+}", "GET /files/{id}/secret")
    ]
    book = PolicyBook(config.routes)
    policy = book.scope_policy(frozenset({"files"}), "rest")
    assert not policy.exact
    doc = book.document(frozenset({"files"}), "rest", PREFIX)
    assert not iam_allows(doc, f"{PREFIX}/GET/files/1/secret")


SIBLINGS = [
    [("GET /orders/search", "search:use"), ("GET /orders/{id}", "orders:read")],
    [("GET /files/public", "public"), ("GET /files/{proxy+}", "files")],
    [("GET /admin/health", "health"), ("ANY /admin/{proxy+}", "admin")],
]


def test_a_literal_and_its_wildcard_sibling_are_no_cache_conflict() -> None:
    """API Gateway never sends the literal's path to the wildcard route."""
    for pair in SIBLINGS:
        config = config_of([{"route": route, "scopes": [scope]} for route, scope in pair])
        assert cache_conflicts(config) == []
        book = PolicyBook(config.routes)
        for api in ("rest", "http"):
            for scopes in ({pair[0][1]}, {pair[1][1]}, set(), {pair[0][1], pair[1][1]}):
                assert book.scope_policy(frozenset(scopes), api).exact, (pair, api, scopes)


def test_a_token_for_the_literal_only_is_allowed_it_from_any_cached_policy() -> None:
    config = config_of([{"route": r, "scopes": [s]} for pair in SIBLINGS for r, s in pair])
    book = PolicyBook(config.routes)
    for literal, scope in [pair[0] for pair in SIBLINGS]:
        doc = book.document(frozenset({scope}), "rest", PREFIX)
        method, path = literal.split(" ")
        assert iam_allows(doc, f"{PREFIX}/{method}{path}")
        assert not iam_allows(doc, f"{PREFIX}/{method}{path.rsplit('/', 1)[0]}/other")


def test_rest_and_http_apis_route_a_method_the_literal_lacks_differently() -> None:
    """POST /admin/health: REST picks the resource /admin/health, which has no POST (no
    route); an HTTP API takes ANY /admin/{proxy+}. Each policy says what its API does."""
    config = config_of([{"route": r, "scopes": [s]} for r, s in SIBLINGS[2]])
    book = PolicyBook(config.routes)
    rest = book.document(frozenset({"admin"}), "rest", PREFIX)
    http = book.document(frozenset({"admin"}), "http", PREFIX)
    assert not iam_allows(rest, f"{PREFIX}/POST/admin/health")
    assert iam_allows(http, f"{PREFIX}/POST/admin/health")
    for doc in (rest, http):
        assert not iam_allows(doc, f"{PREFIX}/GET/admin/health")
        assert iam_allows(doc, f"{PREFIX}/POST/admin/users")
