"""Keys per issuer: discovery, TTL, rate-limited refetch for unknown kids, stale window."""

from __future__ import annotations

import pytest

from authorizer.config import validate
from authorizer.errors import KeyNotFound, KeysUnavailable
from authorizer.jwks import COOLDOWN_SECONDS, STALE_SECONDS, TTL_SECONDS, IssuerKeys
from tests.support.issuer import AUDIENCE, DISCOVERY, ISSUER, JWKS_URI, LocalIssuer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def keys_for(idp: LocalIssuer, clock: Clock, jwks_uri: str | None = None) -> IssuerKeys:
    issuer: dict[str, object] = {"issuer": ISSUER, "audiences": [AUDIENCE]}
    if jwks_uri:
        issuer["jwks_uri"] = jwks_uri
    config = validate({"issuers": [issuer], "routes": [{"route": "GET /x", "scopes": ["s"]}]})
    return IssuerKeys(config.issuers[0], idp, clock=clock)


def test_keys_come_from_discovery_and_are_fetched_on_first_need() -> None:
    idp, clock = LocalIssuer(), Clock()
    keys = keys_for(idp, clock)
    assert idp.requests == []  # nothing at construction
    assert keys.key_for("k1", "RS256").kid == "k1"
    assert idp.requests == [DISCOVERY, JWKS_URI]


def test_discovery_naming_another_issuer_is_refused() -> None:
    idp, clock = LocalIssuer(), Clock()

    class Mixed:
        def get_json(self, url: str) -> object:
            if url == DISCOVERY:
                return {"issuer": "https://evil.test", "jwks_uri": JWKS_URI}
            return idp.get_json(url)

    keys = IssuerKeys(keys_for(idp, clock).issuer, Mixed(), clock=clock)
    with pytest.raises(KeysUnavailable):
        keys.key_for("k1", "RS256")


def test_cached_keys_are_reused_until_the_ttl() -> None:
    idp, clock = LocalIssuer(), Clock()
    keys = keys_for(idp, clock, JWKS_URI)
    for _ in range(100):
        keys.key_for("k1", "RS256")
    assert len(idp.requests) == 1
    clock.now += TTL_SECONDS
    keys.key_for("k1", "RS256")
    assert len(idp.requests) == 2


def test_a_rotated_key_is_picked_up_by_one_immediate_refetch() -> None:
    idp, clock = LocalIssuer(), Clock()
    keys = keys_for(idp, clock, JWKS_URI)
    keys.key_for("k1", "RS256")
    idp.rotate("k2")
    assert keys.key_for("k2", "RS256").kid == "k2"
    assert len(idp.requests) == 2


def test_a_flood_of_unknown_kids_causes_at_most_one_fetch_per_cooldown() -> None:
    idp, clock = LocalIssuer(), Clock()
    keys = keys_for(idp, clock, JWKS_URI)
    keys.key_for("k1", "RS256")
    for n in range(1000):
        with pytest.raises(KeyNotFound):
            keys.key_for(f"bogus-{n}", "RS256")
    assert len(idp.requests) == 2  # the first fetch and one refetch
    clock.now += COOLDOWN_SECONDS
    with pytest.raises(KeyNotFound):
        keys.key_for("bogus-again", "RS256")
    assert len(idp.requests) == 3


def test_cached_keys_keep_working_while_the_idp_is_down_for_a_bounded_time() -> None:
    idp, clock = LocalIssuer(), Clock()
    keys = keys_for(idp, clock, JWKS_URI)
    keys.key_for("k1", "RS256")
    idp.down = True
    clock.now += TTL_SECONDS + 1
    assert keys.key_for("k1", "RS256").kid == "k1"  # stale but usable
    fetches = len(idp.requests)
    keys.key_for("k1", "RS256")
    assert len(idp.requests) == fetches  # no retry storm within the cooldown
    clock.now = TTL_SECONDS + STALE_SECONDS
    with pytest.raises(KeysUnavailable):
        keys.key_for("k1", "RS256")


def test_idp_down_at_first_need_is_unavailable_not_a_crash() -> None:
    idp, clock = LocalIssuer(), Clock()
    idp.down = True
    keys = keys_for(idp, clock, JWKS_URI)
    assert keys.prefetch() is False
    with pytest.raises(KeysUnavailable):
        keys.key_for("k1", "RS256")
    idp.down = False
    clock.now += COOLDOWN_SECONDS
    assert keys.key_for("k1", "RS256").kid == "k1"
