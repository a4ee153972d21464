"""Issued tokens, reused while they have enough lifetime left.

Keyed by (client, resource, audience, sorted scopes). ``lookup`` returns a token only
while at least ``min_remaining`` seconds remain, so a caller never receives a token about
to expire. ``single_flight`` serialises misses per key: concurrent requests for the same
key in one process cause one identity-provider call, the others find the fresh token.
Arithmetic uses wall-clock seconds because ``expires_in`` is relative to the IdP's answer
and the caller compares against its own wall clock.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

CacheKey = tuple[str, str | None, str | None, tuple[str, ...]]
MAX_ENTRIES = 1024


@dataclass(frozen=True, slots=True, repr=False)
class CachedToken:
    access_token: str
    scope: str
    expires_at: float  # wall-clock seconds

    def __repr__(self) -> str:
        return f"CachedToken(scope={self.scope!r}, expires_at={self.expires_at:.0f})"


class TokenCache:
    def __init__(
        self, clock: Callable[[], float] = time.time, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._clock = clock
        self._max = max_entries
        self._tokens: OrderedDict[CacheKey, CachedToken] = OrderedDict()
        self._locks: dict[CacheKey, threading.Lock] = {}
        self._guard = threading.Lock()

    def lookup(self, key: CacheKey, min_remaining: float) -> CachedToken | None:
        with self._guard:
            token = self._tokens.get(key)
            if token is None or token.expires_at - self._clock() < min_remaining:
                return None
            self._tokens.move_to_end(key)  # recently used: evicted last
            return token

    def store(self, key: CacheKey, token: CachedToken) -> None:
        with self._guard:
            self._tokens[key] = token
            self._tokens.move_to_end(key)
            while len(self._tokens) > self._max:
                evicted, _ = self._tokens.popitem(last=False)
                self._locks.pop(evicted, None)

    def single_flight(self, key: CacheKey) -> threading.Lock:
        """The lock that requests for ``key`` hold while they fetch a new token."""
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock

    def remaining(self, token: CachedToken) -> int:
        """Whole seconds left, never rounded up."""
        return max(0, int(token.expires_at - self._clock()))
