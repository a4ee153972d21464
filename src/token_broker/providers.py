"""How each identity provider is asked for client credentials tokens, and what its answer
grants. Pure: plain values in, form fields, scopes or a ``BrokerError`` out.

One vocabulary with the rotation secrets' ``provider`` key (``IDP_PROVIDERS``), plus
``generic`` (RFC 6749 as written, the default):

- ``entra``: Entra ID cannot scope a token down. A client asks for
  ``<resource>/.default`` and gets every app role its app registration holds, in the
  token's ``roles`` (the answer has no ``scope``). The broker asks that way, checks that
  the roles cover the requested scopes, and answers with the roles as ``scope``: what the
  token really grants, which may be more than the caller's grant (least privilege is the
  app registration's: one per grant, holding exactly its roles).
- ``auth0``: the API is named by ``audience`` (required); without it Auth0 refuses.
- ``cognito``: resource-server scopes (``orders-api/read``); its answer has no ``scope``,
  which RFC 6749 section 5.1 reads as "the scopes requested".
- ``okta``: a custom authorization server (``https://{domain}/oauth2/{authServerId}``):
  the org authorization server does not issue tokens for your own APIs' scopes.
- ``keycloak``: a realm (``https://{host}/realms/{realm}``); it adds the client's default
  client scopes (``profile email`` in a new realm) to every token.

For the other providers, which can scope a token down, the answer's scope may hold scopes
not asked for as long as the caller's grant holds them (Keycloak's default scopes); beyond
the grant the broker refuses to hand the token out (502). ``generic`` keeps RFC 6749's
reading: never more than was asked for.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from token_broker.errors import UpstreamError

IdpProvider = Literal["cognito", "okta", "entra", "keycloak", "auth0"]
IDP_PROVIDERS: tuple[IdpProvider, ...] = ("cognito", "okta", "entra", "keycloak", "auth0")
Provider = Literal["generic", "cognito", "okta", "entra", "keycloak", "auth0"]
PROVIDERS: tuple[Provider, ...] = ("generic", *IDP_PROVIDERS)

_OKTA_ISSUER = re.compile(r"/oauth2/[^/]+/?")
_OKTA_TOKEN = re.compile(r"/oauth2/[^/]+/v1/token")
_KEYCLOAK_ISSUER = re.compile(r"(/[^/]+)*/realms/[^/]+/?")


def client_problems(
    provider: Provider,
    *,
    issuer: str | None,
    token_endpoint: str | None,
    resource: str | None,
    audience: str | None,
) -> list[str]:
    """What a client of ``provider`` lacks or gets wrong (empty when nothing)."""
    if provider == "entra" and resource is None:
        return [
            "an entra client needs 'resource': the API's application ID URI (api://orders) "
            "or app id; the broker asks for '<resource>/.default'"
        ]
    if provider == "auth0" and audience is None:
        return ["an auth0 client needs 'audience': the API identifier (Applications > APIs)"]
    if provider == "okta":
        if issuer is not None and not _OKTA_ISSUER.fullmatch(urlsplit(issuer).path):
            return [
                "an okta issuer is a custom authorization server, "
                "https://{domain}/oauth2/{authServerId} (the org authorization server issues "
                "no tokens for your own APIs)"
            ]
        if token_endpoint is not None and not _OKTA_TOKEN.fullmatch(urlsplit(token_endpoint).path):
            return ["an okta token_endpoint is https://{domain}/oauth2/{authServerId}/v1/token"]
    if (
        provider == "keycloak"
        and issuer is not None
        and not _KEYCLOAK_ISSUER.fullmatch(urlsplit(issuer).path)
    ):
        return ["a keycloak issuer is a realm: https://{host}/realms/{realm}"]
    return []


def grant_problems(provider: Provider, scopes: Sequence[str]) -> list[str]:
    """Scopes a provider can never issue for a client credentials grant."""
    if provider == "cognito":
        plain = sorted(s for s in scopes if "/" not in s)
        if plain:
            return [
                "cognito grants client credentials resource-server scopes only "
                f"('orders-api/read'), not {' '.join(plain)}"
            ]
    return []


def token_request(
    provider: Provider,
    scopes: Sequence[str],
    resource: str | None,
    audience: str | None,
) -> list[tuple[str, str]]:
    """The grant's form fields after ``grant_type`` and client authentication."""
    if provider == "entra":
        assert resource is not None  # config.py refuses an entra client without one
        # Entra's v2.0 endpoint refuses a `resource` parameter: the scope names the API.
        return [("scope", f"{resource.rstrip('/')}/.default")]
    fields: list[tuple[str, str]] = []
    if scopes:
        fields.append(("scope", " ".join(scopes)))
    if resource is not None:
        fields.append(("resource", resource))  # RFC 8707
    if audience is not None:
        fields.append(("audience", audience))
    return fields


def answer_scope(
    provider: Provider,
    client: str,
    requested: Sequence[str],
    granted: frozenset[str],
    access_token: str,
    answered: str | None,
) -> str:
    """The scope to echo for a token: what it really grants, checked against the request
    (``requested``) and the caller's grant (``granted``); else ``UpstreamError`` (502)."""
    if provider == "entra":
        roles = _roles(client, access_token)
        missing = set(requested) - roles
        if missing:
            raise UpstreamError(
                f"the token for client {client!r} lacks app roles {' '.join(sorted(missing))}: "
                "assign them to the client's app registration (API permissions, admin consent)",
                reason="idp_roles_missing",
            )
        return " ".join(sorted(roles))  # Entra cannot scope down: say what it granted
    if answered is None:  # RFC 6749 5.1: the scopes requested (Cognito leaves scope out)
        return " ".join(requested)
    scopes = set(answered.split())
    if provider == "generic":
        if scopes - set(requested):
            raise UpstreamError(
                f"the identity provider granted client {client!r} scopes that were not asked for",
                reason="idp_scope_mismatch",
            )
        return " ".join(sorted(scopes))
    return _within(provider, client, scopes, granted)


_NARROW = {
    "keycloak": "remove the default client scopes Keycloak adds (the client's Client scopes tab)",
}


def _within(provider: Provider, client: str, scopes: set[str], granted: frozenset[str]) -> str:
    extra = scopes - granted
    if extra:
        how = _NARROW.get(provider, "narrow the client's scopes at the identity provider")
        raise UpstreamError(
            f"the token for client {client!r} grants {' '.join(sorted(extra))}, beyond the "
            f"caller's grant: {how}",
            reason="idp_scope_mismatch",
        )
    return " ".join(sorted(scopes))


def _roles(client: str, access_token: str) -> set[str]:
    """The ``roles`` claim of an Entra access token, read without verifying it.

    Safe to read unverified: the broker is the OAuth client. It has just received this
    token from the token endpoint it authenticated to, over TLS; the token is addressed to
    the API, which verifies it. The broker reads ``roles`` only to refuse handing out a
    token that does less than was asked and to say what it grants, never to grant anything.
    """
    claims = _payload(access_token)
    if claims is None:
        raise UpstreamError(
            f"the identity provider answered client {client!r} with a token that is not a JWT",
            reason="idp_malformed",
        )
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise UpstreamError(
            f"the token for client {client!r} has a roles claim that is not a list of strings",
            reason="idp_malformed",
        )
    return set(roles)


def _payload(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        return None
    return value if isinstance(value, dict) else None
