"""One entry of the document's ``issuers``: an issuer the authorizer trusts, its audiences
or client ids, its algorithm allow-list and its provider profile's claim rules."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from authorizer.config_checks import NO_STRINGS, Collector, strings
from authorizer.errors import ConfigError
from authorizer.jws import ALGORITHMS
from authorizer.profiles import PROFILES, PROVIDERS, ClaimRule, Provider, profile_rules, token_type
from scopegate_core.documents import got
from scopegate_core.urls import check_url

DEFAULT_ALGORITHMS = ("RS256",)
DEFAULT_SCOPE_CLAIMS = ("scope", "scp")
_ISSUER_KEYS = frozenset(
    {
        "issuer",
        "audiences",
        "algorithms",
        "jwks_uri",
        "scope_claims",
        "required_claims",
        "leeway_seconds",
        "provider",
        "client_ids",
        "token_types",
    }
)


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    issuer: str
    audiences: frozenset[str]  # empty: `aud` is not checked (the issuer has client_ids)
    algorithms: frozenset[str]
    jwks_uri: str | None
    scope_claims: tuple[str, ...]
    required_claims: tuple[tuple[str, Any], ...]
    leeway_seconds: int
    provider: Provider = "generic"
    client_ids: frozenset[str] = frozenset()  # empty: the client id is not checked
    token_types: frozenset[str] = frozenset()  # normalised (profiles.token_type); empty: any
    client_id_claims: tuple[str, ...] = PROFILES["generic"].client_id_claims
    profile_claims: tuple[ClaimRule, ...] = ()  # the profile's rules not overridden
    defaults: frozenset[str] = frozenset()  # keys whose value is the profile's default


def check_algorithm(alg: str, what: str) -> None:
    if alg in ALGORITHMS:
        return
    if alg.upper() == "NONE" or alg.upper().startswith("HS"):
        raise ConfigError(
            f"{what}: {alg!r} refused ('none' and HS* are never accepted: an issuer's "
            "tokens must be signed with its private key)"
        )
    raise ConfigError(
        f"{what}: unknown algorithm {alg!r} refused; choose from {sorted(ALGORITHMS)}"
    )


def issuer_entry(raw: object, n: int, problems: list[str]) -> IssuerConfig | None:
    """``issuers[n]`` as an ``IssuerConfig``, or None with its every problem added to
    ``problems``."""
    where = f"issuers[{n}]"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping, not {got(raw)}")
        return None
    check = Collector(problems)
    unknown = set(raw) - _ISSUER_KEYS
    if unknown:
        check.add(f"{where}: unknown keys {sorted(unknown)}")
    issuer = check(lambda: check_url(raw.get("issuer"), f"{where}.issuer"), "")
    provider = raw.get("provider", "generic")
    if provider not in PROVIDERS:
        check.add(
            f"{where}.provider {provider!r} is not a known provider; choose one of "
            f"{', '.join(PROVIDERS)}"
        )
        provider = "generic"
    profile = PROFILES[provider]

    def listed(key: str) -> tuple[str, ...]:
        """An optional list key: () when absent; a present one must hold strings."""
        if key not in raw:
            return ()
        return check(lambda: strings(raw[key], f"{where}.{key}"), NO_STRINGS)

    audiences, client_ids = listed("audiences"), listed("client_ids")
    if "audiences" not in raw and "client_ids" not in raw:
        check.add(
            f"{where}: give 'audiences' (the token's aud), 'client_ids' (its client id claim:"
            f" {' or '.join(profile.client_id_claims)}) or both"
        )
    what = f"{where}.algorithms"
    algorithms = check(
        lambda: strings(raw.get("algorithms", list(DEFAULT_ALGORITHMS)), what), NO_STRINGS
    )
    for alg in algorithms:
        check(partial(check_algorithm, alg, what), None)
    jwks_uri = raw.get("jwks_uri")
    if jwks_uri is not None:
        jwks_uri = check(lambda: check_url(jwks_uri, f"{where}.jwks_uri"), None)
    defaults = {k for k in ("scope_claims",) if k not in raw}
    scope_claims = check(
        lambda: strings(
            _split_names(raw.get("scope_claims", list(profile.scope_claims))),
            f"{where}.scope_claims",
        ),
        NO_STRINGS,
    )
    token_types = listed("token_types")  # RFC 8725 explicit typing; absent: typ is not read
    required = raw.get("required_claims", {})
    if not isinstance(required, dict) or not all(isinstance(k, str) for k in required):
        check.add(
            f"{where}.required_claims must be a mapping of claim to value, not {got(required)}"
        )
        required = {}
    leeway = raw.get("leeway_seconds", 0)
    if isinstance(leeway, bool) or not isinstance(leeway, int) or not 0 <= leeway <= 300:
        check.add(f"{where}.leeway_seconds must be an integer from 0 to 300, not {got(leeway)}")
    rules: tuple[ClaimRule, ...] = ()
    if issuer:
        try:
            rules = profile_rules(provider, issuer)
        except ConfigError as e:
            check.add(f"{where}.issuer: {e}")
        if provider == "auth0" and not issuer.endswith("/"):
            check.add(
                f"{where}.issuer: an auth0 issuer ends with '/' (https://{{tenant}}.auth0.com/),"
                " as its tokens' iss does"
            )
    if check.failed:
        return None
    return IssuerConfig(
        issuer,
        frozenset(audiences),
        frozenset(algorithms),
        jwks_uri,
        scope_claims,
        tuple(required.items()),
        leeway,
        provider,
        frozenset(client_ids),
        frozenset(token_type(t) for t in token_types),
        profile.client_id_claims,
        tuple(rule for rule in rules if rule.claim not in required),  # explicit keys win
        frozenset(defaults),
    )


def _split_names(value: object) -> object:
    """``scope_claims`` may be one string of space-separated claim names, or a list."""
    return value.split() if isinstance(value, str) else value
