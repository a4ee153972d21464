"""Fetching small JSON documents (discovery, JWKS) with short timeouts and one retry.

Built on ``http.client`` rather than ``urllib.request``: it imports faster, which counts
at cold start. Redirects are not followed; bodies over 1 MiB are refused.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

from authorizer.config import check_url
from authorizer.errors import ConfigError, FetchError

TIMEOUT_SECONDS = 1.5
MAX_BYTES = 1 << 20


class JsonFetcher(Protocol):
    def get_json(self, url: str) -> Any:
        """Return the parsed JSON document at ``url`` or raise ``FetchError``."""
        ...


class HttpJsonFetcher:
    """GET with a short timeout; one retry after a connection error, timeout or 5xx."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS, retries: int = 1) -> None:
        self.timeout = timeout
        self.retries = retries
        self.requests = 0  # every HTTP attempt, for metrics and tests

    def get_json(self, url: str) -> Any:
        try:
            check_url(url, "URL")
        except ConfigError as e:
            raise FetchError(str(e)) from e
        for attempt in range(self.retries + 1):
            try:
                return self._get(url)
            except _Retryable as e:
                if attempt == self.retries:
                    raise FetchError(f"GET {url} failed: {e}") from e
                time.sleep(0.05)
        raise AssertionError("unreachable")  # pragma: no cover

    def _get(self, url: str) -> Any:
        parts = urlsplit(url)
        conn_type = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = conn_type(parts.hostname or "", parts.port, timeout=self.timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.requests += 1
        try:
            conn.request("GET", target, headers={"Accept": "application/json"})
            response = conn.getresponse()
            body = response.read(MAX_BYTES + 1)
        except http.client.HTTPException as e:
            # Its text may quote what the server sent (BadStatusLine): name it only.
            raise _Retryable(type(e).__name__) from e
        except OSError as e:
            raise _Retryable(f"{type(e).__name__}: {e}") from e
        finally:
            conn.close()
        if response.status >= 500:
            raise _Retryable(f"HTTP {response.status}")
        if response.status != 200:
            raise FetchError(f"GET {url} answered HTTP {response.status}")
        if len(body) > MAX_BYTES:
            raise FetchError(f"GET {url} answered more than {MAX_BYTES} bytes")
        try:
            return json.loads(body)
        except ValueError as e:
            raise FetchError(f"GET {url} answered something that is not JSON") from e


class _Retryable(Exception):
    pass
