"""How the broker asks each identity provider and reads its answer (token_broker/providers.py
and the `provider` key of the broker config). Against the provider-shaped IdP these rules
run in tests/integration/test_broker_providers.py; here each one is pinned alone."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from token_broker.config import validate
from token_broker.errors import ConfigError, UpstreamError
from token_broker.providers import IDP_PROVIDERS, PROVIDERS, answer_scope, token_request
from token_broker.rotation.secret import PROVIDERS as ROTATION_PROVIDERS

ROLE = "arn:aws:iam::123456789012:role/orders-worker"


def jwt_with(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def doc(scopes: list[str] | None = None, **client: Any) -> dict[str, Any]:
    return {
        "clients": {"orders": {"secret": "s", "issuer": "https://idp.example.com", **client}},
        "grants": [{"principal": ROLE, "client": "orders", "scopes": scopes or ["orders:read"]}],
    }


def problems(document: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as e:
        validate(document)
    return str(e.value)


def test_one_vocabulary_with_the_rotation_secrets() -> None:
    assert ROTATION_PROVIDERS == IDP_PROVIDERS
    assert PROVIDERS[1:] == IDP_PROVIDERS
    assert PROVIDERS[0] == "generic"
    text = problems(doc(provider="azure"))
    assert "'azure'" in text
    assert all(name in text for name in PROVIDERS)
    assert validate(doc()).clients["orders"].provider == "generic"


def test_entra_needs_resource_and_is_asked_for_dot_default_without_it() -> None:
    assert "needs 'resource'" in problems(doc(provider="entra"))
    client = validate(doc(provider="entra", resource="api://orders")).clients["orders"]
    fields = token_request(client.provider, ("orders:read",), client.resource, client.audience)
    assert fields == [("scope", "api://orders/.default")]


def test_auth0_needs_audience_and_sends_it() -> None:
    assert "needs 'audience'" in problems(doc(provider="auth0"))
    fields = token_request("auth0", ("orders:read",), None, "https://api.orders.example")
    assert fields == [("scope", "orders:read"), ("audience", "https://api.orders.example")]


def test_cognito_grants_hold_resource_server_scopes_only() -> None:
    text = problems(doc(["orders-api/read", "openid"], provider="cognito"))
    assert "resource-server scopes" in text
    assert "openid" in text
    assert validate(doc(["orders-api/read"], provider="cognito"))


def test_okta_and_keycloak_issuers_have_their_providers_shape() -> None:
    assert "custom authorization server" in problems(doc(provider="okta"))
    assert validate(doc(provider="okta", issuer="https://acme.okta.com/oauth2/default"))
    assert "/oauth2/{authServerId}/v1/token" in problems(
        doc(provider="okta", issuer=None, token_endpoint="https://acme.okta.com/oauth2/v1/token")
    )
    assert "realm" in problems(doc(provider="keycloak"))
    for issuer in ("https://sso.acme.com/realms/orders", "https://sso.acme.com/auth/realms/x"):
        assert validate(doc(provider="keycloak", issuer=issuer))


def test_generic_never_hands_out_more_than_was_asked_for() -> None:
    token = jwt_with({})
    assert answer_scope("generic", "c", ("a", "b"), frozenset("abc"), token, None) == "a b"
    assert answer_scope("generic", "c", ("a", "b"), frozenset("abc"), token, "b") == "b"
    with pytest.raises(UpstreamError) as e:
        answer_scope("generic", "c", ("a",), frozenset("abc"), token, "a b")
    assert e.value.reason == "idp_scope_mismatch"


def test_entra_answers_with_the_tokens_roles_whatever_the_grant() -> None:
    token = jwt_with({"roles": ["orders:read", "orders:write"]})
    grant = frozenset({"orders:read", "orders:write"})
    assert answer_scope("entra", "c", ("orders:read",), grant, token, None) == (
        "orders:read orders:write"
    )
    with pytest.raises(UpstreamError) as missing:
        answer_scope("entra", "c", ("admin",), grant | {"admin"}, token, None)
    assert (missing.value.reason, missing.value.status) == ("idp_roles_missing", 502)
    assert "admin" in str(missing.value)
    # Entra cannot scope down: roles beyond the caller's grant are what the token grants,
    # and the answer says so rather than failing every request of a narrower grant.
    narrow = frozenset({"orders:read"})
    assert answer_scope("entra", "c", ("orders:read",), narrow, token, None) == (
        "orders:read orders:write"
    )


@pytest.mark.parametrize(
    "token",
    # jwt_with([]): a payload that is no JSON object, on purpose
    ["opaque-token", jwt_with({"roles": "orders:read"}), "a.!!!.c", jwt_with([])],  # type: ignore[arg-type]
)
def test_an_entra_answer_that_is_no_jwt_with_roles_is_malformed(token: str) -> None:
    with pytest.raises(UpstreamError) as e:
        answer_scope("entra", "c", ("orders:read",), frozenset({"orders:read"}), token, None)
    assert e.value.reason == "idp_malformed"


def test_providers_with_default_scopes_may_add_them_only_within_the_grant() -> None:
    token = jwt_with({})
    grant = frozenset({"orders:read", "profile", "email"})
    assert answer_scope(
        "keycloak", "c", ("orders:read",), grant, token, "profile email orders:read"
    ) == ("email orders:read profile")
    with pytest.raises(UpstreamError) as e:
        answer_scope(
            "keycloak",
            "c",
            ("orders:read",),
            frozenset({"orders:read"}),
            token,
            "profile orders:read",
        )
    assert "default client scopes" in str(e.value)
    assert answer_scope("cognito", "c", ("orders-api/read",), frozenset(), token, None) == (
        "orders-api/read"
    )
