"""What the identity provider answers, read: a token answer becomes an ``UpstreamToken``,
a refusal ``InvalidClient`` or ``UpstreamError``, a discovery document its token
endpoint, a ``Retry-After`` header seconds to wait. No message holds the token or the
identity provider's own words (only a well-formed OAuth ``error`` code). An answer no
JSON parser can read (nested beyond its depth, integers beyond its digit limit, over
1 MiB) is nonsense like any other: ``UpstreamError``.
"""

from __future__ import annotations

import base64
import email.utils
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from scopegate_core.errors import DocumentError
from scopegate_core.urls import check_url
from token_broker.config import ClientConfig
from token_broker.errors import InvalidClient, UpstreamError
from token_broker.transport import MAX_BYTES

MAX_RETRY_AFTER = 3600
MAX_LIFETIME = 366 * 86400  # an expires_in beyond a year is nonsense, not a lifetime
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


def token_answer(client: ClientConfig, status: int, body: bytes, now: float) -> UpstreamToken:
    doc = json_object(body)
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


def discovered_endpoint(client: ClientConfig, issuer: str, status: int, body: bytes) -> str:
    def invalid(why: str) -> UpstreamError:
        message = f"OIDC discovery of {issuer} for client {client.name!r} failed: {why}"
        return UpstreamError(message, reason="idp_discovery_invalid")

    doc = json_object(body) if status == 200 else None
    if doc is None:
        raise invalid(f"HTTP {status}" if status != 200 else "not a JSON object")
    if doc.get("issuer") != issuer:
        raise invalid("the document names another issuer")
    try:
        return check_url(doc.get("token_endpoint"), "token_endpoint")
    except DocumentError as e:
        raise invalid("its token_endpoint is not an https URL") from e


def json_object(body: bytes) -> dict[str, Any] | None:
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


def retry_after(headers: Mapping[str, str], now: float, default: int) -> int:
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
