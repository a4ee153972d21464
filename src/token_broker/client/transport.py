"""The client's HTTP: one ``http.client`` connection per request, no redirects."""

from __future__ import annotations

import functools
import http.client
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


class Transport(Protocol):
    def __call__(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> HttpResponse:
        """POST ``body`` to ``url`` with exactly ``headers``; raise OSError if unreachable."""
        ...


def http_post(url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> HttpResponse:
    """The default transport: one ``http.client`` connection per request, no redirects."""
    parts = urlsplit(url)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=_tls_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", target, body=body, headers=dict(headers))
        response = conn.getresponse()
        data = response.read(MAX_RESPONSE_BYTES + 1)
        answer = {name.lower(): value for name, value in response.getheaders()}
        return HttpResponse(response.status, answer, data)
    except http.client.HTTPException as e:
        # Named only: its text may quote what the server sent (BadStatusLine holds a line).
        raise OSError(type(e).__name__) from e
    finally:
        conn.close()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # loading the CA bundle is slow: do it once
