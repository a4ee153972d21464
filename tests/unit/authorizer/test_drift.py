"""Drift between a config's routes and the rules an OpenAPI document implies (pure)."""

from __future__ import annotations

from authorizer.drift import compare
from authorizer.openapi import Operation
from authorizer.openapi_routes import Rule
from authorizer.routes import Route, parse_route


def route(text: str, scopes: tuple[str, ...] = (), all_scopes: tuple[str, ...] = ()) -> Route:
    return parse_route(text, any_scopes=frozenset(scopes), all_scopes=frozenset(all_scopes))


def wants(key: str, scopes: tuple[str, ...] = (), all_scopes: tuple[str, ...] = ()) -> Rule:
    method, path = key.split(" ")
    return Rule(Operation(method, path, None, None), scopes, all_scopes)


def ungranted(key: str) -> Rule:
    method, path = key.split(" ")
    return Rule(Operation(method, path, "open", None), ungranted="no security requirement")


def test_a_config_that_says_what_the_document_says_has_no_drift() -> None:
    drift = compare(
        [route("GET /pets/{id}", ("read",)), route("POST /pets", all_scopes=("a", "b"))],
        [wants("GET /pets/{petId}", ("read",)), wants("POST /pets", all_scopes=("a", "b"))],
    )
    assert drift.problems == []  # parameter names do not matter to API Gateway


def test_one_scope_as_scopes_or_as_all_scopes_is_the_same() -> None:
    drift = compare([route("GET /pets", all_scopes=("read",))], [wants("GET /pets", ("read",))])
    assert drift.problems == []


def test_an_operation_no_rule_names_will_be_denied() -> None:
    drift = compare(
        [route("GET /pets", ("read",))],
        [wants("GET /pets", ("read",)), wants("DELETE /pets", ("admin",))],
    )
    assert drift.problems == [
        "DELETE /pets: no rule names it, so it will be denied "
        "(the document grants it with all of [admin])"
    ]


def test_a_rule_with_other_scopes_is_drift() -> None:
    drift = compare(
        [route("GET /pets", ("pets",))], [wants("GET /pets", all_scopes=("read", "tenant"))]
    )
    assert drift.problems == [
        "GET /pets: scopes differ: the document grants it with all of [read, tenant], "
        "rule 'GET /pets' with all of [pets]"
    ]


def test_a_rule_no_operation_reaches_is_drift() -> None:
    drift = compare(
        [route("GET /pets", ("read",)), route("GET /legacy", ("read",))],
        [wants("GET /pets", ("read",))],
    )
    assert drift.problems == ["rule 'GET /legacy' names no operation of the document"]


def test_a_broader_proxy_rule_decides_for_operations_no_rule_names() -> None:
    rules = [route("ANY /{proxy+}", ("api",))]
    assert compare(rules, [wants("GET /pets/{id}", ("api",))]).problems == []
    drift = compare(rules, [wants("GET /pets/{id}", ("read",))])
    assert drift.problems == [
        "GET /pets/{id}: scopes differ: the document grants it with all of [read], "
        "rule 'ANY /{proxy+}' with all of [api]"
    ]


def test_an_any_operation_lists_the_methods_a_rule_misses() -> None:
    drift = compare(
        [route("GET /admin/{proxy+}", ("admin",))], [wants("ANY /admin/{proxy+}", ("admin",))]
    )
    assert drift.problems == [
        "ANY /admin/{proxy+} [DELETE, HEAD, OPTIONS, PATCH, POST, PUT]: no rule names it, "
        "so it will be denied (the document grants it with all of [admin])"
    ]


def test_an_any_rule_decides_for_each_method_of_its_path() -> None:
    drift = compare(
        [route("ANY /pets", ("read",))],
        [wants("GET /pets", ("read",)), wants("POST /pets", ("read",))],
    )
    assert drift.problems == []


def test_operations_the_document_grants_nothing_are_notes_only() -> None:
    drift = compare(
        [route("GET /open", ("x",))], [ungranted("GET /open"), ungranted("POST /closed")]
    )
    assert drift.problems == []
    assert drift.notes == [
        "GET /open (open): the document grants no scopes (no security requirement); "
        "rule 'GET /open' grants it with all of [x]",
        "POST /closed (open): not granted (no security requirement); "
        "no rule names it, so it is denied",
    ]


def test_websocket_rules_are_noted_not_drift() -> None:
    drift = compare(
        [route("$connect", ("ws",)), route("GET /a", ("a",))], [wants("GET /a", ("a",))]
    )
    assert drift.problems == []
    assert drift.notes == ["rule '$connect' is a WebSocket route: OpenAPI has none"]


def test_http_api_matching_can_be_asked_for() -> None:
    # REST picks the resource /pets first, which has no GET: denied. An HTTP API falls back
    # to the greedy route.
    rules = [route("POST /pets", ("w",)), route("GET /{proxy+}", ("r",))]
    ops = [wants("GET /pets", ("r",)), wants("POST /pets", ("w",))]
    assert compare(rules, ops, "http").problems == []
    assert compare(rules, ops, "rest").problems == [
        "GET /pets: no rule names it, so it will be denied "
        "(the document grants it with all of [r])",
        "rule 'GET /{proxy+}' names no operation of the document",
    ]
