"""JSON over HTTP for the management APIs of Okta, Entra ID, Keycloak and Auth0.

``ManagementApi`` sends one request per call (rotation is rare and Secrets Manager retries
a failed step), bounded by ``timeout``. Refusals raise ``ProviderError`` naming the status
and the provider's error code, never the body's other text; no answer at all raises
``ProviderUnavailable``; an answer no JSON parser can read is a ``ProviderError``.
``client_credentials_token`` gets the bearer token the Entra, Keycloak and Auth0 APIs
need, authenticating the management client in the request body (the one method all
three accept).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from token_broker.rotation.errors import ProviderError, ProviderUnavailable
from token_broker.transport import MAX_BYTES, HttpTransport, TransportError, UnsendableRequest

DEFAULT_TIMEOUT = 10.0
_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_TOKEN = re.compile(r"[\x21-\x7e]+")


class ManagementApi:
    def __init__(
        self,
        provider: str,
        authorization: Callable[[], str],
        *,
        transport: HttpTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.provider = provider
        self._authorization = authorization
        self.transport = transport or HttpTransport()
        self.timeout = timeout

    def call(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None = None,
        *,
        missing_ok: bool = False,
    ) -> Any:
        """The JSON answer (None for 204, or for 404 when ``missing_ok``)."""
        headers = {"Authorization": self._authorization()}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        status, _, payload = _send(self.transport, method, url, data, headers, self.timeout)
        if status == 404 and missing_ok:
            return None
        if not 200 <= status < 300:
            raise ProviderError(
                f"{self.provider} {method} {_path(url)}: HTTP {status}{_error_code(payload)}",
                reason="provider_unavailable" if status >= 500 or status == 429 else None,
            )
        if status == 204 or not payload:
            return None
        try:
            return _json(payload)
        except ValueError as e:
            raise ProviderError(
                f"{self.provider} {method} {_path(url)}: the answer is not JSON"
            ) from e


def client_credentials_token(
    provider: str,
    token_url: str,
    client_id: str,
    client_secret: str,
    *,
    extra: Mapping[str, str] | None = None,
    transport: HttpTransport | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """An access token for the management API, by the client credentials grant."""
    form = {"grant_type": "client_credentials", "client_id": client_id}
    form |= {"client_secret": client_secret, **(extra or {})}
    status, _, payload = _send(
        transport or HttpTransport(),
        "POST",
        token_url,
        urlencode(form).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
        timeout,
    )
    if status != 200:
        raise ProviderError(
            f"{provider}: the management client was refused a token at {_path(token_url)}: "
            f"HTTP {status}{_error_code(payload)}",
            reason="management_auth",
        )
    try:
        token = _json(payload)["access_token"]
    except (ValueError, KeyError, TypeError) as e:
        raise ProviderError(f"{provider}: the management token answer is not usable") from e
    # It goes into the Authorization header: visible ASCII only (RFC 6750's b64token is
    # narrower), so an answer cannot add a header line.
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise ProviderError(f"{provider}: the management token answer is not usable")
    return token


def bearer(
    provider: str,
    token_url: str,
    client_id: str,
    client_secret: str,
    *,
    extra: Mapping[str, str] | None = None,
    transport: HttpTransport | None = None,
) -> Callable[[], str]:
    """An ``Authorization`` value made on first use: one management token per step."""
    cache: list[str] = []

    def get() -> str:
        if not cache:
            token = client_credentials_token(
                provider, token_url, client_id, client_secret, extra=extra, transport=transport
            )
            cache.append(f"Bearer {token}")
        return cache[0]

    return get


def _send(
    transport: HttpTransport,
    method: str,
    url: str,
    body: bytes | None,
    headers: Mapping[str, str],
    timeout: float,
) -> tuple[int, Mapping[str, str], bytes]:
    try:
        return transport.send(method, url, body, headers, timeout)
    except TransportError as e:
        raise ProviderUnavailable(f"{method} {_path(url)}: no answer ({e})") from e
    except UnsendableRequest as e:  # our own text, never the header it refused
        raise ProviderError(str(e), reason="rotation_config") from e


def _json(payload: bytes) -> Any:
    """The answer's JSON; ``ValueError`` for anything unreadable, JSON nested beyond the
    parser's depth (``RecursionError``) and the 1 MiB the transport cuts off included."""
    if len(payload) > MAX_BYTES:
        raise ValueError("the answer is over 1 MiB")
    try:
        return json.loads(payload)
    except RecursionError as e:
        raise ValueError("the answer is nested too deeply") from e


def _path(url: str) -> str:
    """The URL without its query: enough to say which call failed."""
    return url.split("?", 1)[0]


def _error_code(payload: bytes) -> str:
    """The provider's machine-readable error code, if its body has a well-formed one."""
    try:
        value = _json(payload)
    except ValueError:
        return ""
    if not isinstance(value, dict):
        return ""
    nested = value.get("error")
    candidates = [
        value.get("errorCode"),  # Okta, Auth0
        nested.get("code") if isinstance(nested, dict) else nested,  # Graph; OAuth, Keycloak
    ]
    for code in candidates:
        if isinstance(code, str) and _CODE.fullmatch(code):
            return f" ({code})"
    return ""
