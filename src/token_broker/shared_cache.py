"""One identity-provider call per grant per token lifetime across every broker environment.

Lambda runs many environments of the broker at once, each with its own memory cache. On a
memory miss, ``SharedCache.fetch`` looks in the shared table (``token_table``) before
asking the identity provider:

1. a token there with at least ``min_remaining`` seconds left is served (a table hit);
2. otherwise the environment takes the key's lease (a conditional write that succeeds
   for one environment only), asks the identity provider, writes the token and so ends
   the lease;
3. an environment that finds a live lease polls the table for the holder's token, and
   takes the lease over once it has expired (a holder that died, or is stuck); after
   waiting until ``OWN_CALL_RESERVE`` seconds before the request's deadline it asks the
   identity provider itself rather than fail.

The shared cache may make a request slower but never fails one the identity provider can
serve: any table or KMS failure is reported through ``on_error`` (the handler logs a
WARNING at most once a minute and counts ``SharedCacheError``), and the request goes on
to the identity provider; the table is then left alone for ``BYPASS_SECONDS``. An
entry that does not decrypt (moved, altered, or under another KMS key) is reported and
replaced by the identity provider's new token.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Literal

from token_broker.token_cache import CachedToken
from token_broker.token_table import SharedCacheError, SharedKey, TokenTable

LEASE_SECONDS = 4.0  # how long a holder may take before others may take over
OWN_CALL_RESERVE = 4.0  # seconds of the budget kept for asking the IdP after waiting
FIRST_POLL = 0.02  # seconds between looks at the table while another holds the lease...
MAX_POLL = 0.2  # ...growing by half each time up to this
BYPASS_SECONDS = 10.0  # after a failure, the table is not used for this long
LOST_RACES = 3  # lease races lost in a row before waiting like everyone else

Source = Literal["table", "idp"]


def _ignore(error: SharedCacheError) -> None:
    return None


class SharedCache:
    """One environment's view of the shared table; ``fetch`` is the lookup order above."""

    def __init__(
        self,
        table: TokenTable,
        *,
        on_error: Callable[[SharedCacheError], None] = _ignore,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.table = table
        self.on_error = on_error
        self.lease_seconds = lease_seconds
        self._clock = clock
        self._sleep = sleep
        self._bypass_until = 0.0
        self._lock = threading.Lock()

    def fetch(
        self,
        key: SharedKey,
        min_remaining: float,
        deadline: float,
        ask_idp: Callable[[], CachedToken],
    ) -> tuple[CachedToken, Source]:
        """A token for ``key``: the table's, or ``ask_idp()``'s (then written to the table)."""
        if self._clock() < self._bypass_until:
            return ask_idp(), "idp"
        holder = uuid.uuid4().hex
        try:
            found = self._find_or_lease(key, min_remaining, deadline, holder)
        except SharedCacheError as e:
            self._failed(e)
            token = ask_idp()
            if e.reason == "entry_invalid":  # replace what cannot be read with a good entry
                self._quietly(lambda: self.table.store(key, token))
            return token, "idp"
        if found is not None:
            return found, "table"
        try:
            token = ask_idp()
        except BaseException:
            self._quietly(lambda: self.table.release(key, holder))
            raise
        try:
            self.table.store(key, token)
        except SharedCacheError as e:  # the token is still good; others need not wait
            self._failed(e)
            self._quietly(lambda: self.table.release(key, holder))
        return token, "idp"

    def _find_or_lease(
        self, key: SharedKey, min_remaining: float, deadline: float, holder: str
    ) -> CachedToken | None:
        """A fresh token from the table, or None once this environment should ask the IdP
        (holding the lease, or having waited as long as it may)."""
        wait_until = deadline - OWN_CALL_RESERVE
        pause, lost = FIRST_POLL, 0
        entry = self.table.read(key)
        while True:
            now = self._clock()
            if entry.token is not None and entry.token.expires_at - now >= min_remaining:
                return entry.token
            if entry.lease_until < now and lost < LOST_RACES:
                until = now + self.lease_seconds
                if self.table.take_lease(
                    key, holder, now=now, until=until, needed=now + min_remaining
                ):
                    return None
                lost += 1  # another environment leased it or wrote a token: look again
            elif now + pause > wait_until:
                return None  # waited long enough: ask the identity provider ourselves
            else:
                self._sleep(pause)
                pause, lost = min(pause * 1.5, MAX_POLL), 0
            entry = self.table.read(key)

    def _quietly(self, write: Callable[[], None]) -> None:
        try:
            write()
        except SharedCacheError as e:
            self._failed(e)

    def _failed(self, error: SharedCacheError) -> None:
        if error.reason != "entry_invalid":  # one bad entry says nothing of the others
            with self._lock:
                self._bypass_until = self._clock() + BYPASS_SECONDS
        self.on_error(error)
