"""The authorizer remembers each verified token with its latest decision, and never longer
than the token's verification counts: a repeated request is answered as the config says,
always, and a token string it has not verified is never answered from memory."""

from __future__ import annotations

import time
from typing import Any

from authorizer.config import validate
from authorizer.decision import TOKENS_KEPT, Authorizer
from authorizer.jwks import TTL_SECONDS
from authorizer.verifier import CACHE_SECONDS, Verifier
from tests.support.issuer import AUDIENCE, ISSUER, LocalIssuer
from tests.support.signing import other_ecdsa_form

PREFIX = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod"
CONFIG = {
    "issuers": [{"issuer": ISSUER, "audiences": [AUDIENCE]}],
    "routes": [
        {"route": "GET /orders/{id}", "scopes": ["orders:read"]},
        {"route": "POST /orders", "scopes": ["orders:write"]},
    ],
}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def authorizer(
    idp: LocalIssuer, clock: Clock, config: dict[str, Any] = CONFIG, keys: Clock | None = None
) -> Authorizer:
    """``clock`` is the wall clock of the token's times; ``keys`` the key cache's."""
    cfg = validate(config)
    monotonic = keys or Clock()
    return Authorizer(cfg, Verifier(cfg.issuers, idp, clock=clock, monotonic=monotonic))


def event(token: str, resource: str = "GET/orders/42") -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": f"{PREFIX}/{resource}",
    }


def token(idp: LocalIssuer, clock: Clock, lifetime: float, scope: str = "orders:read") -> str:
    now = int(clock.now)
    return idp.token(scope, sub="svc", iat=now, exp=now + int(lifetime))


def test_a_remembered_decision_ends_when_the_token_expires() -> None:
    idp, clock = LocalIssuer(), Clock()
    auth = authorizer(idp, clock)
    tok = token(idp, clock, lifetime=20)
    assert [auth.decide(event(tok)).effect for _ in range(3)] == ["allow"] * 3
    clock.now += 21
    assert (auth.decide(event(tok)).effect, auth.decide(event(tok)).reason) == (
        "unauthenticated",
        "expired",
    )


def test_a_remembered_decision_is_verified_again_after_the_verifications_bound() -> None:
    """After CACHE_SECONDS the token is verified again: an issuer whose keys are gone
    (and cannot be fetched again) no longer lets a remembered allow stand."""
    idp, clock = LocalIssuer(), Clock()
    auth = authorizer(idp, clock)
    tok = token(idp, clock, lifetime=3 * CACHE_SECONDS)
    assert auth.decide(event(tok)).effect == "allow"
    first = auth.decide(event(tok))
    clock.now += CACHE_SECONDS + 1
    again = auth.decide(event(tok))
    assert again.effect == "allow"
    assert again is not first  # decided anew, from a new verification
    assert again.token is not None
    assert first.token is not None
    assert again.token.until > first.token.until


def test_each_resource_and_event_kind_gets_its_own_decision() -> None:
    idp, clock = LocalIssuer(), Clock()
    auth = authorizer(idp, clock)
    tok = token(idp, clock, lifetime=300)
    for _ in range(2):
        assert auth.decide(event(tok, "GET/orders/42")).effect == "allow"
        assert auth.decide(event(tok, "POST/orders")).reason == "scope_missing"
        http: dict[str, Any] = {"version": "2.0", "type": "REQUEST"}
        http["routeArn"] = f"{PREFIX}/POST/orders"
        http["headers"] = {"authorization": f"Bearer {tok}"}
        assert auth.decide(http).response == {
            "isAuthorized": False,
            "context": {"sub": "svc", "client_id": "client-1", "scope": "orders:read"},
        }


def test_refusals_before_verification_are_never_remembered() -> None:
    idp, clock = LocalIssuer(), Clock()
    auth = authorizer(idp, clock)
    tok = token(idp, clock, lifetime=300)
    forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    assert [auth.decide(event(forged)).reason for _ in range(2)] == ["signature_invalid"] * 2
    assert auth.decide(event(tok)).effect == "allow"


def test_a_withdrawn_key_stops_working_for_remembered_tokens_within_the_bound() -> None:
    idp, clock, keys = LocalIssuer(), Clock(), Clock()
    auth = authorizer(idp, clock, keys=keys)
    tok = token(idp, clock, lifetime=10 * CACHE_SECONDS)
    assert auth.decide(event(tok)).effect == "allow"
    idp.rotate("k2", keep_old=False)  # the issuer withdraws k1
    keys.now += TTL_SECONDS  # the key cache refreshes on its next use
    clock.now += CACHE_SECONDS - 1
    assert auth.decide(event(tok)).effect == "allow"  # still remembered
    assert auth.decide(event(tok, "POST/orders")).reason == "scope_missing"  # decided anew
    clock.now += 1
    assert auth.decide(event(tok)).reason == "kid_unknown"


def test_another_string_of_a_remembered_token_is_verified_in_full() -> None:
    """Both ECDSA forms (r, s) and (r, n - s) verify (see jws.py), but only the string that
    was verified is remembered: the other is checked against the issuer's keys."""
    es = {"issuers": [{**CONFIG["issuers"][0], "algorithms": ["ES256"]}]}
    idp, clock, keys = LocalIssuer(alg="ES256", kid="e1"), Clock(), Clock()
    auth = authorizer(idp, clock, {**CONFIG, **es}, keys=keys)
    tok = token(idp, clock, lifetime=300)
    seen_both = token(idp, clock, lifetime=300, scope="orders:read orders:write")
    assert auth.decide(event(tok)).effect == "allow"
    assert auth.decide(event(seen_both)).effect == "allow"
    assert auth.decide(event(other_ecdsa_form(seen_both), "POST/orders")).effect == "allow"
    idp.rotate("e2", keep_old=False, alg="ES256")  # the issuer withdraws e1
    keys.now += TTL_SECONDS
    assert auth.decide(event(tok)).effect == "allow"  # this very string was verified
    assert auth.decide(event(other_ecdsa_form(seen_both), "POST/orders")).effect == "allow"
    # The other form of tok carries the same claims but was never verified: the issuer's
    # keys no longer have e1, so it is refused.
    assert auth.decide(event(other_ecdsa_form(tok))).reason == "kid_unknown"
    tampered = tok[:-6] + ("AAAAAA" if not tok.endswith("AAAAAA") else "BBBBBB")
    assert auth.decide(event(tampered)).effect == "unauthenticated"


def test_the_remembered_tokens_stay_bounded() -> None:
    idp, clock = LocalIssuer(alg="ES256", kid="e1"), Clock()
    es = {"issuers": [{**CONFIG["issuers"][0], "algorithms": ["ES256"]}]}
    auth = authorizer(idp, clock, {**CONFIG, **es})
    tokens = [
        idp.token(
            "orders:read", sub="svc", jti=f"t{n}", iat=int(clock.now), exp=int(clock.now) + 300
        )
        for n in range(TOKENS_KEPT + 50)
    ]
    for n, tok in enumerate(tokens):
        assert auth.decide(event(tok, f"GET/orders/{n}")).effect == "allow"
    assert len(auth._seen) == TOKENS_KEPT
    assert tokens[0] not in auth._seen  # the oldest went first
    assert auth.decide(event(tokens[0], "GET/orders/0")).effect == "allow"  # verified again
