"""End-to-end fixtures: the local stack of `make run` (tools/local/stack.py), over HTTP."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tools.local.stack import LocalStack

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Answer:
    """What a caller of the API sees: status and JSON body."""

    status: int
    body: dict[str, Any]

    @property
    def client_id(self) -> str | None:
        """The token's client_id as the backend received it from the authorizer."""
        value = self.body.get("authorizer", {}).get("client_id")
        return value if isinstance(value, str) else None


def call(stack: LocalStack, method: str, path: str, token: str | None = None) -> Answer:
    request = urllib.request.Request(stack.api_url + path, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with OPENER.open(request, timeout=15) as response:
            return Answer(response.status, json.loads(response.read()))
    except urllib.error.HTTPError as e:
        return Answer(e.code, json.loads(e.read() or b"{}"))


@pytest.fixture(scope="module", params=["rest-token", "rest-request", "http"])
def stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """One stack per API flavor, authorizer cache on (300 s), shared by a module."""
    with LocalStack(flavor=request.param, cache_ttl=300, log=io.StringIO()) as started:
        yield started
