"""The whole flow through the local stack: a task gets a token from the broker (SigV4),
calls the API through the gateway, the authorizer decides, the backend answers.

Run for each API flavor (REST TOKEN, REST REQUEST, HTTP API 2.0), with the gateway's
authorizer cache on: whichever route a token is first seen on, the cached answer must give
every other route exactly the answer the config gives it.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import call
from token_broker.client import BrokerClientError
from tools.local.apigw import EXPLICIT_DENY, IMPLICIT_DENY
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration

# The demo config (tools/demo-config.yaml) as a user reads it, one column per token:
# worker (orders:read orders:write), reporting (orders:read), ops (admin ops).
EXPECTED = {
    "GET /orders": (200, 200, 403),
    "GET /orders/42": (200, 200, 403),
    "GET /orders/7": (200, 200, 403),
    "POST /orders": (200, 403, 403),
    "GET /orders/42/items": (200, 403, 403),
    "DELETE /admin/users/7": (403, 403, 200),
    "GET /admin/settings": (403, 403, 200),
    "GET /reports": (403, 403, 403),  # a route of the API that no rule grants
}
ROUTE = {  # the API route each request reaches
    "GET /orders": "/orders",
    "GET /orders/42": "/orders/{id}",
    "GET /orders/7": "/orders/{id}",
    "POST /orders": "/orders",
    "GET /orders/42/items": "/orders/{id}/items",
    "DELETE /admin/users/7": "/admin/{proxy+}",
    "GET /admin/settings": "/admin/{proxy+}",
    "GET /reports": "/reports",
}
REFUSED = {"Forbidden", EXPLICIT_DENY, IMPLICIT_DENY}  # HTTP API's 403, REST's two
TOKENS = {  # column -> (task, scopes it asks the broker for, the upstream client it gets)
    0: ("worker", "orders:read orders:write", "writer"),
    1: ("reporting", "orders:read", "reader"),
    2: ("ops", "admin ops", "admin"),
}


def tokens(stack: LocalStack) -> dict[int, str]:
    return {
        col: stack.broker_client(task).get_token(scopes)
        for col, (task, scopes, _) in TOKENS.items()
    }


def test_every_task_gets_the_answer_its_scopes_earn_on_every_route(stack: LocalStack) -> None:
    issued = tokens(stack)
    for request, expected in EXPECTED.items():
        method, path = request.split(" ", 1)
        for col, status in enumerate(expected):
            answer = call(stack, method, path, issued[col])
            assert answer.status == status, (stack.flavor, TOKENS[col][0], request)
            if status == 200:  # the backend saw who the authorizer let in, on which route
                assert answer.client_id == TOKENS[col][2]
                route_method, route_path = answer.body["route"].split(" ")
                assert (route_method in (method, "ANY"), route_path) == (True, ROUTE[request])
            else:  # refused by the authorizer's answer, not for want of a route
                assert answer.body.get("Message", answer.body.get("message")) in REFUSED


@pytest.mark.parametrize("first", list(EXPECTED))
def test_a_cached_answer_never_grants_or_refuses_another_route_wrongly(
    stack: LocalStack, first: str
) -> None:
    issued = tokens(stack)
    stack.api.flush_cache()
    hits = stack.api.cache_hits
    for col in TOKENS:
        # The first request fills the cache for this token; every other route must then
        # get the config's answer, whether from the cached policy or a new decision.
        for request in [first, *EXPECTED]:
            method, path = request.split(" ", 1)
            got = call(stack, method, path, issued[col]).status
            assert got == EXPECTED[request][col], (stack.flavor, first, TOKENS[col][0], request)
    assert stack.api.cache_hits > hits  # the cache did answer some of these


def test_requests_without_a_valid_token_are_unauthorized_before_any_route_is_reached(
    stack: LocalStack,
) -> None:
    assert call(stack, "GET", "/orders/42").status == 401
    assert call(stack, "GET", "/orders/42", "not-a-jwt").status == 401
    token = stack.broker_client("worker").get_token("orders:read")
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    assert call(stack, "GET", "/orders/42", forged).status == 401


def test_tasks_of_one_role_share_a_token_and_others_get_only_their_grant(
    stack: LocalStack,
) -> None:
    stack.idp.reset_stats()
    first = stack.broker_client("worker").get_token("orders:read orders:write")
    second = stack.broker_client("worker-2").get_token("orders:read orders:write")
    assert second == first
    assert stack.idp.stats()["token_requests"] <= 1  # the broker's cache answered task-2
    with pytest.raises(BrokerClientError) as refused:
        stack.broker_client("stranger").get_token("orders:read")
    assert (refused.value.status, refused.value.error) == (403, "access_denied")
    with pytest.raises(BrokerClientError) as refused:
        stack.broker_client("reporting").get_token("orders:write")
    assert (refused.value.status, refused.value.error) == (400, "invalid_scope")
