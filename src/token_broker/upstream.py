"""The broker's identity-provider client: OIDC discovery and the client credentials grant.

Every call ends by the caller's absolute ``deadline``, with one retry (after 100 to 300 ms
of jitter) on a connection error, a timeout or a 5xx. Answers map onto the broker's
errors: unreachable or rate limiting is ``Unavailable`` (503), ``invalid_client`` is
``InvalidClient`` (the broker then tries the other secret version), any other refusal or
nonsense is ``UpstreamError`` (502). No message holds the secret, the assertion, the
token or the identity provider's own words (only a well-formed OAuth ``error`` code).
An answer no JSON parser can read (nested beyond its depth, integers beyond its digit
limit, over 1 MiB) is nonsense like any other: ``UpstreamError``.
"""

from __future__ import annotations

import base64
import email.utils
import json
import math
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlencode

from scopegate_core.errors import DocumentError
from scopegate_core.urls import check_url
from token_broker.config import ClientConfig
from token_broker.credentials import Credentials
from token_broker.errors import ConfigError, InvalidClient, Unavailable, UpstreamError
from token_broker.providers import token_request
from token_broker.transport import MAX_BYTES, HttpTransport, Response, Transport, TransportError

if TYPE_CHECKING:
    from token_broker.kms_signer import KmsSigner

UNAVAILABLE_RETRY_AFTER = 2  # seconds, when a failing IdP does not say
RATE_LIMITED_RETRY_AFTER = 5
MAX_RETRY_AFTER = 3600
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME = 366 * 86400  # an expires_in beyond a year is nonsense, not a lifetime
DISCOVERY_PATH = "/.well-known/openid-configuration"
# RFC 6749 section 5.2 allows these characters in `error`; anything else is not echoed.
_ERROR_CODE = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}")
_SECONDS = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True, slots=True, repr=False)
class UpstreamToken:
    """An access token as the identity provider issued it; ``repr`` never shows the token."""

    access_token: str
    token_type: str  # always "Bearer"
    expires_in: int  # seconds left when issued, as the IdP said (or the JWT's exp says)
    scope: str | None  # as the IdP returned it; None when it did not say

    def __repr__(self) -> str:
        return f"UpstreamToken(expires_in={self.expires_in}, scope={self.scope!r})"


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
            endpoint = _discovered_endpoint(client, issuer, status, body)
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
            return _token(client, status, body, self.clock())
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
        retry_after = UNAVAILABLE_RETRY_AFTER
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
                    retry_after=_retry_after(headers, self.clock(), RATE_LIMITED_RETRY_AFTER),
                    reason="idp_rate_limited",
                )
            if status >= 500:
                self.errors += 1
                cause = TransportError(f"HTTP {status}")
                retry_after = _retry_after(headers, self.clock(), UNAVAILABLE_RETRY_AFTER)
                continue
            return status, headers, body
        why = "is unavailable" if cause is not None else "cannot be asked before the deadline"
        raise Unavailable(
            f"the identity provider of client {client.name!r} {why}",
            retry_after=retry_after,
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


def _token(client: ClientConfig, status: int, body: bytes, now: float) -> UpstreamToken:
    doc = _json_object(body)
    if status != 200:
        raise _refusal(client, status, doc)
    if doc is None:
        raise _malformed(client, "something that is not a JSON object")
    token, token_type = doc.get("access_token"), doc.get("token_type")
    if not isinstance(token, str) or not token:
        raise _malformed(client, "no access_token")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise _malformed(client, "a token_type other than Bearer")
    expires_in = doc["expires_in"] if "expires_in" in doc else _jwt_lifetime(token, now)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise _malformed(client, "no expires_in that is a positive integer")
    if not 0 < expires_in <= MAX_LIFETIME:
        raise _malformed(client, "no expires_in that is a positive integer up to a year")
    scope = doc.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise _malformed(client, "a scope that is not a string")
    return UpstreamToken(token, "Bearer", expires_in, scope)


def _refusal(client: ClientConfig, status: int, doc: dict[str, Any] | None) -> UpstreamError:
    code = doc.get("error") if doc is not None else None
    shown = f", {code}" if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else ""
    if (code == "invalid_client" and status in (400, 401)) or (status == 401 and code is None):
        return InvalidClient(
            f"the identity provider refused the credentials of client {client.name!r} "
            f"(HTTP {status}{shown})"
        )
    if not 400 <= status < 500:
        return _malformed(client, f"HTTP {status}, which is not an OAuth answer")
    return UpstreamError(
        f"the identity provider refused the token request of client {client.name!r} "
        f"(HTTP {status}{shown})"
    )


def _malformed(client: ClientConfig, what: str) -> UpstreamError:
    return UpstreamError(
        f"the identity provider answered client {client.name!r} with {what}",
        reason="idp_malformed",
    )


def _discovered_endpoint(client: ClientConfig, issuer: str, status: int, body: bytes) -> str:
    def invalid(why: str) -> UpstreamError:
        message = f"OIDC discovery of {issuer} for client {client.name!r} failed: {why}"
        return UpstreamError(message, reason="idp_discovery_invalid")

    doc = _json_object(body) if status == 200 else None
    if doc is None:
        raise invalid(f"HTTP {status}" if status != 200 else "not a JSON object")
    if doc.get("issuer") != issuer:
        raise invalid("the document names another issuer")
    try:
        return check_url(doc.get("token_endpoint"), "token_endpoint")
    except DocumentError as e:
        raise invalid("its token_endpoint is not an https URL") from e


def _config_url(url: str, what: str) -> str:
    try:
        return check_url(url, what)
    except DocumentError as e:
        raise ConfigError(str(e)) from e


def _json_object(body: bytes) -> dict[str, Any] | None:
    if len(body) > MAX_BYTES:
        return None
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested beyond the parser
        return None
    return value if isinstance(value, dict) else None


def _jwt_lifetime(token: str, now: float) -> int | None:
    """Seconds until the token's ``exp`` when it is a JWT (read, not verified)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, RecursionError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        return math.floor(exp - now)
    except (OverflowError, ValueError):  # inf, nan, or an int too large for a float
        return None


def _retry_after(headers: Mapping[str, str], now: float, default: int) -> int:
    """Retry-After in seconds (delta-seconds or an HTTP-date), within 1 s to an hour."""
    value = next((v.strip() for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return default
    if _SECONDS.fullmatch(value):
        seconds = int(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = math.ceil(when.timestamp() - now)
    return min(max(seconds, 1), MAX_RETRY_AFTER)
