"""``BrokerClient``'s cache seen from the auth objects: a look with no I/O, and forgetting
one refused token. The broker is an injected transport that counts its calls."""

from __future__ import annotations

import json
from collections.abc import Mapping

from botocore.credentials import Credentials

from token_broker.client import BrokerClient, HttpResponse


class CountingBroker:
    def __init__(self) -> None:
        self.calls = 0
        self.expires_in = 300

    def __call__(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> HttpResponse:
        self.calls += 1
        answer = {
            "access_token": f"token-{self.calls}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        return HttpResponse(200, {}, json.dumps(answer).encode())


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def client(broker: CountingBroker, clock: Clock | None = None) -> BrokerClient:
    return BrokerClient(
        "http://127.0.0.1:9/token",
        region="us-east-1",
        credentials_provider=lambda: Credentials("AKIDEXAMPLE", "secret", "session"),
        transport=broker,
        clock=clock or Clock(),
    )


def test_a_cache_look_never_asks_the_broker() -> None:
    broker = CountingBroker()
    tokens = client(broker)
    assert tokens.cached_token_response("orders:read") is None
    assert broker.calls == 0
    fetched = tokens.get_token_response("orders:read")
    assert tokens.cached_token_response(["orders:read"]) is fetched
    assert tokens.cached_token_response("orders:write") is None
    assert broker.calls == 1


def test_a_cache_look_misses_once_the_token_is_within_the_refresh_margin() -> None:
    broker, clock = CountingBroker(), Clock()
    tokens = client(broker, clock)
    tokens.get_token("orders:read")
    clock.now += 240  # 60 s left: the default refresh_margin
    assert tokens.cached_token_response("orders:read") is None
    assert tokens.get_token("orders:read") == "token-2"


def test_discard_forgets_that_token_only() -> None:
    broker = CountingBroker()
    tokens = client(broker)
    assert tokens.get_token("orders:read") == "token-1"
    assert tokens.get_token("orders:write") == "token-2"
    tokens.discard("token-1")
    tokens.discard("token-never-issued")
    assert tokens.get_token("orders:write") == "token-2"
    assert tokens.get_token("orders:read") == "token-3"
    assert broker.calls == 3
