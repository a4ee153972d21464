"""The broker's identity-provider client against the real oidc-provider."""

from __future__ import annotations

import time

import jwt
import pytest

from token_broker.config import ClientConfig
from token_broker.credentials import Credentials
from token_broker.errors import InvalidClient
from token_broker.upstream import IdpClient
from tools.local.idp import ORDERS_API, IdentityProvider

pytestmark = pytest.mark.integration


def reader(idp: IdentityProvider) -> ClientConfig:
    return ClientConfig(
        "orders-reader",
        "scopegate/reader",
        idp.issuer,
        None,
        "client_secret_basic",
        ORDERS_API,
        None,
    )


def test_discovery_finds_the_token_endpoint(idp: IdentityProvider) -> None:
    assert IdpClient().token_endpoint(reader(idp), time.time() + 10) == idp.token_endpoint


def test_basic_auth_grant_for_a_resource_returns_a_jwt(idp: IdentityProvider) -> None:
    credentials = Credentials("reader", client_secret=idp.client_secret("reader"))
    token = IdpClient().request_token(
        reader(idp), credentials, ["orders:read"], deadline=time.time() + 10
    )

    assert token.token_type == "Bearer"
    assert 295 <= token.expires_in <= 300
    assert token.scope == "orders:read"
    keys = {key["kid"]: key for key in idp.jwks()["keys"]}
    kid = jwt.get_unverified_header(token.access_token)["kid"]
    claims = jwt.decode(
        token.access_token,
        key=jwt.PyJWK.from_dict(keys[kid]),
        algorithms=["RS256"],
        audience=ORDERS_API,
        issuer=idp.issuer,
    )
    assert (claims["client_id"], claims["scope"]) == ("reader", "orders:read")


def test_a_wrong_secret_is_invalid_client(idp: IdentityProvider) -> None:
    credentials = Credentials("reader", client_secret="not-the-secret")
    with pytest.raises(InvalidClient):
        IdpClient().request_token(
            reader(idp), credentials, ["orders:read"], deadline=time.time() + 10
        )
