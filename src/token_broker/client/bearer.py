"""What the requests and httpx auth objects share: which token to add, and when to renew it.

A 401 from the API means it refused the token sent. The token is dropped from the
``BrokerClient`` cache and the broker asked once more; only a *different* token is worth
one more try of the request (the broker hands out the token it holds while it has
``min_remaining_seconds`` left, and that one the API has just refused). So a request is
sent at most twice, and an API that refuses every token costs one broker call per 401.
"""

from __future__ import annotations

from collections.abc import Sequence

from token_broker.client.broker_client import BrokerClient
from token_broker.client.errors import BrokerClientError
from token_broker.client.request import TokenRequest


class BrokerTokens:
    """The tokens for one request to the broker (scopes, client, resource, audience)."""

    def __init__(
        self,
        broker: BrokerClient,
        scopes: str | Sequence[str] | None = None,
        *,
        client: str | None = None,
        resource: str | None = None,
        audience: str | None = None,
    ) -> None:
        if not isinstance(broker, BrokerClient):
            raise TypeError("broker must be a BrokerClient (its cache is shared by every call)")
        self.broker = broker
        # Checked now: a bad scope is a ValueError where the auth object is made.
        self.request = TokenRequest.of(scopes, client=client, resource=resource, audience=audience)

    def __repr__(self) -> str:
        return f"BrokerTokens({self.broker!r}, scopes={' '.join(self.request.scopes)!r})"

    def token(self) -> str:
        """The access token (cached, or from the broker); ``BrokerClientError`` if none."""
        r = self.request
        return self.broker.get_token(
            r.scopes, client=r.client, resource=r.resource, audience=r.audience
        )

    def cached(self) -> str | None:
        """The cached access token, or None when only the broker can tell; no I/O."""
        r = self.request
        token = self.broker.cached_token_response(
            r.scopes, client=r.client, resource=r.resource, audience=r.audience
        )
        return None if token is None else token.access_token

    def renewed(self, refused: str) -> str | None:
        """A token other than ``refused`` (which the API answered 401 to), or None."""
        self.broker.discard(refused)
        try:
            fresh = self.token()
        except BrokerClientError:
            return None  # the API's 401 stands; the next request asks the broker again
        return None if fresh == refused else fresh


class BearerAuth:
    """The options both auth objects take, and their ``repr``; each adds its library's flow.

    Share one ``BrokerClient`` between auth objects: its cache is what spares the broker.
    ``retry_on_401=False`` hands every 401 back as it came (the token is still dropped).
    """

    def __init__(
        self,
        broker: BrokerClient,
        scopes: str | Sequence[str] | None = None,
        *,
        client: str | None = None,
        resource: str | None = None,
        audience: str | None = None,
        retry_on_401: bool = True,
    ) -> None:
        self.tokens = BrokerTokens(
            broker, scopes, client=client, resource=resource, audience=audience
        )
        self.retry_on_401 = retry_on_401

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tokens!r})"


def bearer(token: str) -> str:
    """The ``Authorization`` header's value for ``token`` (RFC 6750 section 2.1)."""
    return f"Bearer {token}"
