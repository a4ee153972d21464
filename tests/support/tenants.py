"""Provider-shaped tenants for the test identity provider (tests/idp/tenants/).

Each builder returns the ``IDP_CONFIG.tenants`` entry for one tenant, with the names and
ids used across the tests; a client joins a tenant with ``tenant_client``. The shapes
(claims, headers, JWKS members, token endpoint rules) and the vendor pages they come from
are described in tests/idp/tenants/.

    idp = IdentityProvider(
        [tenant_client("3h1example4client5id", SECRET, "orders-api/read", "pool")],
        tenants={"pool": cognito_pool()},
    )
    idp.tenant("pool")["issuer"]     # http://127.0.0.1:PORT/eu-west-1_AbCdEf012
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

COGNITO_POOL = "eu-west-1_AbCdEf012"
COGNITO_RESOURCE_SERVER = "orders-api"
ENTRA_TENANT = "7f9c0d2e-5b1a-4c3d-9e8f-0a1b2c3d4e5f"
ENTRA_OTHER_TENANT = "0e1d2c3b-4a59-4687-a5b4-c3d2e1f00f1e"
ENTRA_API_APP_ID = "0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0"
ENTRA_API_URI = "api://orders"
ENTRA_OTHER_API_APP_ID = "9a8b7c6d-5e4f-4321-8765-43210fedcba9"
ENTRA_OTHER_API_URI = "api://billing"
OKTA_SERVER = "aus1orders0Example7"
OKTA_AUDIENCE = "api://orders"
AUTH0_API = "https://api.orders.example"
AUTH0_OTHER_API = "https://api.billing.example"
KEYCLOAK_REALM_NAME = "orders"
ORDERS_SCOPES = ("orders:read", "orders:write", "admin", "ops")


def cognito_pool(
    *,
    user_pool_id: str = COGNITO_POOL,
    resource_servers: Mapping[str, Sequence[str]] | None = None,
    ttl: int | None = None,
) -> dict[str, Any]:
    """A user pool whose resource servers define ``identifier/scope`` custom scopes."""
    servers = resource_servers or {COGNITO_RESOURCE_SERVER: ["read", "write", "admin", "ops"]}
    spec: dict[str, Any] = {
        "provider": "cognito",
        "user_pool_id": user_pool_id,
        "resource_servers": [{"identifier": k, "scopes": list(v)} for k, v in servers.items()],
    }
    return _ttl(spec, ttl)


def entra_api(
    app_id: str = ENTRA_API_APP_ID,
    app_id_uri: str | None = ENTRA_API_URI,
    roles: Sequence[str] = ORDERS_SCOPES,
    version: int = 2,
) -> dict[str, Any]:
    """An API app registration: its app id, application ID URI, app roles and the access
    token version it accepts (``accessTokenAcceptedVersion``)."""
    return {"app_id": app_id, "app_id_uri": app_id_uri, "roles": list(roles), "version": version}


def entra_tenant(
    *,
    tenant_id: str = ENTRA_TENANT,
    apis: Sequence[Mapping[str, Any]] | None = None,
    ttl: int | None = None,
) -> dict[str, Any]:
    spec = {
        "provider": "entra",
        "tenant_id": tenant_id,
        "apis": [dict(a) for a in apis or [entra_api()]],
    }
    return _ttl(spec, ttl)


def okta_server(
    *,
    auth_server_id: str = OKTA_SERVER,
    audience: str = OKTA_AUDIENCE,
    scopes: Sequence[str] = ORDERS_SCOPES,
    ttl: int | None = None,
) -> dict[str, Any]:
    """A custom authorization server (``https://{domain}/oauth2/{authServerId}``)."""
    spec = {
        "provider": "okta",
        "auth_server_id": auth_server_id,
        "audience": audience,
        "scopes": list(scopes),
    }
    return _ttl(spec, ttl)


def auth0_api(
    identifier: str = AUTH0_API,
    scopes: Sequence[str] = ORDERS_SCOPES,
    dialect: str = "access_token_authz",
) -> dict[str, Any]:
    """An API: its identifier (the ``audience``), permissions, token dialect
    (``access_token_authz`` = RBAC on with "Add Permissions in the Access Token")."""
    return {"identifier": identifier, "scopes": list(scopes), "dialect": dialect}


def auth0_tenant(
    *, apis: Sequence[Mapping[str, Any]] | None = None, ttl: int | None = None
) -> dict[str, Any]:
    spec = {"provider": "auth0", "apis": [dict(a) for a in apis or [auth0_api()]]}
    return _ttl(spec, ttl)


def keycloak_realm(
    *,
    realm: str = KEYCLOAK_REALM_NAME,
    scopes: Sequence[str] = ORDERS_SCOPES,
    default_scopes: Sequence[str] = ("profile", "email"),
    audience: str | list[str] | None = None,
    ttl: int | None = None,
) -> dict[str, Any]:
    """A realm whose optional client scopes are ``scopes``; ``default_scopes`` are added to
    every token (a new realm's are ``profile email``); ``audience`` is what an audience
    mapper adds (none by default, as Keycloak sends no ``aud`` without one)."""
    spec: dict[str, Any] = {
        "provider": "keycloak",
        "realm": realm,
        "scopes": list(scopes),
        "default_scopes": list(default_scopes),
    }
    if audience is not None:
        spec["audience"] = audience
    return _ttl(spec, ttl)


def tenant_client(
    client_id: str,
    secret: str,
    scope: str,
    tenant: str,
    auth: str = "client_secret_basic",
) -> dict[str, str]:
    """A client of ``tenant`` allowed ``scope`` (its app roles, custom scopes, permissions)."""
    return {
        "client_id": client_id,
        "client_secret": secret,
        "scope": scope,
        "token_endpoint_auth_method": auth,
        "tenant": tenant,
    }


def _ttl(spec: dict[str, Any], ttl: int | None) -> dict[str, Any]:
    if ttl is not None:
        spec["ttl"] = ttl
    return spec


# -- the provider world the integration and end-to-end tests share ----------------------------
# Client ids shaped like each provider's: Cognito 26 lower-case alphanumerics, Entra app ids
# (GUIDs), Okta 0oa..., Auth0 32 alphanumerics, Keycloak names chosen by the admin.

COGNITO_CLIENT = "3h1example4client5id6abcde"
COGNITO_OTHER_CLIENT = "7k2other8app9client0fghij"
ENTRA_CLIENT = "11111111-2222-4333-8444-555555555555"
ENTRA_OTHER_TENANT_CLIENT = "66666666-7777-4888-9999-000000000000"
OKTA_CLIENT = "0oa1b2c3d4e5f6g7h8i9"
OKTA_OTHER_CLIENT = "0oa9z8y7x6w5v4u3t2s1"
AUTH0_CLIENT = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
KEYCLOAK_CLIENT = "orders-worker"
KEYCLOAK_OTHER_CLIENT = "reporting-job"
ENTRA_LEGACY_API_URI = "api://legacy"
ENTRA_LEGACY_API_APP_ID = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
READ_WRITE = "orders:read orders:write"


def secret_of(client_id: str) -> str:
    return f"sg-test-{client_id[:12]}-Pq7rS2tU9v"


def provider_tenants() -> dict[str, dict[str, Any]]:
    """One tenant per provider, plus a second Entra tenant and a second API where the
    bad-input tests need one."""
    return {
        "pool": cognito_pool(),
        "contoso": entra_tenant(
            apis=[
                entra_api(),
                entra_api(ENTRA_OTHER_API_APP_ID, ENTRA_OTHER_API_URI, ["invoices:read"]),
                entra_api(ENTRA_LEGACY_API_APP_ID, ENTRA_LEGACY_API_URI, ORDERS_SCOPES, 1),
            ]
        ),
        "fabrikam": entra_tenant(tenant_id=ENTRA_OTHER_TENANT),
        "okta": okta_server(),
        "auth0": auth0_tenant(
            apis=[auth0_api(), auth0_api(AUTH0_OTHER_API, ["invoices:read"], "rfc9068_profile")]
        ),
        "kc": keycloak_realm(),
    }


def provider_clients() -> list[dict[str, str]]:
    pool = f"{COGNITO_RESOURCE_SERVER}/read {COGNITO_RESOURCE_SERVER}/write"
    clients = [
        (COGNITO_CLIENT, pool, "pool"),
        (COGNITO_OTHER_CLIENT, pool, "pool"),
        (ENTRA_CLIENT, f"{READ_WRITE} invoices:read", "contoso"),
        (ENTRA_OTHER_TENANT_CLIENT, READ_WRITE, "fabrikam"),
        (OKTA_CLIENT, READ_WRITE, "okta"),
        (OKTA_OTHER_CLIENT, READ_WRITE, "okta"),
        (AUTH0_CLIENT, f"{READ_WRITE} invoices:read", "auth0"),
        (KEYCLOAK_CLIENT, READ_WRITE, "kc"),
        (KEYCLOAK_OTHER_CLIENT, READ_WRITE, "kc"),
    ]
    return [tenant_client(c, secret_of(c), scope, tenant) for c, scope, tenant in clients]
