"""``BrokerClient``: SigV4-signed ``POST /token`` calls to the broker, with a token cache."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from token_broker.client.answer import Token, read_answer
from token_broker.client.endpoint import endpoint
from token_broker.client.errors import BrokerClientError, BrokerUnavailable
from token_broker.client.request import TokenRequest
from token_broker.client.signing import DefaultCredentials, frozen_credentials, signed_headers
from token_broker.client.transport import Transport, http_post


class BrokerClient:
    """Asks the broker for tokens, signed as this task, and reuses them while fresh.

    A token is reused until ``refresh_margin`` seconds before it expires; a token with
    less than that to live is handed out once and not kept. Thread safe: concurrent calls
    for the same request share one HTTP request. Errors raise ``BrokerClientError``;
    ``BrokerUnavailable`` means "try again later". A bad ``url`` or an unknown region
    raises ``ValueError`` here, not at the first request.
    """

    def __init__(
        self,
        url: str,
        *,
        region: str | None = None,
        service: str | None = None,
        credentials_provider: Callable[[], Any] | None = None,
        timeout: float = 5.0,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.time,
        transport: Transport = http_post,
    ) -> None:
        """``url`` is the full ``/token`` URL (the stack's ``BrokerTokenUrl``).

        The region comes from the URL's host (``*.execute-api.REGION.amazonaws.com``, its
        VPC endpoint form, ``*.lambda-url.REGION.on.aws``), else ``region``, else
        ``AWS_REGION`` / ``AWS_DEFAULT_REGION``. SigV4 signs for ``lambda`` on function
        URL hosts and ``execute-api`` elsewhere, unless ``service`` says otherwise (a local
        function URL stand-in, say). ``credentials_provider`` returns botocore
        ``Credentials`` and is called for every request; the default is botocore's chain.
        """
        self.url = url
        self._endpoint = where = endpoint(url, region, service)
        self.host, self.region, self.service = where.host, where.region, where.service
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        if not refresh_margin >= 0:
            raise ValueError("refresh_margin must not be negative")
        self.timeout = timeout
        self.refresh_margin = refresh_margin
        self._credentials = credentials_provider or DefaultCredentials()
        self._clock = clock
        self._transport = transport
        self._cache: dict[TokenRequest, Token] = {}
        self._locks: dict[TokenRequest, threading.Lock] = {}  # one request in flight per key
        self._guard = threading.Lock()  # held briefly: the lock table and cache writes

    def __repr__(self) -> str:
        return f"BrokerClient({self.url!r}, region={self.region!r}, service={self.service!r})"

    def get_token(
        self,
        scopes: str | Sequence[str] | None = None,
        *,
        client: str | None = None,
        resource: str | None = None,
        audience: str | None = None,
    ) -> str:
        """The access token alone; see ``get_token_response``."""
        return self.get_token_response(
            scopes, client=client, resource=resource, audience=audience
        ).access_token

    def get_token_response(
        self,
        scopes: str | Sequence[str] | None = None,
        *,
        client: str | None = None,
        resource: str | None = None,
        audience: str | None = None,
    ) -> Token:
        """A token for ``scopes`` (space separated, or a sequence; None: all granted).

        ``client`` picks the upstream client when the caller has several grants;
        ``resource`` / ``audience`` must match that client's configuration. A cached token
        is returned while it has more than ``refresh_margin`` seconds left.
        """
        key = TokenRequest.of(scopes, client=client, resource=resource, audience=audience)
        token = self._fresh(key)
        if token is not None:
            return token
        with self._lock_for(key):
            token = self._fresh(key)  # another thread may have fetched it meanwhile
            if token is not None:
                return token
            token = self._request(key)
            with self._guard:
                if self._clock() < token.expires_at - self.refresh_margin:
                    self._cache[key] = token
                else:
                    self._cache.pop(key, None)
            return token

    def cached_token_response(
        self,
        scopes: str | Sequence[str] | None = None,
        *,
        client: str | None = None,
        resource: str | None = None,
        audience: str | None = None,
    ) -> Token | None:
        """The cached token ``get_token_response`` would return, or None; never any I/O.

        For event loops: a hit needs no worker thread, only a miss does.
        """
        key = TokenRequest.of(scopes, client=client, resource=resource, audience=audience)
        return self._fresh(key)

    def discard(self, access_token: str) -> None:
        """Forget ``access_token`` if it is cached (an API refused it); other tokens stay.

        Never waits for a request in flight (an event loop may call it), and a token that
        another thread has already put in its place is not touched.
        """
        with self._guard:
            for key in [k for k, t in self._cache.items() if t.access_token == access_token]:
                del self._cache[key]

    def clear_cache(self) -> None:
        """Forget every cached token (say, after an API refused one as revoked)."""
        with self._guard:
            self._cache.clear()

    def _fresh(self, key: TokenRequest) -> Token | None:
        token = self._cache.get(key)
        if token is not None and self._clock() < token.expires_at - self.refresh_margin:
            return token
        return None

    def _lock_for(self, key: TokenRequest) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _request(self, key: TokenRequest) -> Token:
        body = key.form()
        credentials = frozen_credentials(self._credentials)
        headers = signed_headers(self.url, self._endpoint, body, credentials)
        started = self._clock()
        try:
            response = self._transport(self.url, headers, body, self.timeout)
        except ssl.SSLCertVerificationError as e:
            raise BrokerClientError("tls_error", f"{self.host}: {e.verify_message}") from e
        except OSError as e:  # refused, reset, timed out, DNS
            raise BrokerUnavailable(
                "connection_error", f"cannot reach the broker at {self.host}: {_describe(e)}"
            ) from e
        return read_answer(
            response, " ".join(key.scopes), started, self._clock(), secrets=(credentials.token,)
        )


def _describe(error: OSError) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
