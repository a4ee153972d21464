"""Getting a token for a decided grant: the token cache, the secret, the identity provider.

A cached token with at least ``min_remaining_seconds`` left is served without touching
Secrets Manager or the identity provider (so it keeps being served while either is down).
On a miss one request per key fetches, under the key's single-flight lock; with a shared
cache configured, the fetch goes through ``SharedCache`` so that one environment of the
fleet asks the identity provider and the others read its token from the table. When the
identity provider answers ``invalid_client`` (a rotation in progress), the other staged
version of the secret is tried once, and remembered if it works. When no other version
is staged yet (a one-secret provider such as Auth0 has replaced the secret a moment
before rotation stages the new one), the broker looks once more after ``SETTLE_SECONDS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from token_broker.credentials import Credentials
from token_broker.errors import InvalidClient, Unavailable
from token_broker.grants import Issue
from token_broker.providers import answer_scope
from token_broker.secret_store import SecretStore
from token_broker.token_cache import CachedToken, CacheKey, TokenCache
from token_broker.upstream import IdpClient, UpstreamToken

if TYPE_CHECKING:  # a broker without a shared cache never loads it (nor cryptography)
    from token_broker.shared_cache import SharedCache, Source

# Reading the other staged secret version and asking again needs this much of the budget.
FALLBACK_BUDGET_SECONDS = 4.0
# How long to wait for a rotation to stage the new version before looking again.
SETTLE_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Issued:
    token: CachedToken
    expires_in: int
    cache: Literal["hit", "miss"]
    from_table: bool = False  # a hit in the shared table, not in this environment's memory


class Broker:
    def __init__(
        self,
        secrets: SecretStore,
        idp: IdpClient,
        *,
        min_remaining: int,
        cache: TokenCache | None = None,
        shared: SharedCache | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.secrets = secrets
        self.idp = idp
        self.min_remaining = min_remaining
        self.cache = cache if cache is not None else TokenCache(clock)
        self.shared = shared
        self._clock = clock
        self._sleep = sleep

    def issue(self, issue: Issue, deadline: float) -> Issued:
        client = issue.client
        key: CacheKey = (client.name, client.resource, client.audience, issue.scopes)
        cached = self.cache.lookup(key, self.min_remaining)
        if cached is not None:
            return Issued(cached, self.cache.remaining(cached), "hit")
        with self.cache.single_flight(key):
            cached = self.cache.lookup(key, self.min_remaining)
            if cached is not None:  # fetched by a concurrent request while we waited
                return Issued(cached, self.cache.remaining(cached), "hit")
            source: Source = "idp"
            if self.shared is None:
                token = self._fetch(issue, deadline)
            else:
                from token_broker.token_table import shared_key

                token, source = self.shared.fetch(
                    shared_key(client, issue.scopes),
                    self.min_remaining,
                    deadline,
                    lambda: self._fetch(issue, deadline),
                )
            self.cache.store(key, token)
        if source == "table":  # the shared table honours min_remaining as memory does
            return Issued(token, self.cache.remaining(token), "hit", from_table=True)
        # A fresh token is always handed out, even one shorter-lived than min_remaining.
        return Issued(token, self.cache.remaining(token), "miss")

    def _fetch(self, issue: Issue, deadline: float) -> CachedToken:
        secret = issue.client.secret
        credentials = self.secrets.current(secret)
        sent_at = self._clock()
        try:
            answer = self._request(issue, credentials, deadline)
        except InvalidClient:
            spare = deadline - FALLBACK_BUDGET_SECONDS - self._clock()
            if spare < 0:
                raise Unavailable(
                    f"no time left to retry client {issue.client.name!r} with another secret "
                    "version",
                    retry_after=1,
                    reason="deadline",
                ) from None
            alternate = self.secrets.alternate(secret, credentials)
            if alternate is None and spare > SETTLE_SECONDS:
                self._sleep(SETTLE_SECONDS)
                alternate = self.secrets.alternate(secret, credentials)
            if alternate is None:
                raise
            sent_at = self._clock()
            answer = self._request(issue, alternate, deadline)
            self.secrets.remember(secret, alternate)
        return CachedToken(answer.access_token, _scope(issue, answer), sent_at + answer.expires_in)

    def _request(self, issue: Issue, credentials: Credentials, deadline: float) -> UpstreamToken:
        return self.idp.request_token(issue.client, credentials, issue.scopes, deadline=deadline)


def _scope(issue: Issue, answer: UpstreamToken) -> str:
    """The scope to echo: what the token grants, checked by the client's provider rules."""
    client = issue.client
    return answer_scope(
        client.provider,
        client.name,
        issue.scopes,
        issue.granted,
        answer.access_token,
        answer.scope,
    )
