"""The whole loop at each identity provider users run: the local stack of ``make run
PROVIDER=...`` with the demo world at a Cognito user pool, an Entra ID tenant, an Okta
custom authorization server, an Auth0 tenant or a Keycloak realm of the provider-shaped
test IdP (tests/idp/tenants/; the vendor pages behind each shape are listed in
tests/integration/test_idp_tenants.py).

A task gets a token from the broker (SigV4), the broker gets it from the provider the
way that provider wants to be asked, the authorizer checks it with the provider's
profile, the API answers: 200 for what the task's scopes grant, 403 beyond them, 401
without a token and for a token of the provider shaped for another client or API.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import call
from tools.local import provider_worlds, world
from tools.local.idp import IdentityProvider
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration

PROVIDERS = [p for p in provider_worlds.PROVIDERS if p != "generic"]
# Task -> (demo scopes it asks for, its broker client); column order of EXPECTED.
TASKS = {
    "worker": ("orders:read orders:write", "orders-writer"),
    "reporting": ("orders:read", "orders-reader"),
    "ops": ("admin ops", "orders-admin"),
}
EXPECTED = {  # tools/demo-config.yaml as a user reads it
    "GET /orders/42": (200, 200, 403),
    "POST /orders": (200, 403, 403),
    "GET /orders/42/items": (200, 403, 403),
    "DELETE /admin/users/7": (403, 403, 200),
    "GET /reports": (403, 403, 403),
}
FOREIGN_REASON = {
    "cognito": ("token_use_mismatch", "token_use"),
    "entra": ("audience_mismatch", None),
    "okta": ("client_mismatch", "cid"),
    "auth0": ("audience_mismatch", None),
    "keycloak": ("client_mismatch", "azp"),
}


@pytest.fixture(scope="module")
def shared_idp() -> Iterator[IdentityProvider]:
    """One test IdP with every provider's tenant, for the module's five stacks."""
    with world.identity_provider(300, *PROVIDERS) as idp:
        yield idp


LOGS: dict[str, io.StringIO] = {}  # provider -> its stack's function log


@pytest.fixture(scope="module", params=PROVIDERS)
def stack(request: pytest.FixtureRequest, shared_idp: IdentityProvider) -> Iterator[LocalStack]:
    LOGS[request.param] = io.StringIO()
    with LocalStack(provider=request.param, idp=shared_idp, log=LOGS[request.param]) as started:
        yield started


def decisions(stack: LocalStack) -> list[dict[str, object]]:
    lines = LOGS[stack.provider].getvalue().splitlines()
    parsed = [json.loads(line) for line in lines if line.startswith("{")]
    return [line for line in parsed if line.get("message") == "decision"]


def test_every_task_gets_what_its_scopes_earn_through_the_providers_tokens(
    stack: LocalStack,
) -> None:
    at = stack.world
    issued = {
        task: stack.broker_client(task).get_token(at.scope(scopes))
        for task, (scopes, _) in TASKS.items()
    }
    for request, expected in EXPECTED.items():
        method, path = request.split(" ", 1)
        for (task, (_, client)), status in zip(TASKS.items(), expected, strict=True):
            answer = call(stack, method, path, issued[task])
            assert answer.status == status, (stack.provider, task, request)
            if status == 200:  # the backend saw which client the authorizer let in
                assert answer.body["authorizer"][at.client_claim] == at.clients[client]


def test_without_a_token_or_with_a_forged_one_nothing_is_reached(stack: LocalStack) -> None:
    assert call(stack, "GET", "/orders/42").status == 401
    token = stack.broker_client("worker").get_token(stack.world.scope("orders:read"))
    head, payload, signature = token.split(".")
    assert (
        call(stack, "GET", "/orders/42", f"{head}.{payload}.{signature[:-6]}AAAAAA").status == 401
    )


def test_a_token_shaped_for_another_client_or_api_is_refused_with_its_reason(
    stack: LocalStack,
) -> None:
    foreign = provider_worlds.foreign_token(stack.idp, stack.provider)
    assert call(stack, "GET", "/orders/42", foreign).status == 401
    reason, claim = FOREIGN_REASON[stack.provider]
    line = decisions(stack)[-1]
    assert (line["decision"], line["reason"], line.get("claim")) == (
        "unauthenticated",
        reason,
        claim,
    )
    assert foreign.split(".")[2] not in LOGS[stack.provider].getvalue()


def test_the_broker_answer_says_what_the_token_really_grants(stack: LocalStack) -> None:
    answer = stack.broker_client("worker").get_token_response(stack.world.scope("orders:read"))
    if stack.provider == "entra":
        # Entra cannot scope down: the token carries every role of the app registration.
        assert answer.scope == "orders:read orders:write"
    else:
        assert answer.scope == stack.world.scope("orders:read")
