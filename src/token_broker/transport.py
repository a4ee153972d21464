"""HTTP for the identity-provider client: no proxy, no redirects, bounded in time and size.

Kept apart from ``upstream`` so tests can replace it whole.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import urlsplit

MAX_BYTES = 1 << 20


Response = tuple[int, Mapping[str, str], bytes]  # status, headers, body


class TransportError(Exception):
    """No answer came back: connection refused or reset, or a timeout (worth a retry)."""


class UnsendableRequest(ValueError):
    """http.client refused to send the request: a header value or the URL holds characters
    HTTP does not allow (CR, LF...). Its own ``ValueError`` quotes the header, which may be
    a token, so that error is dropped (not chained) and this one names only the request."""


class Transport(Protocol):
    """HTTP without redirects; raises ``TransportError`` when no answer came back."""

    def post_form(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Response: ...

    def get(self, url: str, timeout: float) -> Response: ...


class HttpTransport:
    """``http.client``: no proxy, no redirects, at most ``MAX_BYTES + 1`` bytes read.

    A watchdog ends each request after ``timeout`` in total, however slowly the server
    drips its answer (socket timeouts alone bound each read, not the sum).
    """

    def __init__(self) -> None:
        self._tls: ssl.SSLContext | None = None  # built on first https use

    def post_form(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Response:
        form = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        return self.send("POST", url, body, form, timeout)

    def get(self, url: str, timeout: float) -> Response:
        return self.send("GET", url, None, {}, timeout)

    def send(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: float,
    ) -> Response:
        """Any method; the rotation adapters' management APIs need JSON, PUT and DELETE."""
        parts = urlsplit(url)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            self._tls = self._tls or ssl.create_default_context()
            conn = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=timeout, context=self._tls
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            sock = conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read

        watchdog = threading.Timer(timeout, expire)
        watchdog.daemon = True
        watchdog.start()
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        unsendable = False
        try:
            conn.request(
                method,
                target,
                body,
                {"Accept": "application/json", "User-Agent": "scopegate", **headers},
            )
            response = conn.getresponse()
            data = response.read(MAX_BYTES + 1)
            answer = (response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        except (OSError, http.client.HTTPException) as e:
            raise TransportError(f"{method} {url}: {type(e).__name__}") from e
        except ValueError:
            unsendable = True  # raised below, outside this block, so it carries no context
        finally:
            watchdog.cancel()
            conn.close()
        if unsendable:
            raise UnsendableRequest(
                f"{method} {parts.path or '/'}: a header or the URL holds characters "
                "that HTTP does not allow"
            )
        if expired.is_set():
            raise TransportError(f"{method} {url}: no complete answer within {timeout:g} s")
        return answer
