"""The test identity provider harness issues real, verifiable JWT access tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest

from tests.support.idp import (
    IdentityProvider,
    IdentityProviderError,
    TokenRequestError,
    default_resources,
)

pytestmark = pytest.mark.integration


def _verify(idp: IdentityProvider, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header = jwt.get_unverified_header(token)
    keys = {key["kid"]: key for key in idp.jwks()["keys"]}
    assert header["kid"] in keys
    key = jwt.PyJWK.from_dict(keys[header["kid"]])
    claims = jwt.decode(
        token, key=key, algorithms=[header["alg"]], audience="api://orders", issuer=idp.issuer
    )
    return header, claims


def test_client_credentials_token_is_a_signed_jwt(idp: IdentityProvider) -> None:
    token = idp.token("writer", idp.client_secret("writer"), scope="orders:read orders:write")

    header, claims = _verify(idp, token)

    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == "api://orders"
    assert claims["sub"] == "writer"
    assert claims["client_id"] == "writer"
    assert claims["scope"] == "orders:read orders:write"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]


def test_explicit_resource_and_post_auth(idp: IdentityProvider) -> None:
    token = idp.token(
        "reader",
        idp.client_secret("reader"),
        scope="orders:read",
        resource="api://orders",
        auth="client_secret_post",
    )
    _, claims = _verify(idp, token)
    assert claims["scope"] == "orders:read"


def test_scope_the_client_lacks_is_refused(idp: IdentityProvider) -> None:
    with pytest.raises(TokenRequestError) as refused:
        idp.token("reader", idp.client_secret("reader"), scope="orders:read orders:write")
    assert refused.value.error == "invalid_scope"
    assert refused.value.status == 400


def test_wrong_secret_and_unknown_resource_are_refused(idp: IdentityProvider) -> None:
    with pytest.raises(TokenRequestError) as bad_secret:
        idp.token("reader", "not-the-secret", scope="orders:read")
    assert bad_secret.value.error == "invalid_client"
    with pytest.raises(TokenRequestError) as bad_resource:
        idp.token("reader", idp.client_secret("reader"), resource="api://elsewhere")
    assert bad_resource.value.error == "invalid_target"


def test_rotate_keys_changes_the_signing_kid(
    idp_factory: Callable[..., IdentityProvider],
) -> None:
    idp = idp_factory()
    secret = idp.client_secret("all")
    before = jwt.get_unverified_header(idp.token("all", secret, scope="admin"))["kid"]

    kept = idp.rotate_keys(keep_old=True)
    after = jwt.get_unverified_header(idp.token("all", secret, scope="admin"))["kid"]
    published = {key["kid"] for key in idp.jwks()["keys"]}
    assert after in kept
    assert after != before
    assert {before, after} <= published

    dropped = idp.rotate_keys(keep_old=False)
    latest = idp.token("all", secret, scope="admin")
    published = {key["kid"] for key in idp.jwks()["keys"]}
    assert published == set(dropped)
    assert before not in published
    _verify(idp, latest)


def test_stats_count_requests(idp: IdentityProvider) -> None:
    idp.reset_stats()
    assert idp.stats() == {"jwks_requests": 0, "discovery_requests": 0, "token_requests": 0}

    idp.token("ws", idp.client_secret("ws"), scope="ws:connect")
    idp.token("ws", idp.client_secret("ws"), scope="ws:connect")
    idp.jwks()
    idp.discovery()

    assert idp.stats() == {"jwks_requests": 1, "discovery_requests": 1, "token_requests": 2}


def test_resource_alg_selects_the_signing_key(idp_factory: Callable[..., IdentityProvider]) -> None:
    idp = idp_factory(resources=default_resources(alg="EdDSA"), signing_algs=["EdDSA", "ES256"])
    token = idp.token("reader", idp.client_secret("reader"), scope="orders:read")
    header, claims = _verify(idp, token)
    assert header["alg"] == "EdDSA"
    assert claims["sub"] == "reader"


def test_failed_start_reports_the_idp_output() -> None:
    broken = IdentityProvider(resources=default_resources(alg="ES256"), signing_algs=["RS256"])
    with pytest.raises(IdentityProviderError, match="not in signing_algs"):
        broken.start()
    assert not broken.running
