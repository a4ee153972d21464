"""The broker asking Cognito, Entra ID, Okta, Auth0 and Keycloak for tokens the way each
one wants to be asked, against the provider-shaped test IdP (tests/idp/tenants/; the
vendor pages behind each shape are listed in tests/integration/test_idp_tenants.py), with
Secrets Manager from moto. The IdP's token log is the witness of what the broker sent.

- Entra ID grants app roles and cannot scope down (``<resource>/.default``:
  https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow);
  its answer has no ``scope``, so the broker reads the token's ``roles``.
- Auth0 needs ``audience``
  (https://auth0.com/docs/get-started/authentication-and-authorization-flow/client-credentials-flow).
- Cognito answers without ``scope``
  (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ClientAuthenticationResultType.html).
- Keycloak adds the realm's default client scopes to every token
  (https://www.keycloak.org/docs/latest/server_admin/#_client_scopes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.tenants import (
    AUTH0_API,
    AUTH0_CLIENT,
    COGNITO_CLIENT,
    ENTRA_API_URI,
    ENTRA_CLIENT,
    KEYCLOAK_CLIENT,
    OKTA_CLIENT,
    secret_of,
)
from tools.local.broker_harness import WORKER, WORKER_ROLE, call, put_secret, rest_event, runtime
from tools.local.idp import IdentityProvider

pytestmark = pytest.mark.integration
SECRET = "scopegate/provider-client"


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


@pytest.fixture
def broker(provider_idp: IdentityProvider, secrets: Any) -> Callable[..., Any]:
    """A broker runtime with one client of ``tenant`` and the worker's grant of ``scopes``."""

    def make(tenant: str, client_id: str, scopes: list[str], **client: Any) -> Any:
        put_secret(secrets, SECRET, {"client_id": client_id, "client_secret": secret_of(client_id)})
        doc = {
            "clients": {
                "orders-api": {
                    "secret": SECRET,
                    "issuer": provider_idp.tenant(tenant)["issuer"],
                    "provider": provider_idp.tenant(tenant)["provider"],
                    **client,
                }
            },
            "grants": [{"principal": WORKER_ROLE, "client": "orders-api", "scopes": scopes}],
        }
        provider_idp.reset_stats()
        return runtime(doc, secrets)

    return make


def ask(state: Any, scope: str | None = None) -> Any:
    return call(state, rest_event(WORKER, f"scope={scope}" if scope else None))


def sent(idp: IdentityProvider) -> dict[str, Any]:
    log = idp.token_log()
    assert len(log) == 1, log
    return log[0]


# -- Entra ID -------------------------------------------------------------------------------


def test_entra_is_asked_for_dot_default_and_the_answer_says_what_the_roles_grant(
    provider_idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    state = broker("contoso", ENTRA_CLIENT, ["orders:read", "orders:write"], resource=ENTRA_API_URI)
    answer = ask(state, "orders:read")
    assert answer.status == 200, answer.body
    assert answer.body["scope"] == "orders:read orders:write"  # every role it holds
    request = sent(provider_idp)
    assert (request["scope"], request["resource"]) == (f"{ENTRA_API_URI}/.default", None)


def test_entra_roles_that_miss_a_requested_scope_are_an_upstream_error(
    provider_idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    state = broker("contoso", ENTRA_CLIENT, ["orders:read", "admin"], resource=ENTRA_API_URI)
    answer = ask(state, "admin")
    assert (answer.status, answer.error) == (502, "upstream_error")
    assert "admin" in answer.body["error_description"]
    assert "access_token" not in answer.body


def test_entra_roles_beyond_the_callers_grant_are_answered_as_the_tokens_scope(
    broker: Callable[..., Any],
) -> None:
    """Entra cannot scope down: the token holds every role of the app registration, and
    the answer's scope says so, even where that is more than the caller's grant."""
    state = broker("contoso", ENTRA_CLIENT, ["orders:read"], resource=ENTRA_API_URI)
    answer = ask(state, "orders:read")
    assert answer.status == 200, answer.body
    assert answer.body["scope"].split() == ["orders:read", "orders:write"]


def test_an_entra_client_without_resource_is_a_configuration_error(
    broker: Callable[..., Any],
) -> None:
    answer = ask(broker("contoso", ENTRA_CLIENT, ["orders:read"]), "orders:read")
    assert (answer.status, answer.error) == (500, "server_error")


# -- Auth0 ----------------------------------------------------------------------------------


def test_auth0_is_asked_with_its_audience(
    provider_idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    state = broker("auth0", AUTH0_CLIENT, ["orders:read", "orders:write"], audience=AUTH0_API)
    answer = ask(state, "orders:write")
    assert (answer.status, answer.body["scope"]) == (200, "orders:write")
    assert sent(provider_idp)["audience"] == AUTH0_API


def test_an_auth0_client_without_audience_is_a_configuration_error(
    broker: Callable[..., Any],
) -> None:
    answer = ask(broker("auth0", AUTH0_CLIENT, ["orders:read"]), "orders:read")
    assert (answer.status, answer.error) == (500, "server_error")


# -- Cognito --------------------------------------------------------------------------------


def test_cognito_answers_without_scope_and_that_means_the_requested_scopes(
    provider_idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    state = broker("pool", COGNITO_CLIENT, ["orders-api/read", "orders-api/write"])
    answer = ask(state, "orders-api/read")
    assert (answer.status, answer.body["scope"]) == (200, "orders-api/read")
    assert sent(provider_idp)["scope"] == "orders-api/read"
    assert 3500 < answer.body["expires_in"] <= 3600


def test_cognito_grants_of_scopes_that_are_not_resource_server_scopes_are_refused(
    broker: Callable[..., Any],
) -> None:
    answer = ask(broker("pool", COGNITO_CLIENT, ["orders:read"]), "orders:read")
    assert (answer.status, answer.error) == (500, "server_error")


# -- Okta -----------------------------------------------------------------------------------


def test_okta_custom_authorization_server_by_discovery(
    provider_idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    state = broker("okta", OKTA_CLIENT, ["orders:read", "orders:write"])
    answer = ask(state, "orders:read orders:write")
    assert (answer.status, answer.body["scope"]) == (200, "orders:read orders:write")
    assert provider_idp.stats()["discovery_requests"] == 1


# -- Keycloak -------------------------------------------------------------------------------


def test_keycloak_default_client_scopes_count_against_the_grant(
    broker: Callable[..., Any],
) -> None:
    narrow = ask(broker("kc", KEYCLOAK_CLIENT, ["orders:read"]), "orders:read")
    assert (narrow.status, narrow.error) == (502, "upstream_error")
    assert "profile" in narrow.body["error_description"]
    state = broker("kc", KEYCLOAK_CLIENT, ["orders:read", "profile", "email"])
    answer = ask(state, "orders:read")
    assert (answer.status, answer.body["scope"]) == (200, "email orders:read profile")
