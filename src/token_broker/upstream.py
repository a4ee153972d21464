"""The broker's identity-provider client: OIDC discovery and the client credentials grant.

Every call ends by the caller's absolute ``deadline``, with one retry (after 100 to 300 ms
of jitter) on a connection error, a timeout or a 5xx. Answers map onto the broker's
errors: unreachable or rate limiting is ``Unavailable`` (503), ``invalid_client`` is
``InvalidClient`` (the broker then tries the other secret version), any other refusal or
nonsense is ``UpstreamError`` (502). No message holds the secret, the assertion, the
token or the identity provider's own words; upstream_answers.py reads the answers.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote_plus, urlencode

from scopegate_core.errors import DocumentError
from scopegate_core.urls import check_url
from token_broker.config import ClientConfig
from token_broker.credentials import Credentials
from token_broker.errors import ConfigError, Unavailable, UpstreamError
from token_broker.providers import token_request
from token_broker.transport import HttpTransport, Response, Transport, TransportError
from token_broker.upstream_answers import (
    UpstreamToken,
    discovered_endpoint,
    retry_after,
    token_answer,
)

if TYPE_CHECKING:
    from token_broker.kms_signer import KmsSigner

__all__ = [
    "ASSERTION_TYPE",
    "DISCOVERY_PATH",
    "RATE_LIMITED_RETRY_AFTER",
    "UNAVAILABLE_RETRY_AFTER",
    "IdpClient",
    "UpstreamToken",
]

UNAVAILABLE_RETRY_AFTER = 2  # seconds, when a failing IdP does not say
RATE_LIMITED_RETRY_AFTER = 5
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DISCOVERY_PATH = "/.well-known/openid-configuration"


class IdpClient:
    """Token requests for the configured clients; one instance per broker process."""

    def __init__(
        self,
        transport: Transport | None = None,
        *,
        timeout: float = 3.0,
        retries: int = 1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        discovery_ttl: float = 3600.0,
        signer: KmsSigner | None = None,
    ) -> None:
        self.transport: Transport = transport if transport is not None else HttpTransport()
        self.signer = signer  # signs for clients with a KMS signing_key; made on first use
        self.timeout = timeout
        self.retries = retries
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        self.discovery_ttl = discovery_ttl
        self.calls = 0  # HTTP attempts, discovery included (metrics and tests)
        self.errors = 0  # attempts that brought no usable answer
        self._endpoints: dict[str, tuple[float, str]] = {}  # issuer -> (expires, endpoint)

    def token_endpoint(self, client: ClientConfig, deadline: float) -> str:
        """The configured ``token_endpoint``, else the issuer's by (cached) OIDC discovery."""
        if client.token_endpoint is not None:
            return _config_url(client.token_endpoint, f"clients.{client.name}.token_endpoint")
        issuer = client.issuer
        if issuer is None:
            raise ConfigError(f"clients.{client.name}: give 'token_endpoint' or 'issuer'")
        cached = self._endpoints.get(issuer)
        if cached is not None and self.clock() < cached[0]:
            return cached[1]
        url = _config_url(issuer, f"clients.{client.name}.issuer").rstrip("/") + DISCOVERY_PATH
        status, _, body = self._exchange(client, deadline, lambda t: self._get(url, t))
        try:
            endpoint = discovered_endpoint(client, issuer, status, body)
        except UpstreamError:
            self.errors += 1
            raise
        self._endpoints[issuer] = (self.clock() + self.discovery_ttl, endpoint)
        return endpoint

    def request_token(
        self,
        client: ClientConfig,
        credentials: Credentials,
        scopes: Sequence[str],
        *,
        deadline: float,
    ) -> UpstreamToken:
        """One client credentials grant for ``scopes`` (all of the client's when empty), asked
        the way the client's provider wants it (token_broker.providers)."""
        fields, headers = _client_authentication(client, credentials)
        endpoint = self.token_endpoint(client, deadline)
        fields = [
            ("grant_type", "client_credentials"),
            *fields,
            *token_request(client.provider, scopes, client.resource, client.audience),
        ]

        def attempt(timeout: float) -> Response:
            form = list(fields)
            if client.auth_method == "private_key_jwt":
                form.append(("client_assertion", self._assertion(client, credentials, endpoint)))
            return self._post(endpoint, urlencode(form).encode("ascii"), headers, timeout)

        status, _, body = self._exchange(client, deadline, attempt)
        try:
            return token_answer(client, status, body, self.clock())
        except UpstreamError:
            self.errors += 1
            raise

    def _assertion(self, client: ClientConfig, credentials: Credentials, endpoint: str) -> str:
        # Imported here: only private_key_jwt clients need cryptography (and KMS) loaded.
        if client.signing_key is not None:
            from token_broker.kms_signer import KmsSigner, kms_assertion

            if self.signer is None:
                self.signer = KmsSigner()
            return kms_assertion(
                self.signer,
                client.signing_key,
                credentials.client_id,
                credentials.kid,
                endpoint,
                now=self.clock(),
                x5t=credentials.x5t,
            )
        from token_broker.assertion import client_assertion

        return client_assertion(credentials, endpoint, now=self.clock())

    def _get(self, url: str, timeout: float) -> Response:
        self.calls += 1
        return self.transport.get(url, timeout)

    def _post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        self.calls += 1
        return self.transport.post_form(url, body, headers, timeout)

    def _exchange(
        self, client: ClientConfig, deadline: float, send: Callable[[float], Response]
    ) -> Response:
        """``send`` once, and once more after a failure worth retrying, within ``deadline``."""
        cause: Exception | None = None
        wait = UNAVAILABLE_RETRY_AFTER
        for attempt in range(self.retries + 1):
            if attempt:
                pause = 0.1 + 0.2 * self.rng()
                if self.clock() + pause >= deadline:
                    break
                self.sleep(pause)
            remaining = deadline - self.clock()
            if remaining <= 0:
                break
            try:
                status, headers, body = send(min(self.timeout, remaining))
            except TransportError as e:
                self.errors += 1
                cause = e
                continue
            if status == 429:
                self.errors += 1
                raise Unavailable(
                    f"the identity provider of client {client.name!r} is rate limiting",
                    retry_after=retry_after(headers, self.clock(), RATE_LIMITED_RETRY_AFTER),
                    reason="idp_rate_limited",
                )
            if status >= 500:
                self.errors += 1
                cause = TransportError(f"HTTP {status}")
                wait = retry_after(headers, self.clock(), UNAVAILABLE_RETRY_AFTER)
                continue
            return status, headers, body
        why = "is unavailable" if cause is not None else "cannot be asked before the deadline"
        raise Unavailable(
            f"the identity provider of client {client.name!r} {why}",
            retry_after=wait,
            reason="idp_unavailable",
        ) from cause


def _client_authentication(
    client: ClientConfig, credentials: Credentials
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Form fields and headers that authenticate the client (the assertion comes later)."""
    method, client_id = client.auth_method, credentials.client_id
    if method == "private_key_jwt":
        if not credentials.private_key and client.signing_key is None:
            raise ConfigError(f"the secret of client {client.name!r} has no private_key")
        return [("client_id", client_id), ("client_assertion_type", ASSERTION_TYPE)], {}
    secret = credentials.client_secret
    if not secret:
        raise ConfigError(f"the secret of client {client.name!r} has no client_secret")
    if method == "client_secret_post":
        return [("client_id", client_id), ("client_secret", secret)], {}
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before base64.
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode("ascii")
    return [], {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def _config_url(url: str, what: str) -> str:
    try:
        return check_url(url, what)
    except DocumentError as e:
        raise ConfigError(str(e)) from e
