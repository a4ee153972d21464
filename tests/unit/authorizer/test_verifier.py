"""The verifier: issuer selection, allow-list, and how long a verification counts."""

from __future__ import annotations

import pytest

from authorizer.config import validate
from authorizer.errors import (
    AlgorithmNotAllowed,
    ClaimRejected,
    IssuerUnknown,
    KeyNotFound,
)
from authorizer.jwks import TTL_SECONDS
from authorizer.verifier import CACHE_SECONDS, Verifier
from tests.support.issuer import AUDIENCE, ISSUER, JWKS_URI, LocalIssuer
from tests.support.signing import other_ecdsa_form


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


def test_a_token_verifies_until_the_second_it_expires() -> None:
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


def test_a_verification_counts_until_expiry_with_leeway_and_at_most_cache_seconds() -> None:
    """``until`` is what the authorizer's cache of verified tokens honours (decision.py)."""
    idp = LocalIssuer()
    wall, mono = Clock(2_000_000_000), Clock(0)
    v = verifier(idp, wall, mono)
    short = v.verify(idp.token(exp=2_000_000_010, iat=2_000_000_000))
    assert short.until == 2_000_000_010 + v._issuers[ISSUER].issuer.leeway_seconds
    long = v.verify(idp.token(exp=2_000_010_000, iat=2_000_000_000))
    assert long.until == 2_000_000_000 + CACHE_SECONDS


def test_every_call_verifies_in_full() -> None:
    """The verifier remembers nothing: a key the issuer withdrew fails the very next call."""
    idp = LocalIssuer()
    token = idp.token(exp=2_000_010_000, iat=2_000_000_000)
    wall, mono = Clock(2_000_000_000), Clock(0)
    v = verifier(idp, wall, mono)
    v.verify(token)
    idp.rotate("k2", keep_old=False)
    mono.now += TTL_SECONDS  # the key cache refreshes on its next use
    with pytest.raises(KeyNotFound):
        v.verify(token)


def test_issuer_must_match_exactly_and_algorithm_must_be_allowed() -> None:
    idp = LocalIssuer()
    v = verifier(idp, Clock(2_000_000_000), Clock(0))
    with pytest.raises(IssuerUnknown):
        v.verify(idp.token(iss=ISSUER + "/", exp=2_000_000_100))
    es = LocalIssuer(alg="ES256", kid="e1")
    with pytest.raises(AlgorithmNotAllowed):
        verifier(es, Clock(2_000_000_000), Clock(0)).verify(es.token(exp=2_000_000_100))


def es256_verifier(idp: LocalIssuer, wall: Clock, mono: Clock) -> Verifier:
    return verifier(idp, wall, mono, algorithms=["ES256"])


def test_both_ecdsa_forms_of_a_signature_verify() -> None:
    # (r, n - s) is not a forgery: it needs a signature by the key, and signers emit both.
    idp = LocalIssuer(alg="ES256", kid="e1")
    token = idp.token(exp=2_000_000_100, iat=2_000_000_000)
    other = other_ecdsa_form(token)
    assert other != token
    v = es256_verifier(idp, Clock(2_000_000_000), Clock(0))
    assert v.verify(other).claims == v.verify(token).claims
