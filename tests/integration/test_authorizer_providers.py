"""The authorizer against tokens shaped as Cognito, Entra ID, Okta, Auth0 and Keycloak
issue them, from the provider-shaped test IdP (tests/idp/tenants/; the vendor pages
each shape comes from are listed in tests/integration/test_idp_tenants.py).

One authorizer config trusts all of them at once, each issuer with its ``provider``;
keys come by OIDC discovery over HTTP (Auth0's issuer and Entra's v1.0 issuer end with
``/``: OIDC Discovery section 4). A token shaped for another provider or client than
configured is 401, with its reason (and the claim that decided) in the decision log.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from authorizer.cli import main as cli
from authorizer.decision import Unauthorized
from authorizer.fetch import HttpJsonFetcher
from authorizer.handler import Runtime, handle
from authorizer.sources import ConfigSource
from tests.support.tenants import (
    AUTH0_API,
    AUTH0_CLIENT,
    AUTH0_OTHER_API,
    COGNITO_CLIENT,
    COGNITO_OTHER_CLIENT,
    ENTRA_API_APP_ID,
    ENTRA_API_URI,
    ENTRA_CLIENT,
    ENTRA_LEGACY_API_URI,
    ENTRA_OTHER_API_URI,
    ENTRA_OTHER_TENANT_CLIENT,
    KEYCLOAK_CLIENT,
    KEYCLOAK_OTHER_CLIENT,
    OKTA_AUDIENCE,
    OKTA_CLIENT,
    OKTA_OTHER_CLIENT,
)
from tests.unit.authorizer.test_handler import event
from tools.local.iam import iam_allows
from tools.local.idp import IdentityProvider

pytestmark = pytest.mark.integration

ROUTES = [
    {"route": "GET /orders", "scopes": ["orders:read", "orders-api/read"]},
    {"route": "POST /orders", "scopes": ["orders:write", "orders-api/write"]},
    {"route": "ANY /admin/{proxy+}", "all_scopes": ["admin", "ops"]},
]


def issuers(idp: IdentityProvider) -> list[dict[str, Any]]:
    tenant = idp.tenant
    return [
        {
            "issuer": tenant("pool")["issuer"],
            "provider": "cognito",
            "client_ids": [COGNITO_CLIENT],
        },
        {
            "issuer": tenant("contoso")["issuer"],
            "provider": "entra",
            "audiences": [ENTRA_API_APP_ID],
            "token_types": ["JWT"],
        },
        {  # v1.0 tokens of the same tenant: https://sts.windows.net/{tenant}/ style
            "issuer": tenant("contoso")["issuer_v1"],
            "provider": "entra",
            "audiences": [ENTRA_LEGACY_API_URI],
            "client_ids": [ENTRA_CLIENT],
        },
        {
            "issuer": tenant("okta")["issuer"],
            "provider": "okta",
            "audiences": [OKTA_AUDIENCE],
            "client_ids": [OKTA_CLIENT],
        },
        {
            "issuer": tenant("auth0")["issuer"],
            "provider": "auth0",
            "audiences": [AUTH0_API, AUTH0_OTHER_API],
            "token_types": ["JWT"],
        },
        {
            "issuer": tenant("kc")["issuer"],
            "provider": "keycloak",
            "client_ids": [KEYCLOAK_CLIENT],
        },
    ]


def config(idp: IdentityProvider) -> dict[str, Any]:
    return {
        "issuers": issuers(idp),
        "routes": ROUTES,
        "http_api_response": "iam",
        "context_claims": ["sub", "client_id", "azp", "cid", "scope", "scp", "roles"],
    }


@pytest.fixture
def state(provider_idp: IdentityProvider) -> Runtime:
    doc = json.dumps(config(provider_idp))
    return Runtime(ConfigSource({"AUTHORIZER_CONFIG": doc}), HttpJsonFetcher())


def outcome(state: Runtime, token: str, method: str = "GET", path: str = "/orders") -> int:
    ev = event("rest_token", token, method, path)
    try:
        response = handle(state, ev)
    except Unauthorized:
        return 401
    return 200 if iam_allows(response["policyDocument"], ev["methodArn"]) else 403


def decision_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [vars(r)["fields"] for r in caplog.records if r.getMessage() == "decision"]


READERS: dict[str, Callable[[IdentityProvider], str]] = {
    "cognito": lambda idp: idp.tenant_token("pool", COGNITO_CLIENT, "orders-api/read"),
    "entra": lambda idp: idp.tenant_token("contoso", ENTRA_CLIENT, f"{ENTRA_API_URI}/.default"),
    "entra-v1": lambda idp: idp.tenant_token(
        "contoso", ENTRA_CLIENT, f"{ENTRA_LEGACY_API_URI}/.default"
    ),
    "okta": lambda idp: idp.tenant_token("okta", OKTA_CLIENT, "orders:read"),
    "auth0": lambda idp: idp.tenant_token("auth0", AUTH0_CLIENT, "orders:read", audience=AUTH0_API),
    "keycloak": lambda idp: idp.tenant_token("kc", KEYCLOAK_CLIENT, "orders:read"),
}


@pytest.mark.parametrize("provider", list(READERS))
def test_each_providers_token_opens_what_its_scopes_grant(
    provider_idp: IdentityProvider, state: Runtime, provider: str
) -> None:
    token = READERS[provider](provider_idp)
    assert outcome(state, token, "GET", "/orders") == 200
    assert outcome(state, token, "DELETE", "/admin/users/7") == 403
    expected_post = 200 if provider.startswith("entra") else 403  # Entra grants every role
    assert outcome(state, token, "POST", "/orders") == expected_post


def test_list_valued_scope_claims_are_unioned_with_strings(
    provider_idp: IdentityProvider, state: Runtime
) -> None:
    # Auth0: scope (a string) and permissions (a list); Entra: roles (a list).
    auth0 = provider_idp.tenant_token("auth0", AUTH0_CLIENT, audience=AUTH0_API)
    response = handle(state, event("rest_token", auth0, "POST", "/orders"))
    assert response["context"]["azp"] == AUTH0_CLIENT
    assert iam_allows(
        response["policyDocument"], event("rest_token", auth0, "POST", "/orders")["methodArn"]
    )
    entra = READERS["entra"](provider_idp)
    response = handle(state, event("rest_token", entra))
    assert response["context"]["roles"] == "orders:read orders:write"
    assert response["principalId"] == response["context"]["sub"]


BAD: dict[str, tuple[Callable[[IdentityProvider], str], str, str | None]] = {
    "a Cognito ID token": (
        lambda idp: idp.cognito_id_token("pool", COGNITO_CLIENT),
        "token_use_mismatch",
        "token_use",
    ),
    "a Cognito access token of another app client": (
        lambda idp: idp.tenant_token("pool", COGNITO_OTHER_CLIENT, "orders-api/read"),
        "client_mismatch",
        "client_id",
    ),
    "an Entra token of another tenant": (
        lambda idp: idp.tenant_token(
            "fabrikam", ENTRA_OTHER_TENANT_CLIENT, f"{ENTRA_API_URI}/.default"
        ),
        "issuer_unknown",
        None,
    ),
    "an Entra token of another API": (
        lambda idp: idp.tenant_token("contoso", ENTRA_CLIENT, f"{ENTRA_OTHER_API_URI}/.default"),
        "audience_mismatch",
        None,
    ),
    "a Keycloak token whose azp is not listed": (
        lambda idp: idp.tenant_token("kc", KEYCLOAK_OTHER_CLIENT, "orders:read"),
        "client_mismatch",
        "azp",
    ),
    "an Okta token whose cid is not listed": (
        lambda idp: idp.tenant_token("okta", OKTA_OTHER_CLIENT, "orders:read"),
        "client_mismatch",
        "cid",
    ),
    "a token whose typ is not in token_types": (  # Auth0's RFC 9068 profile: at+jwt
        lambda idp: idp.tenant_token("auth0", AUTH0_CLIENT, audience=AUTH0_OTHER_API),
        "type_mismatch",
        "typ",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_token_shaped_for_another_provider_or_client_is_unauthorized(
    provider_idp: IdentityProvider,
    state: Runtime,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    make, reason, claim = BAD[case]
    token = make(provider_idp)
    with caplog.at_level(logging.INFO):
        assert outcome(state, token) == 401
    line = decision_lines(caplog)[-1]
    assert (line["decision"], line["reason"]) == ("unauthenticated", reason)
    assert line.get("claim") == claim
    text = json.dumps([r.__dict__ for r in caplog.records], default=str)
    assert token.split(".")[2] not in text


@pytest.mark.parametrize("provider", list(READERS))
def test_profiles_never_relax_the_signature_or_the_algorithm_allow_list(
    provider_idp: IdentityProvider, provider: str
) -> None:
    token = READERS[provider](provider_idp)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-6]}AAAAAA"
    doc = config(provider_idp)
    strict = json.dumps(
        {**doc, "issuers": [{**i, "algorithms": ["PS256"]} for i in doc["issuers"]]}
    )
    state = Runtime(ConfigSource({"AUTHORIZER_CONFIG": json.dumps(doc)}), HttpJsonFetcher())
    assert outcome(state, forged) == 401
    ps256_only = Runtime(ConfigSource({"AUTHORIZER_CONFIG": strict}), HttpJsonFetcher())
    assert outcome(ps256_only, token) == 401  # RS256 is not on the list, whatever the key says


def test_explain_names_the_claim_that_decided(
    provider_idp: IdentityProvider, tmp_path: Path
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config(provider_idp)))

    def explain(token: str, method: str = "GET") -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert cli(["explain", str(path), "--token", token, method, "/orders"]) == 0
        return out.getvalue()

    refused = explain(provider_idp.cognito_id_token("pool", COGNITO_CLIENT))
    assert "decision: unauthenticated (token_use_mismatch)" in refused
    assert "claim:    token_use" in refused
    other_client = explain(provider_idp.tenant_token("okta", OKTA_OTHER_CLIENT, "orders:read"))
    assert "claim:    cid" in other_client
    entra = explain(READERS["entra"](provider_idp), "POST")
    assert "decision: allow (granted)" in entra
    assert "orders:read orders:write (from roles)" in entra
    assert "provider entra" in entra
    auth0 = explain(
        provider_idp.tenant_token("auth0", AUTH0_CLIENT, "orders:read", audience=AUTH0_API)
    )
    assert "orders:read (from scope); orders:read (from permissions)" in auth0
