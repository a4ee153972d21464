"""The test identity provider's tenants issue tokens as each provider documents them.

Everything here is read over HTTP from the running IdP (tests/idp/tenants/) and checked
with PyJWT, independently of scopegate's own verifier. The shapes come from:

- Amazon Cognito: "Understanding the access token"
  https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
  (header kid + alg; sub, token_use "access", scope, auth_time, iss, exp, iat, version,
  jti, client_id; no aud), "Understanding the identity (ID) token"
  https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
  (aud = app client id, token_use "id"), "The token issuer endpoint"
  https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html and
  ClientAuthenticationResultType
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ClientAuthenticationResultType.html
  (an M2M answer holds access_token, expires_in, token_type: no scope), "Scopes, M2M, and
  resource servers"
  https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-define-resource-servers.html,
  JWKS at {issuer}/.well-known/jwks.json
  https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
- Microsoft Entra ID: "Access token claims reference"
  https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
  (typ always "JWT"; x5t only in v1.0 tokens; aud, iss, azp/appid, roles, tid, oid, ver),
  "OAuth 2.0 client credentials flow"
  https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
  (scope "<resource>/.default"; answer token_type, expires_in, ext_expires_in,
  access_token), "Scopes and permissions"
  https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc, "Signing key
  rollover" https://learn.microsoft.com/en-us/entra/identity-platform/signing-key-rollover
  (keys published with x5t and x5c, no alg).
- Okta: "Implement authorization by grant type: client credentials"
  https://developer.okta.com/docs/guides/implement-client-creds/ (custom authorization
  server, at least one custom scope), "Custom Authorization Servers"
  https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS; access tokens
  carry ver, jti "AT.", iss, aud, iat, exp, cid, scp (a list), sub; header kid + alg.
- Auth0: "Access Token Profiles"
  https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles (aud a list,
  azp, scope; the RFC 9068 profile with client_id and typ at+jwt), "Enable Role-Based
  Access Control for APIs"
  https://auth0.com/docs/get-started/apis/enable-role-based-access-control-for-apis (the
  permissions claim), "JSON Web Key Set Properties"
  https://auth0.com/docs/secure/tokens/json-web-tokens/json-web-key-set-properties.
- Keycloak: Server Administration Guide, "Service accounts" and "Audience support"
  https://www.keycloak.org/docs/latest/server_admin/#_service_accounts,
  https://www.keycloak.org/docs/latest/server_admin/#audience-support (azp, typ Bearer,
  preferred_username service-account-*, realm_access, the default client scopes in scope,
  no aud without an audience mapper).
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

import jwt
import pytest

from tests.support.tenants import (
    AUTH0_API,
    AUTH0_CLIENT,
    AUTH0_OTHER_API,
    COGNITO_CLIENT,
    COGNITO_POOL,
    ENTRA_API_APP_ID,
    ENTRA_API_URI,
    ENTRA_CLIENT,
    ENTRA_LEGACY_API_URI,
    ENTRA_OTHER_TENANT,
    ENTRA_OTHER_TENANT_CLIENT,
    ENTRA_TENANT,
    KEYCLOAK_CLIENT,
    OKTA_AUDIENCE,
    OKTA_CLIENT,
    OKTA_SERVER,
    secret_of,
)
from tools.local.idp import IdentityProvider, TokenRequestError

pytestmark = pytest.mark.integration
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_json(url: str) -> Any:
    with _OPENER.open(url, timeout=10) as response:
        return json.loads(response.read())


def decoded(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, payload, _ = token.split(".")

    def part(text: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return value

    return part(head), part(payload)


def verified(idp: IdentityProvider, tenant: str, token: str, **options: Any) -> dict[str, Any]:
    """PyJWT's verification with the key the tenant's JWKS publishes under the token's kid."""
    info = idp.tenant(tenant)
    jwks_uri = info["jwks_uri_v1"] if options.pop("v1", False) else info["jwks_uri"]
    header = jwt.get_unverified_header(token)
    keys = {key["kid"]: key for key in get_json(jwks_uri)["keys"]}
    key = jwt.PyJWK.from_dict(keys[header["kid"]], algorithm="RS256")
    claims: dict[str, Any] = jwt.decode(token, key=key, algorithms=["RS256"], **options)
    return claims


def refused(call: Any) -> TokenRequestError:
    with pytest.raises(TokenRequestError) as error:
        call()
    return error.value


# -- Cognito --------------------------------------------------------------------------------


def test_cognito_client_credentials_token_has_no_aud_and_says_access(
    provider_idp: IdentityProvider,
) -> None:
    answer = provider_idp.tenant_token_response("pool", COGNITO_CLIENT, scope="orders-api/read")
    assert set(answer) == {"access_token", "expires_in", "token_type"}  # no scope
    assert answer["expires_in"] == 3600
    header, _ = decoded(answer["access_token"])
    assert set(header) == {"kid", "alg"}
    claims = verified(provider_idp, "pool", answer["access_token"], options={"verify_aud": False})
    issuer = provider_idp.tenant("pool")["issuer"]
    assert issuer.endswith("/" + COGNITO_POOL)
    assert "aud" not in claims
    assert claims["iss"] == issuer
    assert (claims["token_use"], claims["client_id"], claims["sub"]) == (
        "access",
        COGNITO_CLIENT,
        COGNITO_CLIENT,
    )
    assert claims["scope"] == "orders-api/read"
    assert claims["version"] == 2
    discovery = get_json(provider_idp.tenant("pool")["discovery"])
    assert discovery["issuer"] == issuer
    assert discovery["jwks_uri"] == issuer + "/.well-known/jwks.json"


def test_cognito_grants_every_allowed_scope_when_none_is_asked_for(
    provider_idp: IdentityProvider,
) -> None:
    token = provider_idp.tenant_token("pool", COGNITO_CLIENT)
    assert decoded(token)[1]["scope"] == "orders-api/read orders-api/write"


def test_cognito_id_token_is_signed_by_another_key_of_the_pool(
    provider_idp: IdentityProvider,
) -> None:
    id_token = provider_idp.cognito_id_token("pool", COGNITO_CLIENT)
    claims = verified(provider_idp, "pool", id_token, audience=COGNITO_CLIENT)
    assert claims["token_use"] == "id"
    assert "client_id" not in claims
    access = provider_idp.tenant_token("pool", COGNITO_CLIENT, "orders-api/read")
    assert decoded(id_token)[0]["kid"] != decoded(access)[0]["kid"]
    kids = {key["kid"] for key in get_json(provider_idp.tenant("pool")["jwks_uri"])["keys"]}
    assert {decoded(id_token)[0]["kid"], decoded(access)[0]["kid"]} == kids


# -- Entra ID -------------------------------------------------------------------------------


def test_entra_grants_every_role_of_the_app_registration_for_dot_default(
    provider_idp: IdentityProvider,
) -> None:
    answer = provider_idp.tenant_token_response(
        "contoso", ENTRA_CLIENT, scope=f"{ENTRA_API_URI}/.default"
    )
    assert set(answer) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    header, _ = decoded(answer["access_token"])
    assert header["typ"] == "JWT"
    assert "x5t" not in header  # v2.0 tokens
    claims = verified(provider_idp, "contoso", answer["access_token"], audience=ENTRA_API_APP_ID)
    assert claims["iss"] == provider_idp.tenant("contoso")["issuer"]
    assert claims["iss"].endswith(f"/{ENTRA_TENANT}/v2.0")
    assert claims["roles"] == ["orders:read", "orders:write"]  # not invoices:read: other API
    assert "scp" not in claims
    assert "scope" not in claims
    assert (claims["tid"], claims["azp"], claims["ver"]) == (ENTRA_TENANT, ENTRA_CLIENT, "2.0")
    assert claims["sub"] == claims["oid"]
    # The API may be named by its app id as well.
    by_id = provider_idp.tenant_token("contoso", ENTRA_CLIENT, f"{ENTRA_API_APP_ID}/.default")
    assert decoded(by_id)[1]["aud"] == ENTRA_API_APP_ID


def test_entra_v1_tokens_name_the_sts_style_issuer_the_uri_and_appid(
    provider_idp: IdentityProvider,
) -> None:
    token = provider_idp.tenant_token("contoso", ENTRA_CLIENT, f"{ENTRA_LEGACY_API_URI}/.default")
    header, _ = decoded(token)
    assert header["x5t"] == header["kid"]
    claims = verified(provider_idp, "contoso", token, audience=ENTRA_LEGACY_API_URI, v1=True)
    assert claims["iss"] == provider_idp.tenant("contoso")["issuer_v1"]
    assert claims["iss"].endswith(f"/{ENTRA_TENANT}/")
    assert (claims["appid"], claims["ver"]) == (ENTRA_CLIENT, "1.0")
    assert "azp" not in claims


def test_entra_refuses_anything_but_one_dot_default_scope(provider_idp: IdentityProvider) -> None:
    individual = refused(
        lambda: provider_idp.tenant_token_response(
            "contoso", ENTRA_CLIENT, scope=f"{ENTRA_API_URI}/orders:read"
        )
    )
    assert (individual.status, individual.error) == (400, "invalid_scope")
    assert "AADSTS1002012" in individual.body
    unknown = refused(
        lambda: provider_idp.tenant_token_response(
            "contoso", ENTRA_CLIENT, scope="api://nowhere/.default"
        )
    )
    assert (unknown.status, unknown.error) == (400, "invalid_resource")
    resource = refused(
        lambda: provider_idp.tenant_token_response(
            "contoso", ENTRA_CLIENT, scope=f"{ENTRA_API_URI}/.default", resource=ENTRA_API_URI
        )
    )
    assert (resource.status, resource.error) == (400, "invalid_request")


def test_entra_keys_carry_no_alg_and_serve_every_tenant(provider_idp: IdentityProvider) -> None:
    keys = get_json(provider_idp.tenant("contoso")["jwks_uri"])["keys"]
    assert keys
    for key in keys:
        assert "alg" not in key
        assert key["x5t"] == key["kid"]
        assert key["issuer"] == provider_idp.tenant("contoso")["issuer"]
        cert = base64.b64decode(key["x5c"][0])
        thumbprint = hashlib.sha1(cert).digest()  # noqa: S324 - x5t is SHA-1 by definition
        assert base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode() == key["x5t"]
    other = get_json(provider_idp.tenant("fabrikam")["jwks_uri"])["keys"]
    assert {k["kid"] for k in other} == {k["kid"] for k in keys}
    token = provider_idp.tenant_token(
        "fabrikam", ENTRA_OTHER_TENANT_CLIENT, f"{ENTRA_API_URI}/.default"
    )
    assert decoded(token)[1]["tid"] == ENTRA_OTHER_TENANT


# -- Okta -----------------------------------------------------------------------------------


def test_okta_custom_authorization_server_token_has_scp_list_and_cid(
    provider_idp: IdentityProvider,
) -> None:
    answer = provider_idp.tenant_token_response("okta", OKTA_CLIENT, scope="orders:read")
    assert answer["scope"] == "orders:read"
    header, _ = decoded(answer["access_token"])
    assert set(header) == {"kid", "alg"}
    claims = verified(provider_idp, "okta", answer["access_token"], audience=OKTA_AUDIENCE)
    assert claims["iss"].endswith(f"/oauth2/{OKTA_SERVER}")
    assert (claims["cid"], claims["sub"], claims["scp"]) == (
        OKTA_CLIENT,
        OKTA_CLIENT,
        ["orders:read"],
    )
    assert claims["jti"].startswith("AT.")
    assert "client_id" not in claims
    assert "scope" not in claims
    meta = get_json(provider_idp.tenant("okta")["discovery_oauth"])
    assert meta["token_endpoint"] == claims["iss"] + "/v1/token"


def test_okta_needs_a_scope(provider_idp: IdentityProvider) -> None:
    error = refused(lambda: provider_idp.tenant_token_response("okta", OKTA_CLIENT))
    assert (error.status, error.error) == (400, "invalid_scope")


# -- Auth0 ----------------------------------------------------------------------------------


def test_auth0_token_for_an_audience_has_an_aud_list_and_permissions(
    provider_idp: IdentityProvider,
) -> None:
    answer = provider_idp.tenant_token_response("auth0", AUTH0_CLIENT, audience=AUTH0_API)
    assert answer["scope"] == "orders:read orders:write"  # no scope asked: all granted
    issuer = provider_idp.tenant("auth0")["issuer"]
    assert issuer.endswith("/")
    assert issuer.count("/") == 3
    header, _ = decoded(answer["access_token"])
    assert header["typ"] == "JWT"
    claims = verified(provider_idp, "auth0", answer["access_token"], audience=AUTH0_API)
    assert claims["aud"] == [AUTH0_API]
    assert claims["iss"] == issuer
    assert (claims["azp"], claims["sub"], claims["gty"]) == (
        AUTH0_CLIENT,
        f"{AUTH0_CLIENT}@clients",
        "client-credentials",
    )
    assert claims["permissions"] == ["orders:read", "orders:write"]
    keys = get_json(provider_idp.tenant("auth0")["jwks_uri"])["keys"]
    assert all(key["alg"] == "RS256" and key["x5c"] and key["x5t"] for key in keys)


def test_auth0_rfc9068_profile_token_is_typed_at_jwt(provider_idp: IdentityProvider) -> None:
    token = provider_idp.tenant_token("auth0", AUTH0_CLIENT, audience=AUTH0_OTHER_API)
    header, claims = decoded(token)
    assert header["typ"] == "at+jwt"
    assert claims["client_id"] == AUTH0_CLIENT
    assert "azp" not in claims
    assert "permissions" not in claims


def test_auth0_refuses_without_audience_or_beyond_the_client_grant(
    provider_idp: IdentityProvider,
) -> None:
    missing = refused(lambda: provider_idp.tenant_token_response("auth0", AUTH0_CLIENT))
    assert (missing.status, missing.error) == (403, "access_denied")
    beyond = refused(
        lambda: provider_idp.tenant_token_response(
            "auth0", AUTH0_CLIENT, scope="admin", audience=AUTH0_API
        )
    )
    assert (beyond.status, beyond.error) == (403, "access_denied")


# -- Keycloak -------------------------------------------------------------------------------


def test_keycloak_service_account_token_has_azp_and_no_aud(provider_idp: IdentityProvider) -> None:
    answer = provider_idp.tenant_token_response("kc", KEYCLOAK_CLIENT, scope="orders:read")
    assert answer["scope"] == "profile email orders:read"  # the realm's default client scopes
    assert (answer["refresh_expires_in"], answer["expires_in"]) == (0, 300)
    header, _ = decoded(answer["access_token"])
    assert header["typ"] == "JWT"
    claims = verified(provider_idp, "kc", answer["access_token"], options={"verify_aud": False})
    assert "aud" not in claims
    assert (claims["azp"], claims["typ"]) == (KEYCLOAK_CLIENT, "Bearer")
    assert claims["preferred_username"] == f"service-account-{KEYCLOAK_CLIENT}"
    assert claims["scope"] == "profile email orders:read"
    keys = get_json(provider_idp.tenant("kc")["jwks_uri"])["keys"]
    assert sorted(key["use"] for key in keys) == ["enc", "sig"]  # and an RSA-OAEP key


# -- every tenant ---------------------------------------------------------------------------


def test_a_client_exists_only_at_its_own_tenant(provider_idp: IdentityProvider) -> None:
    elsewhere = refused(
        lambda: provider_idp.tenant_token_response(
            "okta", KEYCLOAK_CLIENT, secret_of(KEYCLOAK_CLIENT), scope="orders:read"
        )
    )
    assert (elsewhere.status, elsewhere.error) == (401, "invalid_client")
    generic = refused(
        lambda: provider_idp.token(OKTA_CLIENT, secret_of(OKTA_CLIENT), scope="orders:read")
    )
    assert (generic.status, generic.error) == (401, "invalid_client")
    wrong_secret = refused(
        lambda: provider_idp.tenant_token_response(
            "okta", OKTA_CLIENT, "sg-test-not-its-secret", scope="orders:read"
        )
    )
    assert (wrong_secret.status, wrong_secret.error) == (401, "invalid_client")


def test_the_generic_issuer_publishes_only_its_own_keys(provider_idp: IdentityProvider) -> None:
    generic = {key["kid"] for key in provider_idp.jwks()["keys"]}
    for name in provider_idp.tenants:
        theirs = {key["kid"] for key in get_json(provider_idp.tenant(name)["jwks_uri"])["keys"]}
        assert not generic & theirs, name


def test_tenant_requests_show_in_the_token_log(provider_idp: IdentityProvider) -> None:
    provider_idp.tenant_token("okta", OKTA_CLIENT, "orders:read")
    entry = provider_idp.token_log()[-1]
    assert (entry["tenant"], entry["client_id"], entry["status"]) == ("okta", OKTA_CLIENT, 200)
    with pytest.raises(urllib.error.HTTPError) as wrong_method:
        _OPENER.open(provider_idp.tenant("okta")["token_endpoint"], timeout=10)
    assert wrong_method.value.code == 405
