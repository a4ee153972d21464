"""The task-side client, ``token_broker.client``, against a local API Gateway / function URL.

The gateway (tools.local.broker_gateway) checks SigV4 with an independent verifier
(tools.local.sigv4, tested at the end of this file against AWS's published vectors and
tampered requests) and hands the event to a fake broker defined here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.paths import ROOT
from token_broker.client import (
    BrokerClient,
    BrokerClientError,
    BrokerUnavailable,
    HttpResponse,
    Token,
    http_post,
    main,
)
from tools.local.broker_gateway import LocalBrokerGateway
from tools.local.sigv4 import SecretEntry, SignatureError, verify

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEsessiontoken"
CALLER = "arn:aws:sts::123456789012:assumed-role/orders-worker/task-1"
CREDENTIALS = Credentials(ACCESS_KEY, SECRET, SESSION_TOKEN)
OTHER_KEY = "AKIDOTHEREXAMPLE"
OTHER_CALLER = "arn:aws:sts::123456789012:assumed-role/billing-worker/task-2"
OTHER_CREDENTIALS = Credentials(OTHER_KEY, "other-secret", "other-session-token")
IDENTITIES = {
    ACCESS_KEY: SecretEntry(SECRET, CALLER, SESSION_TOKEN),
    OTHER_KEY: SecretEntry("other-secret", OTHER_CALLER, "other-session-token"),
}


class FakeBroker:
    """Stands in for token_broker.handler: a fresh token per call unless told otherwise."""

    def __init__(self) -> None:
        self.calls = 0
        self.seen: list[tuple[str, dict[str, str]]] = []  # (caller ARN, form fields)
        self.status = 200
        self.answer: dict[str, Any] | str | None = None  # None: token-N for the N-th call
        self.headers: dict[str, str] = {}
        self.expires_in = 300
        self.delay = 0.0
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.delay)
        if event.get("version") == "2.0":
            caller = event["requestContext"]["authorizer"]["iam"]["userArn"]
        else:
            caller = event["requestContext"]["identity"]["userArn"]
        body = event.get("body") or ""
        if event["isBase64Encoded"]:
            body = base64.b64decode(body).decode()
        fields = dict(parse_qsl(body))
        with self._lock:
            self.seen.append((caller, fields))
        answer = self.answer
        if answer is None:
            answer = {
                "access_token": f"token-{n}",
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "scope": fields.get("scope", "orders:read"),
            }
        return {
            "statusCode": self.status,
            "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"}
            | self.headers,
            "body": answer if isinstance(answer, str) else json.dumps(answer),
            "isBase64Encoded": False,
        }


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def gateway(broker: FakeBroker) -> Iterator[LocalBrokerGateway]:
    with LocalBrokerGateway(broker, IDENTITIES) as gw:
        yield gw


def client_for(
    gateway: LocalBrokerGateway, credentials: Any = CREDENTIALS, **kwargs: Any
) -> BrokerClient:
    kwargs.setdefault("region", gateway.region)
    kwargs.setdefault("service", gateway.service)
    return BrokerClient(gateway.token_url, credentials_provider=lambda: credentials, **kwargs)


def forward_to(gateway: LocalBrokerGateway) -> Callable[..., HttpResponse]:
    """A transport that sends to the local gateway whatever host the URL names."""

    def transport(
        url: str, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> HttpResponse:
        return http_post(gateway.token_url, headers, body, timeout)

    return transport


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- what the broker sees ----------------------------------------------------------------


def test_broker_sees_the_signing_caller_and_a_form_body(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    token = client_for(gateway).get_token(
        "orders:write orders:read", client="orders-api", audience="api://orders"
    )
    assert token == "token-1"
    assert broker.seen == [
        (
            CALLER,
            {
                "scope": "orders:read orders:write",
                "client": "orders-api",
                "audience": "api://orders",
            },
        )
    ]
    (event,) = gateway.events
    assert event["httpMethod"] == "POST"
    assert event["path"] == event["resource"] == "/token"
    assert event["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    identity = event["requestContext"]["identity"]
    assert identity["userArn"] == CALLER
    assert identity["accessKey"] == ACCESS_KEY
    assert identity["accountId"] == "123456789012"


def test_no_scope_asks_for_every_granted_scope(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    client_for(gateway).get_token()
    assert broker.seen == [(CALLER, {})]


def test_function_url_mode_signs_for_lambda_and_gets_a_v2_event(broker: FakeBroker) -> None:
    with LocalBrokerGateway(broker, IDENTITIES, mode="function_url") as gw:
        assert client_for(gw).get_token("orders:read") == "token-1"
        (event,) = gw.events
    assert event["version"] == "2.0"
    assert event["requestContext"]["authorizer"]["iam"]["userArn"] == CALLER
    assert event["isBase64Encoded"] is True  # function URLs encode form bodies
    assert base64.b64decode(event["body"]) == b"scope=orders%3Aread"
    assert broker.seen == [(CALLER, {"scope": "orders:read"})]


def test_rotated_credentials_sign_the_next_request(broker: FakeBroker) -> None:
    broker.expires_in = 30  # shorter than the refresh margin: never cached
    rotation = iter([CREDENTIALS, OTHER_CREDENTIALS])
    with LocalBrokerGateway(broker, IDENTITIES) as gw:
        client = BrokerClient(
            gw.token_url, region=gw.region, credentials_provider=lambda: next(rotation)
        )
        client.get_token("orders:read")
        client.get_token("orders:read")
    assert [caller for caller, _ in broker.seen] == [CALLER, OTHER_CALLER]


# -- caching -------------------------------------------------------------------------------


def test_repeated_calls_make_one_request(broker: FakeBroker, gateway: LocalBrokerGateway) -> None:
    client = client_for(gateway)
    tokens = {client.get_token("orders:read inventory:read") for _ in range(5)}
    tokens.add(client.get_token(["inventory:read", "orders:read", "orders:read"]))
    assert tokens == {"token-1"}
    assert broker.calls == 1


@pytest.mark.parametrize(
    "other",
    [
        {"scopes": "orders:write"},
        {"scopes": "orders:read", "client": "inventory-api"},
        {"scopes": "orders:read", "resource": "api://orders"},
        {"scopes": "orders:read", "audience": "api://orders"},
    ],
)
def test_different_requests_are_cached_apart(
    broker: FakeBroker, gateway: LocalBrokerGateway, other: dict[str, str]
) -> None:
    client = client_for(gateway)
    first = client.get_token("orders:read")
    second = client.get_token(**other)
    assert (first, second) == ("token-1", "token-2")
    assert client.get_token(**other) == "token-2"
    assert broker.calls == 2


def test_a_cached_token_is_refreshed_refresh_margin_before_it_expires(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    clock = FakeClock()
    client = client_for(gateway, clock=clock, refresh_margin=60)
    token = client.get_token_response("orders:read")
    assert token.expires_at == clock.now + 300
    clock.now += 239.5
    assert client.get_token("orders:read") == "token-1"
    clock.now += 0.5  # 60 seconds left
    assert client.get_token("orders:read") == "token-2"
    assert broker.calls == 2


def test_a_token_shorter_lived_than_the_margin_is_returned_but_not_kept(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    broker.expires_in = 45
    client = client_for(gateway, refresh_margin=60)
    assert client.get_token("orders:read") == "token-1"
    assert client.get_token("orders:read") == "token-2"


def test_clear_cache_forgets_tokens(broker: FakeBroker, gateway: LocalBrokerGateway) -> None:
    client = client_for(gateway)
    client.get_token("orders:read")
    client.clear_cache()
    assert client.get_token("orders:read") == "token-2"


def test_concurrent_calls_for_one_grant_make_one_request(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    broker.delay = 0.3
    client = client_for(gateway)
    barrier = threading.Barrier(16)
    results: list[str] = []

    def worker() -> None:
        barrier.wait()
        results.append(client.get_token("orders:read"))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert results == ["token-1"] * 16
    assert broker.calls == 1


def test_different_grants_do_not_wait_for_each_other(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    broker.delay = 0.5
    client = client_for(gateway)
    threads = [
        threading.Thread(target=client.get_token, args=(scope,))
        for scope in ("orders:read", "orders:write")
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert broker.calls == 2
    assert time.monotonic() - started < 0.95


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, "invalid_scope"),
        (400, "invalid_target"),
        (403, "access_denied"),
        (500, "server_error"),
        (502, "upstream_error"),
    ],
)
def test_refusals_carry_the_brokers_error(
    broker: FakeBroker, gateway: LocalBrokerGateway, status: int, error: str
) -> None:
    broker.status = status
    broker.answer = {"error": error, "error_description": "orders:write is not granted"}
    with pytest.raises(BrokerClientError) as caught:
        client_for(gateway).get_token("orders:write")
    assert type(caught.value) is BrokerClientError  # not worth retrying
    assert (caught.value.status, caught.value.error) == (status, error)
    assert caught.value.description == "orders:write is not granted"
    assert str(caught.value) == f"{error}: orders:write is not granted"


def test_unavailable_carries_retry_after(broker: FakeBroker, gateway: LocalBrokerGateway) -> None:
    broker.status = 503
    broker.answer = {"error": "temporarily_unavailable", "error_description": "IdP down"}
    broker.headers = {"Retry-After": "7"}
    with pytest.raises(BrokerUnavailable) as caught:
        client_for(gateway).get_token("orders:read")
    assert (caught.value.status, caught.value.error) == (503, "temporarily_unavailable")
    assert caught.value.retry_after == 7


def test_retry_after_may_be_an_http_date(broker: FakeBroker, gateway: LocalBrokerGateway) -> None:
    clock = FakeClock()
    broker.status = 503
    broker.headers = {"Retry-After": formatdate(clock.now + 120, usegmt=True)}
    with pytest.raises(BrokerUnavailable) as caught:
        client_for(gateway, clock=clock).get_token("orders:read")
    assert caught.value.retry_after == 120


@pytest.mark.parametrize("status", [429, 503, 504])
def test_busy_answers_without_retry_after_are_unavailable(
    broker: FakeBroker, gateway: LocalBrokerGateway, status: int
) -> None:
    broker.status = status
    broker.answer = {"message": "Too Many Requests"}
    with pytest.raises(BrokerUnavailable) as caught:
        client_for(gateway).get_token("orders:read")
    assert caught.value.retry_after is None
    assert (caught.value.error, caught.value.description) == ("http_error", "Too Many Requests")


def test_errors_are_not_cached(broker: FakeBroker, gateway: LocalBrokerGateway) -> None:
    broker.status = 503
    client = client_for(gateway)
    with pytest.raises(BrokerUnavailable):
        client.get_token("orders:read")
    broker.status = 200
    assert client.get_token("orders:read") == "token-2"


def test_connection_refused_is_unavailable() -> None:
    client = BrokerClient(
        f"http://127.0.0.1:{unused_port()}/token",
        region="us-east-1",
        credentials_provider=lambda: CREDENTIALS,
    )
    with pytest.raises(BrokerUnavailable) as caught:
        client.get_token("orders:read")
    assert (caught.value.status, caught.value.error) == (None, "connection_error")
    assert caught.value.retry_after is None
    assert "ConnectionRefusedError" in caught.value.description


def test_an_answer_that_is_not_http_is_unavailable_without_quoting_it() -> None:
    # http.client's BadStatusLine holds what the server sent, which is not ours to repeat.
    server = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"sg-leak-3Rt8 not a status line\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    client = BrokerClient(
        f"http://127.0.0.1:{server.getsockname()[1]}/token",
        region="us-east-1",
        credentials_provider=lambda: CREDENTIALS,
    )
    try:
        with pytest.raises(BrokerUnavailable) as caught:
            client.get_token("orders:read")
    finally:
        server.close()
    assert "BadStatusLine" in caught.value.description
    assert "sg-leak" not in str(caught.value) + caught.value.description


def test_a_slow_broker_times_out_as_unavailable(broker: FakeBroker) -> None:
    broker.delay = 1.0
    with (
        LocalBrokerGateway(broker, IDENTITIES) as gw,
        pytest.raises(BrokerUnavailable, match="connection_error"),
    ):
        client_for(gw, timeout=0.2).get_token("orders:read")


@pytest.mark.parametrize(
    "answer",
    [
        "not json",
        "[]",
        {"token_type": "Bearer", "expires_in": 300},
        {"access_token": "", "token_type": "Bearer", "expires_in": 300},
        {"access_token": "a\r\nX-Injected: 1", "token_type": "Bearer", "expires_in": 300},
        {"access_token": "t", "token_type": "mac", "expires_in": 300},
        {"access_token": "t", "expires_in": 300},
        {"access_token": "t", "token_type": "Bearer"},
        {"access_token": "t", "token_type": "Bearer", "expires_in": "300"},
        {"access_token": "t", "token_type": "Bearer", "expires_in": True},
        {"access_token": "t", "token_type": "Bearer", "expires_in": -1},
        {"access_token": "t", "token_type": "Bearer", "expires_in": 300, "scope": ["a"]},
    ],
)
def test_a_malformed_success_answer_is_an_error(
    broker: FakeBroker, gateway: LocalBrokerGateway, answer: dict[str, Any] | str
) -> None:
    broker.answer = answer
    with pytest.raises(BrokerClientError) as caught:
        client_for(gateway).get_token("orders:read")
    assert (caught.value.status, caught.value.error) == (200, "invalid_response")
    assert "\n" not in str(caught.value)


def test_token_type_is_case_insensitive_and_scope_defaults_to_the_request(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    broker.answer = {"access_token": "t-1", "token_type": "bearer", "expires_in": 300}
    token = client_for(gateway).get_token_response(["orders:write", "orders:read"])
    assert (token.access_token, token.token_type) == ("t-1", "bearer")
    assert token.scope == "orders:read orders:write"


def test_no_credentials_is_an_error_before_any_request(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    with pytest.raises(BrokerClientError, match="no_credentials") as caught:
        client_for(gateway, credentials=None).get_token("orders:read")
    assert caught.value.status is None
    assert broker.calls == 0


@pytest.mark.parametrize(("scopes", "kind"), [('orders"read', ValueError), ([1], TypeError)])
def test_invalid_scopes_are_refused_before_any_request(
    broker: FakeBroker, gateway: LocalBrokerGateway, scopes: Any, kind: type[Exception]
) -> None:
    with pytest.raises(kind):
        client_for(gateway).get_token(scopes)
    assert broker.calls == 0


# -- secrets stay secret -------------------------------------------------------------------


def test_token_repr_hides_the_access_token() -> None:
    token = Token("eyJhbGciOi.secret.value", 1_800_000_000.0, "orders:read", "Bearer")
    assert "secret" not in repr(token)
    assert "orders:read" in repr(token)


def test_gateway_messages_lose_everything_after_their_first_line(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    # API Gateway's signature errors quote the canonical request, session token included.
    broker.status = 403
    broker.answer = {
        "message": "The request signature we calculated does not match.\n\n"
        f"The Canonical String for this request should have been\n"
        f"'POST\n/token\n\nx-amz-security-token:{SESSION_TOKEN}'"
    }
    with pytest.raises(BrokerClientError) as caught:
        client_for(gateway).get_token("orders:read")
    assert caught.value.description == "The request signature we calculated does not match."
    for text in (str(caught.value), repr(caught.value), caught.value.description):
        assert SESSION_TOKEN not in text
        assert SECRET not in text


def test_the_session_token_is_redacted_from_a_description(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    broker.status = 400
    broker.answer = {"error": "invalid_request", "error_description": f"bad {SESSION_TOKEN}"}
    with pytest.raises(BrokerClientError) as caught:
        client_for(gateway).get_token("orders:read")
    assert caught.value.description == "bad [redacted]"


# -- the gateway refuses what AWS would refuse ---------------------------------------------


def post(url: str, body: bytes = b"scope=orders%3Aread") -> tuple[int, dict[str, Any]]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_an_unsigned_request_is_refused_before_the_broker_runs(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    assert post(gateway.token_url) == (403, {"message": "Missing Authentication Token"})
    assert gateway.refusals == ["missing_authentication"]
    assert broker.calls == 0


def test_a_route_the_api_does_not_have_is_refused(
    broker: FakeBroker, gateway: LocalBrokerGateway
) -> None:
    assert post(gateway.base_url + "/other") == (403, {"message": "Missing Authentication Token"})
    assert broker.calls == 0


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (
            {"credentials": Credentials(ACCESS_KEY, "wrong-secret", SESSION_TOKEN)},
            "signature_mismatch",
        ),
        ({"credentials": Credentials(ACCESS_KEY, SECRET, "stolen-token")}, "invalid_token"),
        ({"credentials": Credentials("AKIDUNKNOWN", SECRET)}, "unknown_access_key"),
        ({"region": "eu-west-1"}, "wrong_region"),
        ({"service": "lambda"}, "wrong_service"),
    ],
)
def test_a_badly_signed_request_is_refused_with_403(
    broker: FakeBroker, gateway: LocalBrokerGateway, kwargs: dict[str, Any], reason: str
) -> None:
    with pytest.raises(BrokerClientError) as caught:
        client_for(gateway, **kwargs).get_token("orders:read")
    assert type(caught.value) is BrokerClientError
    assert (caught.value.status, caught.value.error) == (403, "http_error")
    assert gateway.refusals == [reason]
    assert broker.calls == 0


def test_a_function_url_refuses_requests_signed_for_execute_api(broker: FakeBroker) -> None:
    with LocalBrokerGateway(broker, IDENTITIES, mode="function_url") as gw:
        with pytest.raises(BrokerClientError) as caught:
            client_for(gw, service="execute-api").get_token("orders:read")
        assert gw.refusals == ["wrong_service"]
    assert caught.value.status == 403
    assert broker.calls == 0


def test_a_crashing_handler_is_a_502(broker: FakeBroker) -> None:
    def crash(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom")

    with LocalBrokerGateway(crash, IDENTITIES, raise_handler_errors=False) as gw:
        with pytest.raises(BrokerClientError) as caught:
            client_for(gw).get_token("orders:read")
        assert [type(e) for e in gw.errors] == [RuntimeError]
    assert (caught.value.status, caught.value.description) == (502, "Internal server error")


# -- where the region and the signing service come from ------------------------------------


@pytest.mark.parametrize(
    ("url", "region", "service"),
    [
        (
            "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/token",
            "eu-west-1",
            "execute-api",
        ),
        (
            "https://a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.us-east-2.vpce.amazonaws.com/prod/token",
            "us-east-2",
            "execute-api",
        ),
        (
            "https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/prod/token",
            "cn-north-1",
            "execute-api",
        ),
        (
            "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-southeast-2.on.aws/token",
            "ap-southeast-2",
            "lambda",
        ),
    ],
)
def test_region_and_service_come_from_the_host(
    url: str, region: str, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-west-2")  # the host wins over the environment
    client = BrokerClient(url, credentials_provider=lambda: CREDENTIALS)
    assert (client.region, client.service) == (region, service)
    assert client.host == urlsplit(url).hostname


def test_a_custom_domain_takes_the_region_argument_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "https://broker.example.com/token"
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert BrokerClient(url).region == "eu-central-1"
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    assert BrokerClient(url).region == "eu-north-1"
    client = BrokerClient(url, region="sa-east-1")
    assert (client.region, client.service) == ("sa-east-1", "execute-api")


def test_no_region_anywhere_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(ValueError, match="AWS_REGION"):
        BrokerClient("https://broker.example.com/token")


@pytest.mark.parametrize(
    ("url", "kwargs", "message"),
    [
        ("http://broker.example.com/token", {}, "must use https"),
        (
            "https://a1.execute-api.eu-west-1.amazonaws.com/p/token",
            {"region": "us-east-1"},
            "contradicts",
        ),
        ("/token", {}, "absolute"),
        ("ftp://broker.example.com/token", {}, "absolute"),
        ("ftp://user:pw@broker.example.com/token", {}, "user information"),
        ("https://broker.example.com/token", {"region": "Mars"}, "not an AWS region"),
        ("https://broker.example.com/token", {"timeout": 0}, "timeout"),
        ("https://broker.example.com/token", {"refresh_margin": -1}, "refresh_margin"),
    ],
)
def test_bad_settings_fail_when_the_client_is_built(
    url: str, kwargs: dict[str, Any], message: str
) -> None:
    kwargs.setdefault("region", "us-east-1")
    with pytest.raises(ValueError, match=message):
        BrokerClient(url, **kwargs)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://localhost:8080/token", "localhost:8080"),
        ("http://127.0.0.1/token", "127.0.0.1"),
        ("http://[::1]:9000/token", "[::1]:9000"),
        ("https://broker.example.com:443/token", "broker.example.com"),
    ],
)
def test_http_is_allowed_on_loopback_hosts_only(url: str, host: str) -> None:
    assert BrokerClient(url, region="us-east-1").host == host


def test_a_function_url_host_is_signed_for_lambda_in_its_region(broker: FakeBroker) -> None:
    url = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/token"
    with LocalBrokerGateway(broker, IDENTITIES, region="eu-west-1", mode="function_url") as gw:
        client = BrokerClient(
            url, credentials_provider=lambda: CREDENTIALS, transport=forward_to(gw)
        )
        assert client.get_token("orders:read") == "token-1"
        (event,) = gw.events
    assert event["headers"]["host"] == urlsplit(url).hostname
    assert event["headers"]["authorization"].split("/")[2:4] == ["eu-west-1", "lambda"]


def test_an_api_gateway_host_is_signed_for_execute_api_in_its_region(broker: FakeBroker) -> None:
    url = "https://a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com/token"
    with LocalBrokerGateway(broker, IDENTITIES, region="ap-southeast-2") as gw:
        client = BrokerClient(
            url, credentials_provider=lambda: CREDENTIALS, transport=forward_to(gw)
        )
        assert client.get_token("orders:read") == "token-1"
    assert broker.seen == [(CALLER, {"scope": "orders:read"})]


# -- the command line ----------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The default credential chain finds CREDENTIALS in the environment, nothing else."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "SCOPEGATE_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("aws_env")
def test_cli_prints_the_token_alone(
    broker: FakeBroker, gateway: LocalBrokerGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([gateway.token_url, "--scope", "orders:read", "--client", "orders-api"]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("token-1\n", "")
    assert broker.seen == [(CALLER, {"scope": "orders:read", "client": "orders-api"})]


@pytest.mark.usefixtures("aws_env")
def test_cli_json_prints_the_whole_answer(
    gateway: LocalBrokerGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([gateway.token_url, "--scope", "orders:read", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["access_token"] == "token-1"
    assert (answer["token_type"], answer["scope"]) == ("Bearer", "orders:read")
    assert 299 <= answer["expires_in"] <= 300


@pytest.mark.usefixtures("aws_env")
def test_cli_reads_the_url_from_the_environment(
    gateway: LocalBrokerGateway, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCOPEGATE_BROKER_URL", gateway.token_url)
    assert main([]) == 0
    assert capsys.readouterr().out == "token-1\n"


@pytest.mark.usefixtures("aws_env")
def test_cli_refusal_prints_error_and_description_and_exits_1(
    broker: FakeBroker, gateway: LocalBrokerGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    broker.status = 400
    broker.answer = {"error": "invalid_scope", "error_description": "orders:write is not granted"}
    assert main([gateway.token_url, "--scope", "orders:write"]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", "invalid_scope: orders:write is not granted\n")


@pytest.mark.usefixtures("aws_env")
def test_cli_unreachable_broker_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([f"http://127.0.0.1:{unused_port()}/token"]) == 1
    assert capsys.readouterr().err.startswith("connection_error: cannot reach the broker")


@pytest.mark.usefixtures("aws_env")
@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["http://broker.example.com/token"],
        ["--bogus"],
        ["http://127.0.0.1:1/token", "--scope", 'orders"read'],
    ],
)
def test_cli_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "usage:" in err


@pytest.mark.usefixtures("aws_env")
def test_cli_runs_as_a_module(broker: FakeBroker, gateway: LocalBrokerGateway) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if name.startswith("AWS_") or name in ("PATH", "HOME")
    }
    result = subprocess.run(
        [sys.executable, "-m", "token_broker.client", gateway.token_url, "--scope", "orders:read"],
        capture_output=True,
        text=True,
        env=env | {"PYTHONPATH": str(ROOT / "src")},
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "token-1\n", "")


# -- the SigV4 verifier itself -------------------------------------------------------------

VECTOR_NOW = datetime(2015, 8, 30, 12, 36, tzinfo=UTC).timestamp()
VECTOR_CALLER = "arn:aws:iam::123456789012:user/example"
VECTOR_KEYS = {"AKIDEXAMPLE": SecretEntry(SECRET, VECTOR_CALLER)}


@pytest.mark.parametrize(
    ("query", "signature"),
    [
        # get-vanilla and get-vanilla-query-order-key-case from AWS's SigV4 test suite.
        ("", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        (
            "Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
    ],
)
def test_verifier_accepts_the_published_aws_test_vectors(query: str, signature: str) -> None:
    headers = {
        "Host": "example.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": "AWS4-HMAC-SHA256 "
        "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={signature}",
    }
    kwargs: dict[str, Any] = {"credentials": VECTOR_KEYS, "region": "us-east-1", "now": VECTOR_NOW}
    assert verify("GET", "/", query, headers, b"", service="service", **kwargs) == VECTOR_CALLER
    with pytest.raises(SignatureError, match="signature"):
        verify("GET", "/", query + "&x=1", headers, b"", service="service", **kwargs)


@dataclass
class Signed:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


def botocore_signed(
    url: str = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/token",
    body: bytes = b"scope=orders%3Aread",
    credentials: Credentials = CREDENTIALS,
    headers: Mapping[str, str] | None = None,
    service: str = "execute-api",
) -> Signed:
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )
    SigV4Auth(credentials, service, "us-east-1").add_auth(request)
    parts = urlsplit(url)
    sent = {str(k): str(v) for k, v in request.headers.items()} | {"Host": parts.netloc}
    return Signed("POST", parts.path, parts.query, sent, body)


def check(signed: Signed, **kwargs: Any) -> str:
    kwargs = {"credentials": IDENTITIES, "region": "us-east-1", "service": "execute-api"} | kwargs
    return verify(signed.method, signed.path, signed.query, signed.headers, signed.body, **kwargs)


@pytest.mark.parametrize(
    "signed",
    [
        pytest.param(lambda: botocore_signed(), id="plain"),
        pytest.param(
            lambda: botocore_signed("https://h.example.com/a%20b/./c/../token?b=2&a=1&a=0"),
            id="encoded-path-and-query",
        ),
        pytest.param(lambda: botocore_signed(body=b""), id="empty-body"),
        pytest.param(lambda: botocore_signed(service="lambda"), id="lambda"),
        pytest.param(
            lambda: botocore_signed(
                headers={"X-Amz-Content-SHA256": hashlib.sha256(b"scope=orders%3Aread").hexdigest()}
            ),
            id="content-sha256",
        ),
    ],
)
def test_verifier_accepts_what_botocore_signs(signed: Callable[[], Signed]) -> None:
    request = signed()
    service = request.headers["Authorization"].split("/")[3]
    assert check(request, service=service) == CALLER


def test_verifier_accepts_long_term_keys_without_a_session_token() -> None:
    keys = {"AKIDLONGTERM": SecretEntry("long-term", "arn:aws:iam::123456789012:user/ops")}
    signed = botocore_signed(credentials=Credentials("AKIDLONGTERM", "long-term"))
    assert check(signed, credentials=keys) == "arn:aws:iam::123456789012:user/ops"


def _tamper(**changes: Any) -> Callable[[Signed], None]:
    def apply(signed: Signed) -> None:
        for name, value in changes.items():
            if name == "headers":
                for header, text in value.items():
                    if text is None:
                        del signed.headers[header]
                    else:
                        signed.headers[header] = text
            else:
                setattr(signed, name, value)

    return apply


def _edit_authorization(old: str, new: str) -> Callable[[Signed], None]:
    def apply(signed: Signed) -> None:
        signed.headers["Authorization"] = signed.headers["Authorization"].replace(old, new)

    return apply


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_tamper(body=b"scope=orders%3Awrite"), "signature_mismatch"),
        (_tamper(path="/prod/tokens"), "signature_mismatch"),
        (_tamper(query="scope=admin"), "signature_mismatch"),
        (_tamper(method="PUT"), "signature_mismatch"),
        (_tamper(headers={"Content-Type": "application/json"}), "signature_mismatch"),
        (_tamper(headers={"Host": "elsewhere.example.com"}), "signature_mismatch"),
        (_tamper(headers={"Content-Type": None}), "missing_signed_header"),
        (_tamper(headers={"Authorization": None}), "missing_authentication"),
        (_tamper(headers={"X-Amz-Date": None}), "missing_date"),
        (_tamper(headers={"X-Amz-Security-Token": None}), "missing_signed_header"),
        (_tamper(headers={"X-Amz-Security-Token": "another-token"}), "invalid_token"),
        (_tamper(headers={"X-Amz-Content-SHA256": "0" * 64}), "body_hash_mismatch"),
        (_edit_authorization("host;", ""), "unsigned_header"),
        (_edit_authorization("Signature=", "Signature=0"), "malformed_authorization"),
        (_edit_authorization(ACCESS_KEY, "AKIDUNKNOWN"), "unknown_access_key"),
        (_edit_authorization("/aws4_request", "/aws4_reqest"), "malformed_authorization"),
    ],
)
def test_verifier_refuses_tampered_requests(change: Callable[[Signed], None], reason: str) -> None:
    signed = botocore_signed()
    change(signed)
    with pytest.raises(SignatureError) as caught:
        check(signed)
    assert caught.value.reason == reason


def test_verifier_refuses_a_changed_date() -> None:
    signed = botocore_signed()
    amz_date = datetime.strptime(signed.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    signed.headers["X-Amz-Date"] = amz_date.replace(second=(amz_date.second + 1) % 60).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    with pytest.raises(SignatureError) as caught:
        check(signed)
    assert caught.value.reason == "signature_mismatch"


@pytest.mark.parametrize("skew", [-301, 301])
def test_verifier_refuses_signatures_more_than_five_minutes_off(skew: int) -> None:
    with pytest.raises(SignatureError) as caught:
        check(botocore_signed(), now=time.time() + skew)
    assert caught.value.reason == "expired"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"region": "us-west-2"}, "wrong_region"),
        ({"service": "lambda"}, "wrong_service"),
        (
            {"credentials": {ACCESS_KEY: SecretEntry("wrong-secret", CALLER, SESSION_TOKEN)}},
            "signature_mismatch",
        ),
        ({"credentials": {ACCESS_KEY: SecretEntry(SECRET, CALLER)}}, "invalid_token"),
    ],
)
def test_verifier_refuses_the_wrong_scope_or_key(kwargs: dict[str, Any], reason: str) -> None:
    with pytest.raises(SignatureError) as caught:
        check(botocore_signed(), **kwargs)
    assert caught.value.reason == reason


def test_verifier_requires_the_session_token_of_temporary_credentials() -> None:
    signed = botocore_signed(credentials=Credentials(ACCESS_KEY, SECRET))
    with pytest.raises(SignatureError) as caught:
        check(signed)
    assert caught.value.reason == "invalid_token"
