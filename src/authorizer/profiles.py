"""Identity-provider profiles: where each provider puts scopes and the client id, and the
claim rules its tokens need.

Real identity providers do not all issue RFC 9068 access tokens: Cognito's carry no
``aud`` but ``client_id`` and ``token_use``, Entra ID's carry app roles in ``roles`` and the
tenant in ``tid``, Okta's a ``scp`` list and ``cid``, Auth0's a ``permissions`` list, and
Keycloak's often no ``aud`` but ``azp``. A profile changes defaults and claim rules only:
the baseline (signature, allow-listed algorithm, exact ``iss``, ``exp``) is checked for
every token whatever the profile. Pure: plain values in, ``ClaimRejected`` out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from authorizer.errors import ClaimRejected, ConfigError

if TYPE_CHECKING:
    from authorizer.config import IssuerConfig

Provider = Literal["generic", "cognito", "entra", "okta", "auth0", "keycloak"]
PROVIDERS: tuple[Provider, ...] = ("generic", "cognito", "entra", "okta", "auth0", "keycloak")


@dataclass(frozen=True, slots=True)
class ClaimRule:
    """A claim a provider's tokens must carry with exactly this value; ``reason`` says why
    a token failed it."""

    claim: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class Profile:
    scope_claims: tuple[str, ...]  # default scope_claims
    client_id_claims: tuple[str, ...]  # the first one present holds the client id
    note: str  # what else users must know, for `check`


PROFILES: Mapping[Provider, Profile] = {
    "generic": Profile(("scope", "scp"), ("client_id", "azp"), "RFC 9068 access tokens"),
    "cognito": Profile(
        ("scope",),
        ("client_id",),
        "access tokens carry no aud: use client_ids; ID tokens are refused",
    ),
    "entra": Profile(
        ("scp", "roles"),
        ("azp", "appid"),
        "app-only tokens carry roles; aud is the API's app id (v2.0) or application ID URI (v1.0)",
    ),
    "okta": Profile(("scp",), ("cid",), "scp is a list; cid is the client id"),
    "auth0": Profile(
        ("scope", "permissions"), ("azp",), "aud may be a list; the issuer ends with '/'"
    ),
    "keycloak": Profile(("scope",), ("azp",), "aud is often absent: use client_ids (azp)"),
}

# Placeholders in Entra's multi-tenant authority URLs: no token's iss ever names them.
_NOT_TENANTS = frozenset({"common", "organizations", "consumers"})


def entra_tenant(issuer: str) -> str:
    """The tenant id of an Entra ID issuer: its URL's first path segment, for both
    ``https://login.microsoftonline.com/{tenant}/v2.0`` and ``https://sts.windows.net/{tenant}/``."""
    segments = [s for s in urlsplit(issuer).path.split("/") if s]
    if not segments:
        raise ConfigError(
            "an entra issuer names its tenant as the first path segment "
            "(https://login.microsoftonline.com/{tenant}/v2.0)"
        )
    if segments[0].lower() in _NOT_TENANTS:
        raise ConfigError(
            f"'{segments[0]}' is not a tenant: tokens name their own tenant in iss, so list "
            "one issuer per tenant"
        )
    return segments[0]


def profile_rules(provider: Provider, issuer: str) -> tuple[ClaimRule, ...]:
    """The claims a provider's tokens must carry (``ConfigError`` if the issuer cannot
    say what they must hold)."""
    if provider == "cognito":
        return (ClaimRule("token_use", "access", "token_use_mismatch"),)
    if provider == "entra":
        return (ClaimRule("tid", entra_tenant(issuer), "tenant_mismatch"),)
    return ()


def token_type(typ: str) -> str:
    """RFC 8725 section 3.11: media types compare case-insensitively, with or without their
    ``application/`` prefix (RFC 7515 section 4.1.9)."""
    lowered = typ.lower()
    return lowered.removeprefix("application/")


def check_profile(
    header: Mapping[str, Any], claims: Mapping[str, Any], issuer: IssuerConfig
) -> None:
    """``token_types``, the profile's claim rules and ``client_ids``, in that order."""
    if issuer.token_types:
        typ = header.get("typ")
        if not isinstance(typ, str) or token_type(typ) not in issuer.token_types:
            raise ClaimRejected(
                "the token's typ header is not one of token_types",
                reason="type_mismatch",
                claim="typ",
            )
    for rule in issuer.profile_claims:
        if claims.get(rule.claim) != rule.value:
            raise ClaimRejected(
                f"claim '{rule.claim}' is not '{rule.value}'", reason=rule.reason, claim=rule.claim
            )
    if issuer.client_ids:
        name, value = client_id_of(claims, issuer.client_id_claims)
        if not isinstance(value, str) or value not in issuer.client_ids:
            shown = name or " or ".join(issuer.client_id_claims)
            raise ClaimRejected(
                f"the token's client id ({shown}) is not one of client_ids",
                reason="client_mismatch",
                claim=shown,
            )


def client_id_of(claims: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str | None, object]:
    """The first of ``names`` the token carries, and its value; (None, None) for none."""
    for name in names:
        if name in claims:
            return name, claims[name]
    return None, None
