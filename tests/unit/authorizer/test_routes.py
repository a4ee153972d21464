"""Route parsing and API Gateway matching precedence."""

from __future__ import annotations

import pytest

from authorizer.errors import ConfigError
from authorizer.routes import ApiType, RouteTable, parse_route

NONE: frozenset[str] = frozenset()


def table(*keys: str) -> RouteTable:
    return RouteTable(
        tuple(parse_route(k, any_scopes=frozenset({"s"}), all_scopes=NONE) for k in keys)
    )


def key(t: RouteTable, api: ApiType, method: str, path: str) -> str | None:
    route = t.match(api, method, path)
    return route.key if route else None


@pytest.mark.parametrize("api", ["rest", "http"])
def test_literal_beats_param_beats_proxy(api: ApiType) -> None:
    t = table("GET /orders/{proxy+}", "GET /orders/{id}", "GET /orders/special")
    assert key(t, api, "GET", "/orders/special") == "GET /orders/special"
    assert key(t, api, "GET", "/orders/42") == "GET /orders/{id}"
    assert key(t, api, "GET", "/orders/42/items") == "GET /orders/{proxy+}"


@pytest.mark.parametrize("api", ["rest", "http"])
def test_specific_method_beats_any(api: ApiType) -> None:
    t = table("ANY /orders/{id}", "DELETE /orders/{id}")
    assert key(t, api, "DELETE", "/orders/1") == "DELETE /orders/{id}"
    assert key(t, api, "PATCH", "/orders/1") == "ANY /orders/{id}"


def test_rest_picks_the_resource_first_then_the_method() -> None:
    t = table("GET /orders/{id}", "POST /orders/special")
    # The resource /orders/special exists but has no GET: REST does not fall back.
    assert key(t, "rest", "GET", "/orders/special") is None
    assert key(t, "http", "GET", "/orders/special") == "GET /orders/{id}"


def test_rest_parents_are_resources_without_methods() -> None:
    """A REST API cannot have /a/{id}/b without the resource /a/{id}: GET /a/1 ends there
    (Missing Authentication Token), not at /a/{proxy+}, as the local gateway answers."""
    t = table("GET /a/{id}/b", "GET /a/{proxy+}", "ANY /{proxy+}")
    assert key(t, "rest", "GET", "/a/1") is None
    assert key(t, "rest", "GET", "/a") is None  # the parent /a
    assert key(t, "rest", "GET", "/a/1/c") == "GET /a/{proxy+}"
    assert key(t, "http", "GET", "/a/1") == "GET /a/{proxy+}"
    assert key(t, "http", "GET", "/a") == "ANY /{proxy+}"


def test_http_prefers_a_full_match_over_a_greedy_one() -> None:
    t = table("GET /{a}/items", "GET /orders/{proxy+}")
    assert key(t, "http", "GET", "/orders/items") == "GET /{a}/items"
    assert key(t, "rest", "GET", "/orders/items") == "GET /orders/{proxy+}"


def test_proxy_needs_at_least_one_segment_and_root_is_its_own_route() -> None:
    t = table("GET /{proxy+}")
    assert key(t, "rest", "GET", "/") is None
    assert key(t, "rest", "GET", "/a/b/c") == "GET /{proxy+}"
    assert key(table("GET /"), "rest", "GET", "/") == "GET /"


def test_unknown_routes_and_empty_segments_match_nothing() -> None:
    t = table("GET /orders/{id}")
    assert key(t, "rest", "GET", "/orders") is None
    assert key(t, "rest", "GET", "/orders//x") is None
    assert key(t, "rest", "POST", "/orders/1") is None


def test_websocket_connect_route() -> None:
    t = table("$connect", "GET /orders")
    assert key(t, "websocket", "", "$connect") == "$connect"
    assert key(t, "websocket", "", "$disconnect") is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "GET",
        "FETCH /x",
        "GET orders",
        "GET /a/{p+}/b",
        "GET /a*",
        "GET /a?b",
        "GET /{a}b",
        "GET /a b",
        "GET /orders/",
        "GET /a//b",
        "$disconnect",
    ],
)
def test_bad_routes_are_configuration_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_route(text, any_scopes=frozenset({"s"}), all_scopes=NONE)


def test_scopes_any_and_all() -> None:
    route = parse_route(
        "ANY /admin/{proxy+}",
        any_scopes=frozenset({"x", "y"}),
        all_scopes=frozenset({"admin", "ops"}),
    )
    assert route.granted(frozenset({"admin", "ops", "y"}))
    assert not route.granted(frozenset({"admin", "ops"}))
    assert not route.granted(frozenset({"admin", "x"}))


@pytest.mark.parametrize(
    ("text", "words"),
    [("GET /orders/", "a trailing slash"), ("GET /a//b", "an empty segment")],
)
def test_empty_segments_in_a_route_say_so(text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as e:
        parse_route(text, any_scopes=frozenset({"s"}), all_scopes=NONE)
    assert "must be a literal" not in str(e.value)


def test_remembered_matches_are_the_matches_and_stay_bounded() -> None:
    """The table keeps its answers (the same path is asked again and again); a repeated or
    a remembered request gets the answer a table that has never seen it gives, also after
    more distinct requests than it keeps, and it never keeps more than MATCHES_KEPT."""
    from authorizer.routes import MATCHES_KEPT

    # POST /orders/1: nothing in a REST API (its resource has only GET), the greedy route
    # in an HTTP API, so an answer kept for the wrong API type would show.
    keys = ("GET /orders/{id}", "ANY /orders/{proxy+}", "GET /orders/special", "$connect")
    shared = table(*keys)
    kinds: list[tuple[ApiType, str]] = [("rest", "GET"), ("rest", "POST"), ("http", "POST")]
    requests: list[tuple[ApiType, str, str]] = [
        (api, method, f"/{where}/{n}")
        for n in range(MATCHES_KEPT // 2 + 10)
        for where in ("orders", "files")
        for api, method in kinds
    ]
    requests += [("rest", "GET", "/orders/special"), ("websocket", "", "$connect")] * 3
    for api, method, path in requests + requests[:50]:
        assert key(shared, api, method, path) == key(table(*keys), api, method, path)
        assert len(shared._matched) <= MATCHES_KEPT
