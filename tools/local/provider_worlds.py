"""The demo world at each identity provider users run (``make run PROVIDER=entra``).

The upstream clients are then clients of a Cognito user pool, an Entra ID tenant (an app
registration per grant), an Okta custom authorization server, an Auth0 tenant or a
Keycloak realm of the test IdP (tests/idp/tenants/), issuing tokens shaped as that
provider's; world.py builds the authorizer and broker configs that docs/providers.md
gives for that provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools.local.idp import ORDERS_API, IdentityProvider

PROVIDERS = ("generic", "cognito", "entra", "okta", "auth0", "keycloak")


@dataclass(frozen=True, slots=True)
class ProviderWorld:
    """How the demo world looks at one identity provider (``make run PROVIDER=...``).

    ``clients`` maps each broker client to its client at the provider; ``scopes`` maps
    the demo scopes to the provider's (only Cognito's differ: resource-server scopes);
    ``client_claim`` is the claim naming the client in its tokens (passed to the API as
    context); ``foreign`` says what token the authorizer must refuse for this provider.
    """

    provider: str
    clients: dict[str, str]
    scopes: dict[str, str]
    client_claim: str
    scope_claims: tuple[str, ...]
    foreign: str = ""

    @property
    def outsider(self) -> str:
        """A client of the same tenant that no grant names and the config does not list."""
        return OUTSIDERS[self.provider]

    def scope(self, scopes: str) -> str:
        """Demo scopes (``orders:read orders:write``) as this provider names them."""
        return " ".join(self.scopes.get(s, s) for s in scopes.split())


DEMO_SCOPES = ("orders:read", "orders:write", "admin", "ops", "ws:connect")
_SAME = {s: s for s in DEMO_SCOPES}
# Cognito scopes are "resource-server-identifier/scope-name".
_COGNITO = {s: f"orders-api/{s.split(':')[-1]}" for s in DEMO_SCOPES}
COGNITO_POOL = "us-east-1_ScOpEgAtE"
ENTRA_TENANT = "7f9c0d2e-5b1a-4c3d-9e8f-0a1b2c3d4e5f"
ENTRA_API_APP_ID = "0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0"
ENTRA_BILLING_URI = "api://billing"
OKTA_SERVER = "aus1scopegate0local"
AUTH0_API = "https://api.orders.example"
AUTH0_BILLING = "https://api.billing.example"
KEYCLOAK_REALM_NAME = "orders"
OUTSIDERS = {
    "generic": "all",
    "cognito": "9z8outsider7app6client5xy",
    "entra": "99999999-8888-4777-8666-555555555555",
    "okta": "0oa9outsider8client7",
    "auth0": "ZyXwVuTsRqPoNmLkJiHgFeDcBa987654",
    "keycloak": "outsider",
}
PROFILES = {
    "generic": ProviderWorld(
        "generic",
        {"orders-writer": "writer", "orders-reader": "reader", "orders-admin": "admin"},
        _SAME,
        "client_id",
        ("scope",),
    ),
    "cognito": ProviderWorld(
        "cognito",
        {
            "orders-writer": "3h1writer4client5id6abcde",
            "orders-reader": "5k2reader8client9id0fghij",
            "orders-admin": "7m3admin4client5id6klmnop",
        },
        _COGNITO,
        "client_id",
        ("scope",),
        "a Cognito ID token of the writer's app client",
    ),
    "entra": ProviderWorld(
        "entra",
        {  # one app registration per grant: Entra cannot scope a token down
            "orders-writer": "11111111-2222-4333-8444-555555555555",
            "orders-reader": "22222222-3333-4444-8555-666666666666",
            "orders-admin": "33333333-4444-4555-8666-777777777777",
        },
        _SAME,
        "azp",
        ("roles",),
        "an Entra token of this tenant for another API",
    ),
    "okta": ProviderWorld(
        "okta",
        {
            "orders-writer": "0oa1writer2client3id4",
            "orders-reader": "0oa5reader6client7id8",
            "orders-admin": "0oa9admin0client1id23",
        },
        _SAME,
        "cid",
        ("scp",),
        "an Okta token whose cid is not listed",
    ),
    "auth0": ProviderWorld(
        "auth0",
        {
            "orders-writer": "WrItErClIeNtId0123456789abcdefgh",
            "orders-reader": "ReAdErClIeNtId0123456789abcdefgh",
            "orders-admin": "AdMiNcLiEnTiD0123456789abcdefghi",
        },
        _SAME,
        "azp",
        ("scope", "permissions"),
        "an Auth0 token for another API",
    ),
    "keycloak": ProviderWorld(
        "keycloak",
        {
            "orders-writer": "orders-writer",
            "orders-reader": "orders-reader",
            "orders-admin": "orders-admin",
        },
        _SAME,
        "azp",
        ("scope",),
        "a Keycloak token whose azp is not listed",
    ),
}


def world_at(provider: str = "generic") -> ProviderWorld:
    if provider not in PROFILES:
        raise ValueError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    return PROFILES[provider]


def secret_of(client_id: str) -> str:
    return f"sg-local-{client_id[:16]}-Xq3vB8nR"


def tenant(provider: str, ttl: int) -> dict[str, Any]:
    """The demo tenant at each provider, as tests/idp/tenants/ takes it."""
    roles = ["orders:read", "orders:write", "admin", "ops"]
    tenants: dict[str, dict[str, Any]] = {
        "cognito": {
            "user_pool_id": COGNITO_POOL,
            "resource_servers": [
                {"identifier": "orders-api", "scopes": ["read", "write", "admin", "ops"]}
            ],
        },
        "entra": {
            "tenant_id": ENTRA_TENANT,
            "apis": [
                {"app_id": ENTRA_API_APP_ID, "app_id_uri": ORDERS_API, "roles": roles},
                {
                    "app_id": "4c5d6e7f-8091-4a2b-9c3d-4e5f60718293",
                    "app_id_uri": ENTRA_BILLING_URI,
                    "roles": ["invoices:read"],
                },
            ],
        },
        "okta": {"auth_server_id": OKTA_SERVER, "audience": ORDERS_API, "scopes": roles},
        "auth0": {
            "apis": [
                {"identifier": AUTH0_API, "scopes": roles},
                {"identifier": AUTH0_BILLING, "scopes": ["invoices:read"]},
            ]
        },
        # No default client scopes, as docs/providers.md advises: tokens carry what was granted.
        "keycloak": {"realm": KEYCLOAK_REALM_NAME, "scopes": roles, "default_scopes": []},
    }
    return {"provider": provider, "ttl": ttl, **tenants[provider]}


def foreign_token(idp: IdentityProvider, provider: str) -> str:
    """A real token of the provider that the world's authorizer must refuse (401)."""
    world = world_at(provider)
    if provider == "cognito":
        return idp.cognito_id_token(provider, world.clients["orders-writer"])
    if provider == "entra":
        return idp.tenant_token(provider, world.outsider, f"{ENTRA_BILLING_URI}/.default")
    if provider == "auth0":
        return idp.tenant_token(provider, world.outsider, audience=AUTH0_BILLING)
    return idp.tenant_token(provider, world.outsider, "orders:read")
