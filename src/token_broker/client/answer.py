"""The broker's answer read as a ``Token`` (RFC 6749 5.1) or as the error it is (5.2).

Whatever the answer holds, what comes out is safe to log: no token, and no secret echoed
back by API Gateway's signature errors.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from token_broker.client.errors import BrokerClientError, BrokerUnavailable
from token_broker.client.request import SCOPE_TOKEN
from token_broker.client.transport import MAX_RESPONSE_BYTES, HttpResponse

# RFC 6750 b64token, loosened to any visible ASCII: what can go in a header unharmed.
_ACCESS_TOKEN = re.compile(r"[\x21-\x7e]+")
_UNAVAILABLE = frozenset({429, 503, 504})  # worth retrying later (504: gateway timeout)


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


def read_answer(
    response: HttpResponse,
    asked_scope: str,
    started: float,
    now: float,
    *,
    secrets: Sequence[str | None] = (),
) -> Token:
    """The token of a 200 answer; otherwise raise the error the answer names.

    ``asked_scope`` is the answer's scope when it names none (RFC 6749 5.1), ``started``
    the time the request left (``expires_in`` counts from it), ``now`` reads an HTTP date
    in ``Retry-After``; ``secrets`` are redacted from any description.
    """
    document = _json_object(response.body)
    if response.status == 200:
        return _token(document, asked_scope, started)
    error = document.get("error") if document else None
    if not isinstance(error, str) or not SCOPE_TOKEN.fullmatch(error):
        error = "http_error"
    description = _description(document, response.status, secrets)
    if response.status in _UNAVAILABLE:
        retry_after = _retry_after(response.headers.get("retry-after"), now)
        raise BrokerUnavailable(error, description, status=response.status, retry_after=retry_after)
    raise BrokerClientError(error, description, status=response.status)


def _json_object(body: bytes) -> dict[str, Any] | None:
    if len(body) > MAX_RESPONSE_BYTES:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _token(document: dict[str, Any] | None, asked_scope: str, started: float) -> Token:
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
    scope = document.get("scope", asked_scope)  # RFC 6749 5.1: absent = as asked
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
