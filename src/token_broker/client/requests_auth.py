"""``requests`` auth: ``Authorization: Bearer`` with a token from the broker.

    broker = BrokerClient(os.environ["SCOPEGATE_BROKER_URL"])
    session.auth = BrokerRequestsAuth(broker, "orders:read")

Needs ``requests`` (``pip install "scopegate-client[requests]"``). A 401 from the API is
retried once, with a different token only, and only when the body can be sent again
(none, bytes or str: not a generator or a file); see ``bearer.py``. The token stays
with the host it was made for: ``requests`` drops the header on a redirect to another host.
"""

from __future__ import annotations

from typing import Any

from requests import PreparedRequest, Response
from requests.auth import AuthBase

from token_broker.client.bearer import BearerAuth, bearer


class BrokerRequestsAuth(BearerAuth, AuthBase):
    """Adds a broker token to every request; ``BrokerClientError`` when there is none.

    Takes ``BearerAuth``'s options: broker, scopes, client, resource, audience, retry_on_401.
    """

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = bearer(self.tokens.token())
        request.hooks["response"].append(self._on_response)  # register_hook, typed
        return request

    def _on_response(self, response: Response, **kwargs: Any) -> Response:
        """On a 401 to our token: a different token, one more try (as HTTPDigestAuth does)."""
        sent = response.request.headers.get("Authorization")
        if response.status_code != 401 or not sent or not sent.startswith("Bearer "):
            return response  # not refused, or the header was dropped on a redirect
        refused = sent.removeprefix("Bearer ")
        # The stubs say bytes | str | None; a generator or a file object may stand there
        # too, and those cannot be sent twice.
        if not (self.retry_on_401 and isinstance(response.request.body, bytes | str | None)):
            self.tokens.broker.discard(refused)  # the next request gets a fresh one
            return response
        fresh = self.tokens.renewed(refused)
        if fresh is None:
            return response
        response.content  # noqa: B018 (read it, so that the connection can be reused)
        response.close()
        retry = response.request.copy()
        retry.headers["Authorization"] = bearer(fresh)
        answer: Response = response.connection.send(retry, **kwargs)
        answer.history.append(response)
        answer.request = retry
        return answer
