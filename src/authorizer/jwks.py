"""Per-issuer signing keys: discovery, a TTL cache, rate-limited refetch, a stale window.

Promises:
- keys are fetched on first need (or by an explicit ``prefetch``), never at import;
- an unknown ``kid`` refetches at once the first time, then at most once per cooldown, so a
  flood of bogus kids cannot become a flood of fetches;
- after a failed fetch no new attempt is made for the cooldown, and cached keys keep
  working until ``ttl + stale`` seconds after their fetch;
- ``jku``, ``x5u`` and every other token header are never used to find keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from authorizer.config import IssuerConfig
from authorizer.errors import ConfigError, FetchError, KeyNotFound, KeysUnavailable
from authorizer.fetch import JsonFetcher
from authorizer.jwk import JwkError, KeySet, VerificationKey, load_jwks
from scopegate_core.errors import DocumentError
from scopegate_core.urls import check_url

TTL_SECONDS = 600.0
STALE_SECONDS = 3600.0
COOLDOWN_SECONDS = 30.0
DISCOVERY_PATH = "/.well-known/openid-configuration"

_NEVER = float("-inf")


class IssuerKeys:
    """The JWKS of one configured issuer."""

    def __init__(
        self,
        issuer: IssuerConfig,
        fetcher: JsonFetcher,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_fetch: Callable[[str, bool], None] | None = None,
        ttl: float = TTL_SECONDS,
        stale: float = STALE_SECONDS,
        cooldown: float = COOLDOWN_SECONDS,
    ) -> None:
        self.issuer = issuer
        self._fetcher = fetcher
        self._clock = clock
        self._on_fetch = on_fetch
        self._ttl, self._stale, self._cooldown = ttl, stale, cooldown
        self._jwks_uri = issuer.jwks_uri
        self._keys: KeySet | None = None
        self._fetched_at = _NEVER  # last successful fetch
        self._failed_at = _NEVER  # last failed fetch
        self._kid_refetch_at = _NEVER  # last refetch caused by an unknown kid

    def key_for(self, kid: str | None, alg: str) -> VerificationKey:
        """The key to verify a token with this ``kid`` and ``alg``, or a ``TokenRejected``."""
        now = self._clock()
        if self._keys is None or now - self._fetched_at >= self._ttl:
            self._refresh(now, reason="ttl")
        keys = self._usable(now)
        try:
            return keys.get(kid, alg)
        except KeyNotFound:
            if now - self._kid_refetch_at < self._cooldown:
                raise
            self._kid_refetch_at = now
            if not self._refresh(now, reason="kid"):
                raise
            return self._usable(now).get(kid, alg)

    def prefetch(self) -> bool:
        """Fetch once ahead of the first request (Lambda init phase); never raises."""
        return self._refresh(self._clock(), reason="prefetch")

    def _usable(self, now: float) -> KeySet:
        if self._keys is None or now - self._fetched_at >= self._ttl + self._stale:
            raise KeysUnavailable(f"no usable keys for issuer {self.issuer.issuer}")
        return self._keys

    def _refresh(self, now: float, *, reason: str) -> bool:
        if now - self._failed_at < self._cooldown:
            return False  # the identity provider failed moments ago: do not pile on
        try:
            keys = load_jwks(self._fetcher.get_json(self._resolve_jwks_uri()))
        except (FetchError, JwkError, DocumentError) as e:  # ConfigError is a DocumentError
            self._failed_at = now
            self._report(str(e), ok=False)
            return False
        self._keys, self._fetched_at = keys, now
        self._report(reason, ok=True)
        return True

    def _resolve_jwks_uri(self) -> str:
        if self._jwks_uri is None:
            url = self.issuer.issuer.rstrip("/") + DISCOVERY_PATH
            doc: Any = self._fetcher.get_json(url)
            if not isinstance(doc, dict) or doc.get("issuer") != self.issuer.issuer:
                raise ConfigError(f"discovery at {url} names another issuer")
            self._jwks_uri = check_url(doc.get("jwks_uri"), "discovered jwks_uri")
        return self._jwks_uri

    def _report(self, detail: str, *, ok: bool) -> None:
        if self._on_fetch is not None:
            self._on_fetch(detail, ok)
