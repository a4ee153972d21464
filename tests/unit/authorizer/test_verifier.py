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
from authorizer.jws import b64url_decode
from authorizer.verifier import CACHE_SECONDS, Verifier
from tests.support.issuer import AUDIENCE, ISSUER, JWKS_URI, LocalIssuer
from tests.support.signing import b64url


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


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _other_ecdsa_form(token: str) -> str:
    """The same token with its ES256 signature (r, s) turned into (r, n - s)."""
    header, payload, signature = token.split(".")
    raw = b64url_decode(signature)
    r, s = int.from_bytes(raw[:32]), int.from_bytes(raw[32:])
    return ".".join([header, payload, b64url(r.to_bytes(32) + (P256_ORDER - s).to_bytes(32))])


def es256_verifier(idp: LocalIssuer, wall: Clock, mono: Clock) -> Verifier:
    return verifier(idp, wall, mono, algorithms=["ES256"])


def test_both_ecdsa_forms_of_a_signature_verify() -> None:
    # (r, n - s) is not a forgery: it needs a signature by the key, and signers emit both.
    idp = LocalIssuer(alg="ES256", kid="e1")
    token = idp.token(exp=2_000_000_100, iat=2_000_000_000)
    other = _other_ecdsa_form(token)
    assert other != token
    v = es256_verifier(idp, Clock(2_000_000_000), Clock(0))
    assert v.verify(other).claims == v.verify(token).claims


def test_the_other_ecdsa_form_is_verified_in_full_not_served_from_the_cache() -> None:
    idp = LocalIssuer(alg="ES256", kid="e1")
    token = idp.token(exp=2_000_010_000, iat=2_000_000_000)
    wall, mono = Clock(2_000_000_000), Clock(0)
    v = es256_verifier(idp, wall, mono)
    v.verify(token)
    idp.rotate("e2", keep_old=False, alg="ES256")  # the issuer withdraws e1
    mono.now += TTL_SECONDS
    v.verify(token)  # this exact string was verified: remembered within the cache bound
    with pytest.raises(KeyNotFound):  # same claims, another string: checked against the JWKS
        v.verify(_other_ecdsa_form(token))
