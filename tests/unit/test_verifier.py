"""The verifier: issuer selection, allow-list, and its cache of verified tokens."""

from __future__ import annotations

import pytest

from authorizer.config import validate
from authorizer.errors import (
    AlgorithmNotAllowed,
    ClaimRejected,
    InvalidSignature,
    IssuerUnknown,
    KeyNotFound,
)
from authorizer.jwks import TTL_SECONDS
from authorizer.verifier import CACHE_SECONDS, Verifier
from tests.support.issuer import AUDIENCE, ISSUER, JWKS_URI, LocalIssuer


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def verifier(
    idp: LocalIssuer,
    wall: Clock,
    mono: Clock,
    algorithms: list[str] | None = None,
) -> Verifier:
    issuer = {
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "jwks_uri": JWKS_URI,
        "algorithms": algorithms or ["RS256"],
    }
    config = validate({"issuers": [issuer], "routes": [{"route": "GET /x", "scopes": ["s"]}]})
    return Verifier(config.issuers, idp, clock=wall, monotonic=mono)


def test_a_verified_token_expires_on_time_even_when_cached() -> None:
    idp = LocalIssuer()
    token = idp.token(exp=2_000_000_100, iat=2_000_000_000)
    wall, mono = Clock(2_000_000_050), Clock(0)
    v = verifier(idp, wall, mono)
    assert v.verify(token).claims["sub"] == "client-1"
    wall.now = 2_000_000_099
    assert v.verify(token).scopes == {"orders:read"}
    wall.now = 2_000_000_100
    with pytest.raises(ClaimRejected) as e:
        v.verify(token)
    assert e.value.reason == "expired"


def test_a_removed_key_stops_working_for_cached_tokens_within_the_cache_bound() -> None:
    idp = LocalIssuer()
    token = idp.token(exp=2_000_010_000, iat=2_000_000_000)
    wall, mono = Clock(2_000_000_000), Clock(0)
    v = verifier(idp, wall, mono)
    v.verify(token)
    idp.rotate("k2", keep_old=False)  # the issuer withdraws k1
    mono.now += TTL_SECONDS  # the key cache refreshes on its next use
    wall.now += CACHE_SECONDS - 1
    v.verify(token)  # still remembered
    wall.now += 1
    with pytest.raises(KeyNotFound):
        v.verify(token)


def test_a_different_token_string_is_never_served_from_the_cache() -> None:
    idp = LocalIssuer()
    v = verifier(idp, Clock(2_000_000_000), Clock(0))
    token = idp.token(exp=2_000_000_100, iat=2_000_000_000)
    v.verify(token)
    header, payload, signature = token.split(".")
    other = "A" if signature[10] != "A" else "B"
    with pytest.raises(InvalidSignature):
        v.verify(".".join([header, payload, signature[:10] + other + signature[11:]]))


def test_issuer_must_match_exactly_and_algorithm_must_be_allowed() -> None:
    idp = LocalIssuer()
    v = verifier(idp, Clock(2_000_000_000), Clock(0))
    with pytest.raises(IssuerUnknown):
        v.verify(idp.token(iss=ISSUER + "/", exp=2_000_000_100))
    es = LocalIssuer(alg="ES256", kid="e1")
    with pytest.raises(AlgorithmNotAllowed):
        verifier(es, Clock(2_000_000_000), Clock(0)).verify(es.token(exp=2_000_000_100))
