"""``httpx`` auth: ``Authorization: Bearer`` with a token from the broker, sync and async.

    broker = BrokerClient(os.environ["SCOPEGATE_BROKER_URL"])
    httpx.Client(auth=BrokerHttpxAuth(broker, "orders:read"))
    httpx.AsyncClient(auth=BrokerHttpxAuth(broker, "orders:read"))

Needs ``httpx`` (``pip install "scopegate-client[httpx]"``). ``BrokerClient`` is blocking
(botocore credentials, ``http.client``), so the async flow takes a cached token at once
and fetches a missing one in a worker thread (``anyio.to_thread``, under asyncio or trio):
the event loop runs on meanwhile, and the fetch is bounded by the client's ``timeout``.
A 401 from the API is retried once, with a different token only, and only when the body
was not streamed; see ``bearer.py``. httpx drops the header on a cross-origin redirect.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import anyio.to_thread
import httpx

from token_broker.client.bearer import BearerAuth, bearer


class BrokerHttpxAuth(BearerAuth, httpx.Auth):
    """Adds a broker token to every request; ``BrokerClientError`` when there is none.

    Takes ``BearerAuth``'s options: broker, scopes, client, resource, audience, retry_on_401.
    """

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        token = self.tokens.token()
        request.headers["Authorization"] = bearer(token)
        response = yield request
        if self._worth_renewing(request, response, token):
            fresh = self.tokens.renewed(token)
            if fresh is not None:
                request.headers["Authorization"] = bearer(fresh)
                yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # A cached token costs no thread; only the broker's answer is waited for in one.
        # abandon_on_cancel: a cancelled request does not wait for that answer.
        token = self.tokens.cached()
        if token is None:
            token = await anyio.to_thread.run_sync(self.tokens.token, abandon_on_cancel=True)
        request.headers["Authorization"] = bearer(token)
        response = yield request
        if self._worth_renewing(request, response, token):
            fresh = await anyio.to_thread.run_sync(
                self.tokens.renewed, token, abandon_on_cancel=True
            )
            if fresh is not None:
                request.headers["Authorization"] = bearer(fresh)
                yield request

    def _worth_renewing(self, request: httpx.Request, response: httpx.Response, token: str) -> bool:
        """True on a 401 that one more try with another token may turn round."""
        sent = response.request.headers.get("Authorization")  # the last request's, redirected
        if response.status_code != 401 or sent != bearer(token):
            return False  # not refused, or refused after a redirect dropped the header
        if self.retry_on_401 and _replayable(request):
            return True
        self.tokens.broker.discard(token)
        return False


def _replayable(request: httpx.Request) -> bool:
    try:
        request.content  # noqa: B018 (read unless the body is a stream)
    except httpx.RequestNotRead:
        return False
    return True
