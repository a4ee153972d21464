"""The real test identity provider (``tests/idp/server.js``, oidc-provider), started from Python.

The provider runs as a child ``node`` process on 127.0.0.1 and issues JWT access tokens
through the OAuth client credentials grant. Each client must authenticate the way it is
registered (``client_secret_basic``, ``client_secret_post`` or ``private_key_jwt``).
Standard library only, except the ``private_key_jwt`` helpers (cryptography, PyJWT).

    with IdentityProvider(default_clients()) as idp:
        token = idp.token("reader", idp.client_secret("reader"), scope="orders:read")

Test-only controls: ``set_fault()`` makes the token endpoint fail or stall, and
``token_log()`` shows what each token request really carried (never a secret).

Secret rotation: every ``client_secret_basic`` / ``client_secret_post`` client holds a list
of secrets (at first its configured one, id ``initial``), changed through provider-shaped
admin APIs on the issuer: Okta (``/api/v1/apps/{appId}/credentials/secrets``, header
``Authorization: SSWS`` + ``OKTA_API_TOKEN``), Microsoft Graph for Entra ID
(``/v1.0/applications(appId='...')``, ``addPassword`` / ``removePassword``), Keycloak
(``/admin/realms/{KEYCLOAK_REALM}/clients``, ``client-secret``, ``client-secret/rotated``) and
Auth0 (``/api/v2/clients/{id}``, ``rotate-secret``). The last three want a bearer access
token of this IdP carrying ``MANAGEMENT_SCOPE``, which a ``management_client()`` gets from
the token endpoint. The token endpoint accepts any live secret of a client's list, also
under the providers' own token paths (``/oauth/token``,
``/realms/{KEYCLOAK_REALM}/protocol/openid-connect/token``, ``/{tenant}/oauth2/v2.0/token``;
on the Entra and Auth0 ones a scope ending in ``/.default`` means ``MANAGEMENT_SCOPE``, on
the Auth0 and Keycloak ones a request without scope gets the client's registered scope).
``secrets()`` shows a list (hashes only), ``set_secret_propagation()`` delays new secrets
as Auth0 may, ``reset_secrets()`` restores the configured ones; see tests/idp/server.js.

    with IdentityProvider([*default_clients(), management_client()]) as idp:
        admin = idp.token("admin-api", MANAGEMENT_SECRET, scope=MANAGEMENT_SCOPE)

Provider-shaped tenants (``tenants=``, as tests/support/tenants.py builds them): a Cognito user
pool, Entra ID tenants, an Okta custom authorization server, Auth0 tenants and Keycloak
realms, each issuing tokens as that provider does at its own endpoints (``tenant(name)``);
``tenant_token()`` asks a tenant's token endpoint, ``cognito_id_token()`` makes the ID token
a user's sign-in would return.

One module per part: ``process`` (the node child), ``clients`` (client and resource
entries, client assertions), ``provider`` (``IdentityProvider``: start, stop, tokens),
``controls`` (the test-only endpoints) and ``errors``.
"""

from tools.local.idp.clients import (
    ALL_SCOPES,
    JWT_BEARER_ASSERTION,
    KEYCLOAK_REALM,
    MANAGEMENT_SCOPE,
    MANAGEMENT_SECRET,
    OKTA_API_TOKEN,
    ORDERS_API,
    SIGNING_ALGS,
    default_clients,
    default_resources,
    jwk_thumbprint,
    management_client,
    private_key_jwt_client,
    sign_client_assertion,
)
from tools.local.idp.errors import (
    IdentityProviderError,
    IdentityProviderUnavailableError,
    TokenRequestError,
)
from tools.local.idp.process import IDP_DIR, SERVER_JS
from tools.local.idp.provider import IdentityProvider

__all__ = [
    "ALL_SCOPES",
    "IDP_DIR",
    "JWT_BEARER_ASSERTION",
    "KEYCLOAK_REALM",
    "MANAGEMENT_SCOPE",
    "MANAGEMENT_SECRET",
    "OKTA_API_TOKEN",
    "ORDERS_API",
    "SERVER_JS",
    "SIGNING_ALGS",
    "IdentityProvider",
    "IdentityProviderError",
    "IdentityProviderUnavailableError",
    "TokenRequestError",
    "default_clients",
    "default_resources",
    "jwk_thumbprint",
    "management_client",
    "private_key_jwt_client",
    "sign_client_assertion",
]
