"""Token verification: strict parsing, the issuer's allow-list and keys, then claims."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authorizer.claims import check_claims, scopes_of
from authorizer.config import IssuerConfig
from authorizer.errors import AlgorithmNotAllowed, IssuerUnknown
from authorizer.fetch import JsonFetcher
from authorizer.jwks import IssuerKeys
from authorizer.jws import parse, verify_signature


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    claims: dict[str, Any]
    scopes: frozenset[str]
    issuer: str
    kid: str | None


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
        """Return the verified claims or raise a ``TokenRejected`` saying why."""
        jws = parse(token)
        iss = jws.payload.get("iss")
        keys = self._issuers.get(iss) if isinstance(iss, str) else None
        if keys is None:
            raise IssuerUnknown("the token's issuer is not configured")
        issuer = keys.issuer
        if jws.alg not in issuer.algorithms:
            raise AlgorithmNotAllowed(f"{jws.alg} is not allowed for this issuer")
        verify_signature(jws, keys.key_for(jws.kid, jws.alg))
        check_claims(jws.payload, issuer, self._clock())
        return VerifiedToken(jws.payload, scopes_of(jws.payload, issuer), issuer.issuer, jws.kid)
