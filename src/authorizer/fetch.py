"""Fetching small JSON documents (discovery, JWKS) with short timeouts and one retry.

Built on ``http.client`` rather than ``urllib.request``: it imports faster, which counts
at cold start. Redirects are not followed; bodies over 1 MiB are refused. Each attempt
ends after ``timeout`` seconds in total and the whole fetch after ``deadline``, however
slowly a server drips its answer (socket timeouts bound each read, not their sum). An
answer that does not parse, JSON nested beyond the parser's depth included, is a
``FetchError`` like any other failed fetch, so the key cache's cooldown applies to it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

from authorizer.errors import FetchError
from scopegate_core.errors import DocumentError
from scopegate_core.urls import check_url

TIMEOUT_SECONDS = 1.5  # one attempt, in total
DEADLINE_SECONDS = 3.0  # the whole fetch, retry included
MAX_BYTES = 1 << 20


class JsonFetcher(Protocol):
    def get_json(self, url: str) -> Any:
        """Return the parsed JSON document at ``url`` or raise ``FetchError``."""
        ...


class HttpJsonFetcher:
    """GET with a short timeout; one retry after a connection error, timeout or 5xx, all
    within ``deadline`` seconds."""

    def __init__(
        self,
        timeout: float = TIMEOUT_SECONDS,
        retries: int = 1,
        *,
        deadline: float = DEADLINE_SECONDS,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.deadline = deadline
        self.requests = 0  # every HTTP attempt, for metrics and tests

    def get_json(self, url: str) -> Any:
        try:
            check_url(url, "URL")
        except DocumentError as e:
            raise FetchError(str(e)) from e
        give_up = time.monotonic() + self.deadline
        cause: _Retryable | None = None
        for attempt in range(self.retries + 1):
            remaining = give_up - time.monotonic()
            if remaining <= 0:
                break
            if attempt:
                time.sleep(min(0.05, remaining))
            try:
                return self._get(url, min(self.timeout, remaining))
            except _Retryable as e:
                cause = e
        spent = (
            f"; the {self.deadline:g} s deadline is spent" if time.monotonic() >= give_up else ""
        )
        raise FetchError(f"GET {url} failed: {cause or 'no attempt'}{spent}") from cause

    def _get(self, url: str, budget: float) -> Any:
        parts = urlsplit(url)
        conn_type = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = conn_type(parts.hostname or "", parts.port, timeout=budget)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            if conn.sock is not None:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read

        watchdog = threading.Timer(budget, expire)
        watchdog.daemon = True
        self.requests += 1
        watchdog.start()
        try:
            conn.request("GET", target, headers={"Accept": "application/json"})
            response = conn.getresponse()
            body = response.read(MAX_BYTES + 1)
        except http.client.HTTPException as e:
            # Its text may quote what the server sent (BadStatusLine): name it only.
            raise _Retryable(_timed_out(expired, budget) or type(e).__name__) from e
        except OSError as e:
            raise _Retryable(_timed_out(expired, budget) or f"{type(e).__name__}: {e}") from e
        finally:
            watchdog.cancel()
            conn.close()
        if expired.is_set():
            raise _Retryable(_timed_out(expired, budget))
        if response.status >= 500:
            raise _Retryable(f"HTTP {response.status}")
        if response.status != 200:
            raise FetchError(f"GET {url} answered HTTP {response.status}")
        if len(body) > MAX_BYTES:
            raise FetchError(f"GET {url} answered more than {MAX_BYTES} bytes")
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as e:  # RecursionError: nested beyond the parser
            raise FetchError(f"GET {url} answered something that is not JSON") from e


class _Retryable(Exception):
    pass


def _timed_out(expired: threading.Event, budget: float) -> str:
    return f"no complete answer within {budget:g} s" if expired.is_set() else ""
