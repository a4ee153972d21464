"""The task-side client: SigV4-signed ``POST /token`` calls to the broker, with a cache.

    broker = BrokerClient(os.environ["SCOPEGATE_BROKER_URL"])  # the BrokerTokenUrl output
    headers = {"Authorization": f"Bearer {broker.get_token('orders:read')}"}

The caller is whoever botocore's default credential chain finds (on ECS, the task role).
Credentials are read again for every request, so their rotation needs nothing from the
caller. Standard library and botocore only: a task has botocore through boto3.

Command line: ``python -m token_broker.client [URL] [--scope "a b"] [--client C]
[--resource R] [--audience A] [--json]`` prints the access token alone (or the answer as
JSON); on failure it prints ``error: description`` to stderr and exits 1 (2 for usage).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import os
import re
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError

from token_broker.client.transport import (
    MAX_RESPONSE_BYTES,
    HttpResponse,
    Transport,
    http_post,
)

URL_ENV = "SCOPEGATE_BROKER_URL"
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")
USER_AGENT = "scopegate-broker-client/0.1"

# Hosts that name their region; the service is what SigV4 signs for.
_ENDPOINTS = (
    (re.compile(r"[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"), "execute-api"),
    (
        re.compile(r"[a-z0-9]+-vpce-[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.vpce\.amazonaws\.com"),
        "execute-api",
    ),
    (re.compile(r"[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws"), "lambda"),
)
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
# RFC 6749 appendix A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# RFC 6750 b64token, loosened to any visible ASCII: what can go in a header unharmed.
_ACCESS_TOKEN = re.compile(r"[\x21-\x7e]+")
_UNAVAILABLE = frozenset({429, 503, 504})  # worth retrying later (504: gateway timeout)


class BrokerClientError(Exception):
    """The broker handed out no token.

    ``error`` is the broker's RFC 6749 error code (``invalid_scope``, ``access_denied``,
    ...) or one of ours: ``connection_error``, ``tls_error``, ``no_credentials``,
    ``invalid_response`` (a success answer that is not a usable token), ``http_error``
    (an answer without an OAuth error, such as API Gateway's own 403). ``status`` is the
    HTTP status, None when no answer came. Messages never hold a token or a secret.
    """

    def __init__(self, error: str, description: str, *, status: int | None = None) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class BrokerUnavailable(BrokerClientError):
    """Worth retrying later: the broker, or its identity provider, is unreachable or busy.

    ``retry_after`` is the broker's ``Retry-After`` in seconds, None when it sent none.
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(error, description, status=status)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True, repr=False)
class Token:
    """An access token from the broker; ``repr`` never shows the token itself."""

    access_token: str
    expires_at: float  # epoch seconds, counted from just before the request was sent
    scope: str  # space separated, as the broker granted it
    token_type: str

    def __repr__(self) -> str:
        return (
            f"Token(token_type={self.token_type!r}, scope={self.scope!r}, "
            f"expires_at={self.expires_at!r})"
        )


class _DefaultCredentials:
    """botocore's default chain (environment, profile, ECS task role...), found on first use.

    The object it finds refreshes itself before expiry, so it is kept, not looked up again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._credentials: Any = None

    def __call__(self) -> Any:
        with self._lock:
            if self._credentials is None:
                import botocore.session  # slow to import, and needed on first use only

                self._credentials = botocore.session.get_session().get_credentials()
            return self._credentials


class _Key(NamedTuple):
    scopes: tuple[str, ...]  # sorted, without duplicates
    client: str | None
    resource: str | None
    audience: str | None


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
        self.host, self.region, self.service = _endpoint(url, region, service)
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        if not refresh_margin >= 0:
            raise ValueError("refresh_margin must not be negative")
        self.timeout = timeout
        self.refresh_margin = refresh_margin
        self._credentials = credentials_provider or _DefaultCredentials()
        self._clock = clock
        self._transport = transport
        self._cache: dict[_Key, Token] = {}
        self._locks: dict[_Key, threading.Lock] = {}
        self._guard = threading.Lock()

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
        key = _Key(
            _scope_list(scopes),
            _optional(client, "client"),
            _optional(resource, "resource"),
            _optional(audience, "audience"),
        )
        token = self._fresh(key)
        if token is not None:
            return token
        with self._lock_for(key):
            token = self._fresh(key)  # another thread may have fetched it meanwhile
            if token is not None:
                return token
            token = self._request(key)
            if self._clock() < token.expires_at - self.refresh_margin:
                self._cache[key] = token
            else:
                self._cache.pop(key, None)
            return token

    def clear_cache(self) -> None:
        """Forget every cached token (say, after an API refused one as revoked)."""
        self._cache.clear()

    def _fresh(self, key: _Key) -> Token | None:
        token = self._cache.get(key)
        if token is not None and self._clock() < token.expires_at - self.refresh_margin:
            return token
        return None

    def _lock_for(self, key: _Key) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _request(self, key: _Key) -> Token:
        fields = [
            (name, value)
            for name, value in (
                ("scope", " ".join(key.scopes)),
                ("client", key.client),
                ("resource", key.resource),
                ("audience", key.audience),
            )
            if value
        ]
        body = urlencode(fields).encode("ascii")
        credentials = self._frozen_credentials()
        headers = self._sign(body, credentials)
        started = self._clock()
        try:
            response = self._transport(self.url, headers, body, self.timeout)
        except ssl.SSLCertVerificationError as e:
            raise BrokerClientError("tls_error", f"{self.host}: {e.verify_message}") from e
        except OSError as e:  # refused, reset, timed out, DNS
            raise BrokerUnavailable(
                "connection_error", f"cannot reach the broker at {self.host}: {_describe(e)}"
            ) from e
        return self._answer(response, key, started, secrets=(credentials.token,))

    def _frozen_credentials(self) -> Any:
        try:
            credentials = self._credentials()
            frozen = None if credentials is None else credentials.get_frozen_credentials()
        except BotoCoreError as e:
            raise BrokerClientError("no_credentials", f"cannot read AWS credentials: {e}") from e
        if frozen is None or not frozen.access_key or not frozen.secret_key:
            raise BrokerClientError("no_credentials", "no AWS credentials found to sign with")
        return frozen

    def _sign(self, body: bytes, credentials: Any) -> dict[str, str]:
        request = AWSRequest(
            method="POST",
            url=self.url,
            data=body,
            headers={
                "Host": self.host,  # signed as sent, whatever botocore would derive
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                # Function URLs want the body hash as a header; API Gateway ignores it.
                "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(),
            },
        )
        SigV4Auth(credentials, self.service, self.region).add_auth(request)
        headers = {str(name): str(value) for name, value in request.headers.items()}
        headers["User-Agent"] = USER_AGENT  # never signed (proxies rewrite it)
        return headers

    def _answer(
        self, response: HttpResponse, key: _Key, started: float, *, secrets: Sequence[str | None]
    ) -> Token:
        document = _json_object(response.body)
        if response.status == 200:
            return _token(document, key, started)
        error = document.get("error") if document else None
        if not isinstance(error, str) or not _SCOPE_TOKEN.fullmatch(error):
            error = "http_error"
        description = _description(document, response.status, secrets)
        if response.status in _UNAVAILABLE:
            retry_after = _retry_after(response.headers.get("retry-after"), self._clock())
            raise BrokerUnavailable(
                error, description, status=response.status, retry_after=retry_after
            )
        raise BrokerClientError(error, description, status=response.status)


def _endpoint(url: str, region: str | None, service: str | None) -> tuple[str, str, str]:
    """The Host header, region and signing service for ``url``."""
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    if "@" in parts.netloc:  # checked first: the messages below quote the URL
        raise ValueError("the broker URL must not carry user information")
    if parts.scheme not in ("http", "https") or not hostname:
        raise ValueError(f"broker URL {url!r} is not an absolute http(s) URL")
    if parts.scheme == "http" and not _is_loopback(hostname):
        raise ValueError(f"broker URL {url!r} must use https (http only on loopback hosts)")
    host_region, host_service = None, "execute-api"
    for pattern, signs_for in _ENDPOINTS:
        match = pattern.fullmatch(hostname)
        if match:
            host_region, host_service = match[1], signs_for
    if host_region and region and region != host_region:
        raise ValueError(f"region {region!r} contradicts the broker URL's {host_region!r}")
    from_env = next((os.environ[n] for n in REGION_ENVS if os.environ.get(n)), None)
    chosen = host_region or region or from_env
    if not chosen:
        raise ValueError(
            f"no AWS region for {hostname!r}: pass region= or set AWS_REGION "
            "(the URL's host does not name one)"
        )
    if not _REGION.fullmatch(chosen):
        raise ValueError(f"{chosen!r} is not an AWS region name")
    port = parts.port
    default_port = 443 if parts.scheme == "https" else 80
    name = f"[{hostname}]" if ":" in hostname else hostname
    host = name if port in (None, default_port) else f"{name}:{port}"
    return host, chosen, service or host_service


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _scope_list(scopes: str | Sequence[str] | None) -> tuple[str, ...]:
    if scopes is None:
        return ()
    items: list[str] = []
    for item in [scopes] if isinstance(scopes, str) else scopes:
        if not isinstance(item, str):
            raise TypeError(f"scopes must be strings, not {type(item).__name__}")
        items += item.split()
    for scope in items:
        if not _SCOPE_TOKEN.fullmatch(scope):
            raise ValueError(f"{scope!r} is not a valid OAuth scope")
    return tuple(sorted(set(items)))


def _optional(value: str | None, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what} must be a string")
    return value or None


def _json_object(body: bytes) -> dict[str, Any] | None:
    if len(body) > MAX_RESPONSE_BYTES:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _token(document: dict[str, Any] | None, key: _Key, started: float) -> Token:
    def malformed(why: str) -> BrokerClientError:
        return BrokerClientError("invalid_response", f"the broker's answer {why}", status=200)

    if document is None:
        raise malformed("is not a JSON object")
    access_token = document.get("access_token")
    if not isinstance(access_token, str) or not _ACCESS_TOKEN.fullmatch(access_token):
        raise malformed("has no usable access_token")
    token_type = document.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise malformed("is not a Bearer token")
    expires_in = document.get("expires_in")
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not math.isfinite(expires_in)
        or expires_in < 0
    ):
        raise malformed("has no valid expires_in")
    scope = document.get("scope", " ".join(key.scopes))  # RFC 6749 5.1: absent = as asked
    if not isinstance(scope, str):
        raise malformed("has a scope that is not a string")
    return Token(access_token, started + expires_in, scope, token_type)


def _description(
    document: dict[str, Any] | None, status: int, secrets: Sequence[str | None]
) -> str:
    """The broker's ``error_description`` or API Gateway's ``message``, made safe to log.

    Only the first line is kept: API Gateway's signature errors go on to quote the
    canonical request, which carries the session token.
    """
    text: object = None
    if document:
        text = next(
            (document[k] for k in ("error_description", "message", "Message") if k in document),
            None,
        )
    if not isinstance(text, str) or not text.strip():
        return f"the broker answered HTTP {status}"
    line = text.strip().splitlines()[0][:300]
    for secret in secrets:
        if secret:
            line = line.replace(secret, "[redacted]")
    return line


def _retry_after(value: str | None, now: float) -> int | None:
    """``Retry-After`` in seconds: delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, math.ceil(when.timestamp() - now))


def _describe(error: OSError) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def main(argv: list[str] | None = None) -> int:
    """``python -m token_broker.client``: 0 with the token printed, 1 refused, 2 usage."""
    from token_broker.client.cli import run  # argparse is for the command line only

    return run(argv)
