"""Token verification: strict parsing, the issuer's allow-list and keys, then claims (the
baseline of claims.py, then the provider profile's rules of profiles.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from authorizer.claims import check_claims, scopes_of
from authorizer.config import IssuerConfig
from authorizer.errors import AlgorithmNotAllowed, ClaimRejected, IssuerUnknown
from authorizer.fetch import JsonFetcher
from authorizer.jwks import IssuerKeys
from authorizer.jws import parse, verify_signature
from authorizer.profiles import check_profile, client_id_of

CACHE_SECONDS = 60.0  # the longest a verification counts (VerifiedToken.until)


class VerifiedToken(NamedTuple):  # a NamedTuple: see jws.RawJws
    claims: dict[str, Any]
    scopes: frozenset[str]
    issuer: str
    kid: str | None
    # Until when (the verifier's clock) this verification counts: the token's expiry with
    # leeway, and at most CACHE_SECONDS after it was verified. Whatever remembers the
    # token (the authorizer's cache, decision.py) keeps it no longer.
    until: float = 0.0
    client_id_claims: tuple[str, ...] = ()  # its issuer's: what ``identity_of`` reads


def identity_of(
    claims: Mapping[str, Any], kid: str | None, client_id_claims: tuple[str, ...]
) -> Mapping[str, str]:
    """What a decision's log line says of the token: ``iss``, ``sub``, ``client_id`` (from
    the provider's client id claim: Okta's ``cid``, Entra's ``azp``...), ``jti`` and
    ``kid``, each when it is a string; never the token itself."""
    fields: dict[str, str] = {}
    for name in ("iss", "sub"):
        value = claims.get(name)
        if type(value) is str:
            fields[name] = value
    _, client_id = client_id_of(claims, client_id_claims)
    if type(client_id) is str:
        fields["client_id"] = client_id
    jti = claims.get("jti")
    if type(jti) is str:
        fields["jti"] = jti
    if kid is not None:
        fields["kid"] = kid
    return MappingProxyType(fields)


class Verifier:
    """Verifies access tokens from the configured issuers (exact ``iss`` match)."""

    def __init__(
        self,
        issuers: tuple[IssuerConfig, ...],
        fetcher: JsonFetcher,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        on_fetch: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._clock = clock
        self._issuers = {
            i.issuer: IssuerKeys(i, fetcher, clock=monotonic, on_fetch=on_fetch) for i in issuers
        }

    def prefetch(self) -> None:
        """Warm every issuer's keys (Lambda init phase); failures are retried on demand."""
        for keys in self._issuers.values():
            keys.prefetch()

    def verify(self, token: str) -> VerifiedToken:
        """Return the verified claims or raise a ``TokenRejected`` saying why. Every call
        verifies in full; the authorizer remembers verified tokens (``decision.py``) for
        as long as ``VerifiedToken.until`` says the verification counts."""
        return self._verify(token, self._clock())

    @property
    def clock(self) -> Callable[[], float]:
        """The clock ``VerifiedToken.until`` is measured on."""
        return self._clock

    def _verify(self, token: str, now: float) -> VerifiedToken:
        jws = parse(token)
        claims, alg, kid = jws.payload, jws.alg, jws.kid
        iss = claims.get("iss")
        keys = self._issuers.get(iss) if type(iss) is str else None  # JSON: exactly str
        if keys is None:
            raise IssuerUnknown("the token's issuer is not configured")
        issuer = keys.issuer
        if alg not in issuer.algorithms:
            raise AlgorithmNotAllowed(f"{alg} is not allowed for this issuer")
        verify_signature(jws, keys.key_for(kid, alg))
        try:
            check_claims(claims, issuer, now)
            # On the hot path, an issuer with no profile rules to check skips the call.
            if issuer.token_types or issuer.profile_claims or issuer.client_ids:
                check_profile(jws.header, claims, issuer)
            scopes = scopes_of(claims, issuer)
        except ClaimRejected as e:  # signed, so its claims may name it in the log
            e.identity = identity_of(claims, kid, issuer.client_id_claims)
            raise
        exp: float = claims["exp"]  # type: ignore[assignment]  # a number: check_claims
        until = min(exp + issuer.leeway_seconds, now + CACHE_SECONDS)
        return VerifiedToken(claims, scopes, issuer.issuer, kid, until, issuer.client_id_claims)
