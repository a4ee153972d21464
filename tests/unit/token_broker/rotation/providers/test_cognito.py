"""The Cognito adapter against botocore's Stubber with the real cognito-idp service model.

moto 5.2.5 does not implement the client-secret APIs, so the Stubber checks every request
against the service model (names, types, the 24-64 character secret pattern) and returns
answers in the model's shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from token_broker.rotation.errors import ProviderError, ProviderUnavailable, RotationConfigError
from token_broker.rotation.providers.cognito import cognito_provider
from token_broker.rotation.secret import RotatedSecret

POOL = "eu-west-1_AbCdEf123"
CLIENT = "4m1x0example7clientid0abcd"
IDS = {"pool": {"UserPoolId": POOL, "ClientId": CLIENT}}
OLD = datetime(2026, 9, 1, tzinfo=UTC)
NEWER = datetime(2026, 10, 1, tzinfo=UTC)


def secret(secret_id: str | None) -> RotatedSecret:
    value = {
        "client_id": CLIENT,
        "client_secret": "c" * 40,
        "provider": "cognito",
        "user_pool_id": POOL,
    }
    if secret_id is not None:
        value["secret_id"] = secret_id
    return RotatedSecret(value, "scopegate/cognito-orders")


@pytest.fixture
def cognito() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "cognito-idp",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def listed(*secrets: tuple[str, datetime]) -> dict[str, Any]:
    return {
        "ClientSecrets": [
            {"ClientSecretId": sid, "ClientSecretCreateDate": created} for sid, created in secrets
        ]
    }


def created(secret_id: str, value: str) -> dict[str, Any]:
    return {
        "ClientSecretDescriptor": {
            "ClientSecretId": secret_id,
            "ClientSecretValue": value,
            "ClientSecretCreateDate": datetime(2026, 11, 21, tzinfo=UTC),
        }
    }


def test_a_second_secret_is_added_without_deleting_anything(
    cognito: tuple[Any, Stubber],
) -> None:
    client, stub = cognito
    stub.add_response("list_user_pool_client_secrets", listed(("s-1", OLD)), IDS["pool"])
    stub.add_response("add_user_pool_client_secret", created("s-2", "N" * 48), IDS["pool"])
    new = cognito_provider(secret("s-1"), client).add(secret("s-1"))
    assert (new.id, new.value) == ("s-2", "N" * 48)
    assert "N" * 48 not in repr(new)


def test_with_two_live_the_unused_one_is_deleted_before_adding(
    cognito: tuple[Any, Stubber],
) -> None:
    client, stub = cognito
    # The broker uses the OLDER secret: the newer one (an interrupted attempt) goes.
    stub.add_response(
        "list_user_pool_client_secrets", listed(("s-old", OLD), ("s-new", NEWER)), IDS["pool"]
    )
    stub.add_response(
        "delete_user_pool_client_secret", {}, IDS["pool"] | {"ClientSecretId": "s-new"}
    )
    stub.add_response("add_user_pool_client_secret", created("s-3", "M" * 30), IDS["pool"])
    assert cognito_provider(secret("s-old"), client).add(secret("s-old")).id == "s-3"


def test_with_two_live_the_oldest_goes_when_the_broker_uses_the_newer(
    cognito: tuple[Any, Stubber],
) -> None:
    client, stub = cognito
    stub.add_response(
        "list_user_pool_client_secrets", listed(("s-new", NEWER), ("s-old", OLD)), IDS["pool"]
    )
    stub.add_response(
        "delete_user_pool_client_secret", {}, IDS["pool"] | {"ClientSecretId": "s-old"}
    )
    stub.add_response("add_user_pool_client_secret", created("s-3", "M" * 30), IDS["pool"])
    assert cognito_provider(secret("s-new"), client).add(secret("s-new")).id == "s-3"


def test_two_live_and_no_secret_id_refuses_to_guess(cognito: tuple[Any, Stubber]) -> None:
    client, stub = cognito
    stub.add_response(
        "list_user_pool_client_secrets", listed(("s-a", OLD), ("s-b", NEWER)), IDS["pool"]
    )
    with pytest.raises(ProviderError, match="secret_id") as raised:
        cognito_provider(secret(None), client).add(secret(None))
    assert raised.value.reason == "secret_in_use_unknown"


def test_revoke_deletes_a_listed_secret_and_ignores_a_gone_one(
    cognito: tuple[Any, Stubber],
) -> None:
    client, stub = cognito
    provider = cognito_provider(secret("s-2"), client)
    stub.add_response(
        "list_user_pool_client_secrets", listed(("s-1", OLD), ("s-2", NEWER)), IDS["pool"]
    )
    stub.add_response("delete_user_pool_client_secret", {}, IDS["pool"] | {"ClientSecretId": "s-1"})
    provider.revoke("s-1")
    stub.add_response("list_user_pool_client_secrets", listed(("s-2", NEWER)), IDS["pool"])
    provider.revoke("s-1")  # already gone: nothing is deleted


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("TooManyRequestsException", ProviderUnavailable),
        ("NotAuthorizedException", ProviderError),
        ("ResourceNotFoundException", ProviderError),
    ],
)
def test_service_errors_fail_the_step_with_the_code(
    cognito: tuple[Any, Stubber], code: str, error: type[ProviderError]
) -> None:
    client, stub = cognito
    stub.add_client_error("list_user_pool_client_secrets", service_error_code=code)
    with pytest.raises(error, match=code) as raised:
        cognito_provider(secret("s-1"), client).add(secret("s-1"))
    assert type(raised.value) is error


def test_a_malformed_user_pool_id_is_a_config_error() -> None:
    broken = RotatedSecret(dict(secret("s-1").value, user_pool_id="nopool"), "x")
    with pytest.raises(RotationConfigError, match="user_pool_id"):
        cognito_provider(broken, object())


@pytest.mark.parametrize(
    ("provider", "management"),
    [
        ("okta", {"org_url": "http://acme.okta.com", "api_token": "t"}),
        ("okta", {"org_url": "acme.okta.com", "api_token": "t"}),
        ("keycloak", {"base_url": "http://sso.acme.com", "realm": "r", "client_id": "c",
                      "client_secret": "s"}),
        ("auth0", {"domain": "acme.auth0.com", "token_url": "http://acme.auth0.com/oauth/token",
                   "client_id": "c", "client_secret": "s"}),
        ("entra", {"tenant_id": "t", "client_id": "c", "client_secret": "s",
                   "graph_url": "http://graph.microsoft.com/v1.0"}),
    ],
)  # fmt: skip
def test_management_credentials_never_go_to_a_plain_http_or_relative_url(
    provider: str, management: dict[str, str]
) -> None:
    from token_broker.rotation.providers import provider_for

    rotated = RotatedSecret(
        {"client_id": "app", "client_secret": "x" * 30, "provider": provider,
         "management_secret": "admin"},
        "scopegate/app",
    )  # fmt: skip
    with pytest.raises(RotationConfigError, match=r"https|absolute"):
        provider_for(rotated, lambda name: management)


def test_an_absurd_entra_secret_lifetime_is_a_config_error() -> None:
    from token_broker.rotation.providers import provider_for

    rotated = RotatedSecret(
        {"client_id": "app", "client_secret": "x" * 30, "provider": "entra",
         "management_secret": "admin"},
        "scopegate/app",
    )  # fmt: skip
    management = {"tenant_id": "t", "client_id": "c", "client_secret": "s",
                  "secret_lifetime_days": "99999999999"}  # fmt: skip
    with pytest.raises(RotationConfigError, match="secret_lifetime_days"):
        provider_for(rotated, lambda name: management)
