"""Identity-provider profiles (src/authorizer/profiles.py and the issuer keys in config.py):
defaults, claim rules and what no profile may relax, with real keys and signed tokens.

The provider-shaped tokens themselves are tested against the provider-shaped IdP in
tests/integration/test_authorizer_providers.py; here each rule is pinned one at a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from authorizer.config import IssuerConfig, validate
from authorizer.errors import (
    AlgorithmNotAllowed,
    ClaimRejected,
    ConfigError,
    IssuerUnknown,
    KeyMismatch,
)
from authorizer.jwks import IssuerKeys
from authorizer.profiles import PROVIDERS
from authorizer.verifier import VerifiedToken, Verifier
from tests.support.issuer import AUDIENCE, LocalIssuer
from tests.support.signing import sign

ROUTES = [{"route": "GET /x", "scopes": ["s"]}]
TENANT = "7f9c0d2e-5b1a-4c3d-9e8f-0a1b2c3d4e5f"
ENTRA_V2 = f"https://login.microsoftonline.com/{TENANT}/v2.0"
ENTRA_V1 = f"https://sts.windows.net/{TENANT}/"


def issuer_config(**entry: Any) -> IssuerConfig:
    entry.setdefault("issuer", "https://issuer.test")
    return validate({"issuers": [entry], "routes": ROUTES}).issuers[0]


def problems(**entry: Any) -> str:
    with pytest.raises(ConfigError) as e:
        issuer_config(**entry)
    return str(e.value)


def verify(idp: LocalIssuer, token: str, **entry: Any) -> VerifiedToken:
    entry = {"issuer": idp.issuer, "jwks_uri": idp.issuer + "/keys", **entry}
    config = validate({"issuers": [entry], "routes": ROUTES})
    return Verifier(config.issuers, idp).verify(token)


def rejected(idp: LocalIssuer, token: str, **entry: Any) -> ClaimRejected:
    with pytest.raises(ClaimRejected) as e:
        verify(idp, token, **entry)
    return e.value


# -- configuration --------------------------------------------------------------------------


def test_an_unknown_provider_is_named_with_the_choices() -> None:
    text = problems(provider="azure-ad", audiences=[AUDIENCE])
    assert "'azure-ad'" in text
    assert all(name in text for name in PROVIDERS)


def test_an_issuer_needs_audiences_client_ids_or_both() -> None:
    assert "give 'audiences'" in problems()
    assert "cid" in problems(provider="okta")  # names the profile's client id claim
    assert issuer_config(client_ids=["c"]).audiences == frozenset()
    both = issuer_config(audiences=[AUDIENCE], client_ids=["c"])
    assert (both.audiences, both.client_ids) == (frozenset({AUDIENCE}), frozenset({"c"}))


def test_every_problem_of_an_issuer_is_listed() -> None:
    text = problems(provider="okta?", leeway_seconds=-1, token_types="", algorithms=["HS256"])
    for part in ("provider 'okta?'", "leeway_seconds", "token_types", "HS256", "give 'audiences'"):
        assert part in text


@pytest.mark.parametrize(
    ("provider", "scope_claims", "client_claims"),
    [
        ("generic", ("scope", "scp"), ("client_id", "azp")),
        ("cognito", ("scope",), ("client_id",)),
        ("entra", ("scp", "roles"), ("azp", "appid")),
        ("okta", ("scp",), ("cid",)),
        ("auth0", ("scope", "permissions"), ("azp",)),
        ("keycloak", ("scope",), ("azp",)),
    ],
)
def test_each_profile_sets_its_defaults(
    provider: str, scope_claims: tuple[str, ...], client_claims: tuple[str, ...]
) -> None:
    issuer = "https://issuer.test/" + (TENANT if provider == "entra" else "")
    config = issuer_config(issuer=issuer, provider=provider, client_ids=["c"])
    assert (config.scope_claims, config.client_id_claims) == (scope_claims, client_claims)
    assert "scope_claims" in config.defaults
    explicit = issuer_config(issuer=issuer, provider=provider, client_ids=["c"], scope_claims=["x"])
    assert (explicit.scope_claims, explicit.defaults) == (("x",), frozenset())


def test_entra_tenant_is_the_first_path_segment_of_either_issuer_form() -> None:
    for issuer in (ENTRA_V2, ENTRA_V1):
        rules = issuer_config(issuer=issuer, provider="entra", audiences=["a"]).profile_claims
        assert [(r.claim, r.value, r.reason) for r in rules] == [("tid", TENANT, "tenant_mismatch")]
    assert "tenant" in problems(
        issuer="https://login.microsoftonline.com/", provider="entra", audiences=["a"]
    )
    multi = "https://login.microsoftonline.com/common/v2.0"
    assert "one issuer per tenant" in problems(issuer=multi, provider="entra", audiences=["a"])


def test_an_explicit_required_claim_overrides_the_profiles_rule() -> None:
    config = issuer_config(
        provider="cognito", client_ids=["c"], required_claims={"token_use": "id"}
    )
    assert config.profile_claims == ()
    assert config.required_claims == (("token_use", "id"),)


def test_auth0_issuers_end_with_a_slash() -> None:
    assert "ends with '/'" in problems(
        issuer="https://acme.eu.auth0.com", provider="auth0", audiences=["a"]
    )
    assert issuer_config(issuer="https://acme.eu.auth0.com/", provider="auth0", audiences=["a"])


# -- rules ----------------------------------------------------------------------------------


def test_aud_is_required_exactly_when_audiences_are_given() -> None:
    idp = LocalIssuer()
    no_aud = idp.token(aud=None)
    assert verify(idp, no_aud, client_ids=["client-1"]).claims["sub"] == "client-1"
    other_aud = idp.token(aud="api://elsewhere")
    assert verify(idp, other_aud, client_ids=["client-1"])  # not checked without audiences
    assert rejected(idp, no_aud, audiences=[AUDIENCE]).reason == "audience_mismatch"
    # Both given: both must hold.
    both = {"audiences": [AUDIENCE], "client_ids": ["client-1"]}
    assert rejected(idp, other_aud, **both).reason == "audience_mismatch"
    assert rejected(idp, idp.token(client_id="client-2"), **both).reason == "client_mismatch"
    assert verify(idp, idp.token(), **both)


@pytest.mark.parametrize(
    ("provider", "claims", "decides"),
    [
        ("generic", {"client_id": "c1", "azp": "c2"}, "client_id"),
        ("generic", {"client_id": None, "azp": "c1"}, "azp"),
        ("cognito", {"client_id": "c1"}, "client_id"),
        ("entra", {"client_id": None, "azp": "c1", "appid": "c2"}, "azp"),
        ("entra", {"client_id": None, "appid": "c1"}, "appid"),
        ("okta", {"client_id": None, "cid": "c1"}, "cid"),
        ("auth0", {"client_id": None, "azp": "c1"}, "azp"),
        ("keycloak", {"client_id": "c2", "azp": "c1"}, "azp"),
    ],
)
def test_client_ids_are_checked_on_each_providers_client_id_claim(
    provider: str, claims: dict[str, Any], decides: str
) -> None:
    issuer = f"https://issuer.test/{TENANT}/v2.0" + ("/" if provider == "auth0" else "")
    idp = LocalIssuer(issuer=issuer)
    extra: dict[str, Any] = {"token_use": "access", "tid": TENANT}
    entry = {"provider": provider, "client_ids": ["c1"]}
    assert verify(idp, idp.token(**claims, **extra), **entry)
    error = rejected(idp, idp.token(**claims, **extra), provider=provider, client_ids=["c9"])
    assert (error.reason, error.claim) == ("client_mismatch", decides)
    missing: dict[str, Any] = {name: None for name in ("client_id", "azp", "appid", "cid")}
    assert rejected(idp, idp.token(**missing, **extra), **entry).reason == "client_mismatch"
    assert rejected(idp, idp.token(**{**claims, decides: ["c1"]}, **extra), **entry).reason == (
        "client_mismatch"
    )


def test_cognito_refuses_id_tokens_with_its_own_reason() -> None:
    idp = LocalIssuer()
    entry = {"provider": "cognito", "client_ids": ["client-1"]}
    assert verify(idp, idp.token(token_use="access"), **entry)
    for token_use in ("id", None, ["access"]):
        error = rejected(idp, idp.token(token_use=token_use), **entry)
        assert (error.reason, error.claim) == ("token_use_mismatch", "token_use")


def test_entra_tokens_of_another_tenant_are_refused() -> None:
    idp = LocalIssuer(issuer=ENTRA_V2)
    entry = {"provider": "entra", "audiences": [AUDIENCE]}
    assert verify(idp, idp.token(tid=TENANT), **entry)
    for tid in ("0e1d2c3b-4a59-4687-a5b4-c3d2e1f00f1e", None, TENANT.upper()):
        error = rejected(idp, idp.token(tid=tid), **entry)
        assert (error.reason, error.claim) == ("tenant_mismatch", "tid")


def test_token_types_compare_case_insensitively_with_an_optional_application_prefix() -> None:
    idp = LocalIssuer()
    entry = {"audiences": [AUDIENCE], "token_types": ["application/at+JWT"]}
    for typ in ("at+jwt", "AT+JWT", "application/at+jwt", "Application/At+Jwt"):
        assert verify(idp, idp.token(header={"typ": typ}), **entry)
    for typ in ("JWT", "application/jwt", "at+jwt+x"):
        error = rejected(idp, idp.token(header={"typ": typ}), **entry)
        assert (error.reason, error.claim) == ("type_mismatch", "typ")
    # Without token_types, typ is not read at all.
    assert verify(idp, idp.token(header={"typ": "JWT"}), audiences=[AUDIENCE])


def test_a_token_without_typ_fails_token_types() -> None:
    idp = LocalIssuer()
    key, alg = idp.keys[idp.current]
    untyped = sign({"alg": alg, "kid": idp.current}, idp.claims(), key)
    entry = {"audiences": [AUDIENCE], "token_types": ["at+jwt"]}
    assert rejected(idp, untyped, **entry).reason == "type_mismatch"


def test_list_valued_scope_claims_are_unioned_with_space_separated_strings() -> None:
    idp = LocalIssuer()
    token = idp.token(scope="a b", permissions=["c", "d"], roles=["e"])
    entry: dict[str, Any] = {
        "audiences": [AUDIENCE],
        "scope_claims": ["scope", "permissions", "roles"],
    }
    assert verify(idp, token, **entry).scopes == {"a", "b", "c", "d", "e"}
    entra = LocalIssuer(issuer=ENTRA_V2)
    app_only = entra.token(scope=None, roles=["Orders.Read"], tid=TENANT)
    entry = {"provider": "entra", "audiences": [AUDIENCE]}
    assert verify(entra, app_only, **entry).scopes == {"Orders.Read"}


def test_keys_without_alg_verify_only_what_the_allow_list_and_their_type_permit() -> None:
    idp = LocalIssuer(issuer=ENTRA_V2)
    jwks = idp.jwks()
    for key in jwks["keys"]:  # as Entra publishes them: no alg, with x5t and x5c
        del key["alg"]
        key |= {"x5t": key["kid"], "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}
    idp.jwks = lambda: jwks  # type: ignore[method-assign]  # Entra's key shapes
    entry = {"provider": "entra", "audiences": [AUDIENCE]}
    token = idp.token(tid=TENANT, header={"typ": "JWT"})
    assert verify(idp, token, **entry).claims["tid"] == TENANT
    with pytest.raises(AlgorithmNotAllowed):
        verify(idp, token, **entry, algorithms=["PS256"])
    # The RSA key (no alg) may not verify an ES256 token, whatever the allow-list says.
    idp.add_key("ec", "ES256")
    ec_signed = idp.token(tid=TENANT, kid="ec", header={"kid": "k1"})
    with pytest.raises(KeyMismatch):
        verify(idp, ec_signed, **entry, algorithms=["RS256", "ES256"])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_profile_relaxes_expiry_or_the_exact_issuer(provider: str) -> None:
    issuer = f"https://issuer.test/{TENANT}/v2.0/" if provider == "auth0" else ENTRA_V2
    idp = LocalIssuer(issuer=issuer)
    claims: dict[str, Any] = {
        "tid": TENANT,
        "token_use": "access",
        "azp": "client-1",
        "cid": "client-1",
    }
    entry = {"provider": provider, "client_ids": ["client-1"]}
    assert verify(idp, idp.token(**claims), **entry)
    assert rejected(idp, idp.token(**claims, exp=1_000_000), **entry).reason == "expired"
    assert rejected(idp, idp.token(**claims, exp=None), **entry).reason == "exp_missing"
    stranger = LocalIssuer(issuer=issuer.rstrip("/") + "x/")
    with pytest.raises(IssuerUnknown):
        verify(idp, stranger.token(**claims), **entry)


class DiscoveryFetcher:
    """Serves one issuer's discovery document and keys; records what was asked."""

    def __init__(self, idp: LocalIssuer, discovery_url: str) -> None:
        self.idp = idp
        self.discovery_url = discovery_url
        self.urls: list[str] = []

    def get_json(self, url: str) -> Any:
        self.urls.append(url)
        if url == self.discovery_url:
            return {"issuer": self.idp.issuer, "jwks_uri": "https://keys.test/jwks"}
        assert url == "https://keys.test/jwks", url
        return self.idp.jwks()


@pytest.mark.parametrize(
    ("issuer", "discovery"),
    [
        (
            "https://acme.eu.auth0.com/",
            "https://acme.eu.auth0.com/.well-known/openid-configuration",
        ),
        (ENTRA_V1, f"https://sts.windows.net/{TENANT}/.well-known/openid-configuration"),
        (ENTRA_V2, f"{ENTRA_V2}/.well-known/openid-configuration"),
    ],
)
def test_discovery_drops_the_issuers_trailing_slash_before_the_well_known_path(
    issuer: str, discovery: str
) -> None:
    """OIDC Discovery 1.0 section 4: a terminating '/' is removed before appending."""
    idp = LocalIssuer(issuer=issuer)
    fetcher = DiscoveryFetcher(idp, discovery)
    config = issuer_config(issuer=issuer, audiences=[AUDIENCE])
    keys = IssuerKeys(config, fetcher)
    assert keys.key_for("k1", "RS256").kid == "k1"
    assert fetcher.urls == [discovery, "https://keys.test/jwks"]
