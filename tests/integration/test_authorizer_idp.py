"""The authorizer against the real identity provider (oidc-provider on 127.0.0.1).

Tokens come from the client credentials grant; keys come from OIDC discovery and the
JWKS endpoint over HTTP, exactly as in Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from authorizer.decision import Unauthorized
from authorizer.fetch import HttpJsonFetcher
from authorizer.handler import Runtime, handle
from authorizer.sources import ConfigSource
from tests.unit.authorizer.test_handler import event
from tools.local.iam import iam_allows
from tools.local.idp import ORDERS_API, IdentityProvider, default_resources

ROUTES = [
    {"route": "GET /orders", "scopes": ["orders:read"]},
    {"route": "GET /orders/{id}", "scopes": ["orders:read"]},
    {"route": "POST /orders", "scopes": ["orders:write"]},
    {"route": "ANY /admin/{proxy+}", "all_scopes": ["admin", "ops"]},
    {"route": "$connect", "scopes": ["ws:connect"]},
]


def runtime_for(
    idp: IdentityProvider, algorithms: list[str] | None = None, **extra: Any
) -> Runtime:
    issuer = {
        "issuer": idp.issuer,
        "audiences": [ORDERS_API],
        "algorithms": algorithms or ["RS256"],
        **extra,
    }
    doc = {"issuers": [issuer], "routes": ROUTES, "http_api_response": "iam"}
    return Runtime(ConfigSource({"AUTHORIZER_CONFIG": json.dumps(doc)}), HttpJsonFetcher())


def token(idp: IdentityProvider, client: str, scope: str) -> str:
    return idp.token(client, idp.client_secret(client), scope=scope, resource=ORDERS_API)


def outcome(state: Runtime, ev: dict[str, Any]) -> int:
    try:
        response = handle(state, ev)
    except Unauthorized:
        return 401
    arn = ev.get("routeArn") or ev["methodArn"]
    return 200 if iam_allows(response["policyDocument"], arn) else 403


@pytest.mark.parametrize("kind", ["rest_token", "rest_request", "http_v1", "http_v2"])
def test_idp_tokens_for_every_http_api_type(idp: IdentityProvider, kind: str) -> None:
    state = runtime_for(idp)
    reader = token(idp, "reader", "orders:read")
    admin = token(idp, "admin", "admin ops")
    partial = token(idp, "partial-admin", "admin")
    assert outcome(state, event(kind, reader, "GET", "/orders/42")) == 200
    assert outcome(state, event(kind, reader, "POST", "/orders")) == 403
    assert outcome(state, event(kind, admin, "DELETE", "/admin/users/7")) == 200
    assert outcome(state, event(kind, partial, "DELETE", "/admin/users/7")) == 403
    assert outcome(state, event(kind, None)) == 401


def test_idp_tokens_on_websocket_connect(idp: IdentityProvider) -> None:
    state = runtime_for(idp)
    assert outcome(state, event("websocket", token(idp, "ws", "ws:connect"))) == 200
    assert outcome(state, event("websocket", token(idp, "reader", "orders:read"))) == 403


def test_principal_and_context_come_from_the_idp_token(idp: IdentityProvider) -> None:
    response = handle(runtime_for(idp), event("rest_token", token(idp, "writer", "orders:read")))
    assert response["principalId"] == "writer"
    assert response["context"] == {"sub": "writer", "client_id": "writer", "scope": "orders:read"}


def test_wrong_audience_and_disallowed_algorithm_are_unauthorized(
    idp_factory: Callable[..., IdentityProvider],
) -> None:
    other = idp_factory(
        resources={
            **default_resources(),
            "api://other": {"scope": "orders:read", "ttl": 300, "alg": "RS256"},
        }
    )
    state = runtime_for(other)
    wrong_aud = other.token(
        "reader", other.client_secret("reader"), scope="orders:read", resource="api://other"
    )
    assert outcome(state, event("rest_token", wrong_aud)) == 401
    es = idp_factory(resources=default_resources(alg="ES256"))
    es_token = token(es, "reader", "orders:read")
    assert outcome(runtime_for(es), event("rest_token", es_token)) == 401  # RS256 only
    assert outcome(runtime_for(es, ["ES256"]), event("rest_token", es_token)) == 200


@pytest.mark.parametrize("alg", ["PS256", "EdDSA"])
def test_other_algorithms_from_the_idp(
    idp_factory: Callable[..., IdentityProvider], alg: str
) -> None:
    provider = idp_factory(resources=default_resources(alg=alg))
    ev = event("rest_token", token(provider, "reader", "orders:read"))
    assert outcome(runtime_for(provider, [alg]), ev) == 200


def test_key_rotation_at_the_idp_is_followed_with_one_refetch(
    idp_factory: Callable[..., IdentityProvider],
) -> None:
    provider = idp_factory()
    state = runtime_for(provider)
    assert outcome(state, event("rest_token", token(provider, "reader", "orders:read"))) == 200
    provider.reset_stats()
    provider.rotate_keys(keep_old=False)
    fresh = token(provider, "reader", "orders:read")
    for _ in range(5):
        assert outcome(state, event("rest_token", fresh)) == 200
    assert provider.stats()["jwks_requests"] == 1


def test_cached_keys_keep_working_when_the_idp_stops(
    idp_factory: Callable[..., IdentityProvider],
) -> None:
    provider = idp_factory()
    state = runtime_for(provider)
    reader = token(provider, "reader", "orders:read")
    assert outcome(state, event("rest_token", reader)) == 200
    provider.stop()
    assert outcome(state, event("rest_token", reader)) == 200
    cold = runtime_for(provider)  # a new environment has no keys: unauthenticated, not a crash
    assert outcome(cold, event("rest_token", reader)) == 401


def test_discovery_is_used_when_no_jwks_uri_is_given(
    idp_factory: Callable[..., IdentityProvider],
) -> None:
    provider = idp_factory()
    provider.reset_stats()
    state = runtime_for(provider)
    reader = token(provider, "reader", "orders:read")
    for _ in range(3):
        assert outcome(state, event("rest_token", reader)) == 200
    stats = provider.stats()
    assert (stats["discovery_requests"], stats["jwks_requests"]) == (1, 1)
