"""The auth objects for ``requests`` and ``httpx`` (``token_broker.client.requests_auth``,
``token_broker.client.httpx_auth``) against a local API on 127.0.0.1.

The broker side is the real ``BrokerClient`` with its transport injected (a scripted
broker answering in process), so what is asserted is what the API receives: the
``Authorization`` header, how often, and with which token after a 401.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import requests
from botocore.credentials import Credentials

from token_broker.client import BrokerClient, BrokerClientError, HttpResponse
from token_broker.client.httpx_auth import BrokerHttpxAuth
from token_broker.client.requests_auth import BrokerRequestsAuth

CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session")


class ScriptedBroker:
    """A broker transport: token-1, token-2, ... unless ``same`` (the broker's own cache)."""

    def __init__(self) -> None:
        self.calls = 0
        self.same = False
        self.status = 200
        self.entered = threading.Event()
        self.release: threading.Event | None = None  # when set: wait for it to answer
        self.threads: list[int] = []

    def __call__(
        self, url: str, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> HttpResponse:
        self.threads.append(threading.get_ident())
        self.entered.set()
        if self.release is not None and not self.release.wait(timeout=5):
            raise TimeoutError("nobody released the broker's answer")
        self.calls += 1
        if self.status != 200:
            refusal = {"error": "access_denied", "error_description": "no grant for the caller"}
            return HttpResponse(self.status, {}, json.dumps(refusal).encode())
        token = "token-1" if self.same else f"token-{self.calls}"
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": 300}
        return HttpResponse(200, {}, json.dumps(answer | {"scope": "orders:read"}).encode())


@dataclass
class Api:
    """An API that accepts the tokens in ``accepted`` on /orders, refuses others with 401."""

    accepted: set[str] = field(default_factory=lambda: {"token-1"})
    seen: list[tuple[str, str, str | None, bytes]] = field(default_factory=list)
    redirect_to: str = ""
    url: str = ""


class _Handler(BaseHTTPRequestHandler):
    server: _ApiServer

    def _serve(self) -> None:
        api = self.server.api
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = _read_chunks(self.rfile)
        authorization = self.headers.get("Authorization")
        api.seen.append((self.command, self.path, authorization, body))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", api.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        token = (authorization or "").removeprefix("Bearer ")
        status = 401 if token not in api.accepted else 403 if self.path == "/admin" else 200
        payload = json.dumps({"status": status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: Api) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api


def _read_chunks(stream: Any) -> bytes:
    data = b""
    while size := int(stream.readline().strip(), 16):
        data += stream.read(size)
        stream.readline()
    stream.readline()
    return data


@contextmanager
def serving(host: str) -> Iterator[Api]:
    api = Api()
    server = _ApiServer(api)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    api.url = f"http://{host}:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api() -> Iterator[Api]:
    with serving("127.0.0.1") as api:
        yield api


@pytest.fixture
def other_host() -> Iterator[Api]:
    """A second API, reached by another host name (localhost), for cross-host redirects."""
    with serving("localhost") as api:
        yield api


@pytest.fixture
def broker() -> ScriptedBroker:
    return ScriptedBroker()


@pytest.fixture
def client(broker: ScriptedBroker) -> BrokerClient:
    return BrokerClient(
        "http://127.0.0.1:9/token",
        region="us-east-1",
        credentials_provider=lambda: CREDENTIALS,
        transport=broker,
    )


def tokens_seen(api: Api) -> list[str | None]:
    return [authorization for _, _, authorization, _ in api.seen]


# -- requests ------------------------------------------------------------------------------


def test_requests_auth_adds_the_brokers_token_and_reuses_it(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    with requests.Session() as session:
        session.auth = BrokerRequestsAuth(client, "orders:read")
        statuses = [session.get(f"{api.url}/orders", timeout=5).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert tokens_seen(api) == ["Bearer token-1"] * 3
    assert broker.calls == 1


def test_requests_auth_retries_a_401_once_with_a_different_token(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    api.accepted = {"token-2"}  # the API no longer takes the token the client holds
    auth = BrokerRequestsAuth(client, "orders:read")
    response = requests.post(f"{api.url}/orders", data=b'{"id": 7}', auth=auth, timeout=5)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert tokens_seen(api) == ["Bearer token-1", "Bearer token-2"]
    assert [body for *_, body in api.seen] == [b'{"id": 7}'] * 2  # the body, sent again
    assert requests.get(f"{api.url}/orders", auth=auth, timeout=5).status_code == 200
    assert broker.calls == 2  # token-2 is the one kept


def test_requests_auth_returns_the_401_when_the_broker_has_no_other_token(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    broker.same = True
    api.accepted = set()
    response = requests.get(f"{api.url}/orders", auth=BrokerRequestsAuth(client), timeout=5)
    assert response.status_code == 401
    assert tokens_seen(api) == ["Bearer token-1"]  # sent once: the same token cannot help
    assert broker.calls == 2


def test_requests_auth_without_retry_drops_the_refused_token(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    api.accepted = {"token-2"}
    auth = BrokerRequestsAuth(client, "orders:read", retry_on_401=False)
    assert requests.get(f"{api.url}/orders", auth=auth, timeout=5).status_code == 401
    assert requests.get(f"{api.url}/orders", auth=auth, timeout=5).status_code == 200
    assert tokens_seen(api) == ["Bearer token-1", "Bearer token-2"]


def test_requests_auth_does_not_send_a_streamed_body_twice(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    api.accepted = {"token-2"}
    auth = BrokerRequestsAuth(client, "orders:read")
    chunks = iter([b"part-1", b"part-2"])
    response = requests.post(f"{api.url}/orders", data=chunks, auth=auth, timeout=5)
    assert response.status_code == 401
    assert [body for *_, body in api.seen] == [b"part-1part-2"]
    assert requests.get(f"{api.url}/orders", auth=auth, timeout=5).status_code == 200


def test_requests_auth_returns_the_401_when_the_broker_fails_to_renew(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    auth = BrokerRequestsAuth(client, "orders:read")
    assert requests.get(f"{api.url}/orders", auth=auth, timeout=5).status_code == 200
    api.accepted, broker.status = set(), 503
    assert requests.get(f"{api.url}/orders", auth=auth, timeout=5).status_code == 401
    assert tokens_seen(api) == ["Bearer token-1"] * 2
    with pytest.raises(BrokerClientError):  # the next request asks the broker, which says why
        requests.get(f"{api.url}/orders", auth=auth, timeout=5)


def test_requests_auth_leaves_a_403_alone(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    auth = BrokerRequestsAuth(client, "orders:read")
    assert requests.get(f"{api.url}/admin", auth=auth, timeout=5).status_code == 403
    assert requests.get(f"{api.url}/orders", auth=auth, timeout=5).status_code == 200
    assert (len(api.seen), broker.calls) == (2, 1)


def test_requests_auth_raises_the_brokers_refusal(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    broker.status = 403
    with pytest.raises(BrokerClientError) as refused:
        requests.get(f"{api.url}/orders", auth=BrokerRequestsAuth(client), timeout=5)
    assert (refused.value.status, refused.value.error) == (403, "access_denied")
    assert api.seen == []  # nothing went to the API without a token


def test_requests_auth_token_does_not_follow_a_redirect_to_another_host(
    api: Api, other_host: Api, client: BrokerClient
) -> None:
    api.redirect_to = f"{other_host.url}/orders"
    auth = BrokerRequestsAuth(client, "orders:read")
    assert requests.get(f"{api.url}/redirect", auth=auth, timeout=5).status_code == 401
    assert tokens_seen(api) == ["Bearer token-1"]
    assert tokens_seen(other_host) == [None]


def test_requests_auth_checks_its_arguments_where_it_is_made(client: BrokerClient) -> None:
    with pytest.raises(ValueError, match="not a valid OAuth scope"):
        BrokerRequestsAuth(client, 'orders"read')
    with pytest.raises(TypeError, match="BrokerClient"):
        BrokerRequestsAuth("https://broker.example.com/token")  # type: ignore[arg-type]  # the test


# -- httpx ---------------------------------------------------------------------------------


def test_httpx_auth_adds_the_brokers_token_and_reuses_it(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    with httpx.Client(auth=BrokerHttpxAuth(client, "orders:read"), timeout=5) as http:
        statuses = [http.get(f"{api.url}/orders").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert tokens_seen(api) == ["Bearer token-1"] * 3
    assert broker.calls == 1


def test_httpx_auth_retries_a_401_once_with_a_different_token(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    api.accepted = {"token-2"}
    with httpx.Client(auth=BrokerHttpxAuth(client, "orders:read"), timeout=5) as http:
        response = http.post(f"{api.url}/orders", content=b'{"id": 7}')
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert tokens_seen(api) == ["Bearer token-1", "Bearer token-2"]
    assert [body for *_, body in api.seen] == [b'{"id": 7}'] * 2


def test_httpx_auth_returns_the_401_when_the_broker_has_no_other_token(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    broker.same = True
    api.accepted = set()
    with httpx.Client(auth=BrokerHttpxAuth(client), timeout=5) as http:
        assert http.get(f"{api.url}/orders").status_code == 401
    assert tokens_seen(api) == ["Bearer token-1"]


def test_httpx_auth_does_not_send_a_streamed_body_twice(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    api.accepted = {"token-2"}

    def chunks() -> Iterator[bytes]:
        yield b"part-1"
        yield b"part-2"

    with httpx.Client(auth=BrokerHttpxAuth(client, "orders:read"), timeout=5) as http:
        assert http.post(f"{api.url}/orders", content=chunks()).status_code == 401
        assert http.get(f"{api.url}/orders").status_code == 200
    assert [body for *_, body in api.seen] == [b"part-1part-2", b""]
    assert tokens_seen(api) == ["Bearer token-1", "Bearer token-2"]


def test_httpx_auth_without_retry_drops_the_refused_token(api: Api, client: BrokerClient) -> None:
    api.accepted = {"token-2"}
    auth = BrokerHttpxAuth(client, "orders:read", retry_on_401=False)
    with httpx.Client(auth=auth, timeout=5) as http:
        assert http.get(f"{api.url}/orders").status_code == 401
        assert http.get(f"{api.url}/orders").status_code == 200


def test_httpx_auth_returns_the_401_when_the_broker_fails_to_renew(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    with httpx.Client(auth=BrokerHttpxAuth(client, "orders:read"), timeout=5) as http:
        assert http.get(f"{api.url}/orders").status_code == 200
        api.accepted, broker.status = set(), 503
        assert http.get(f"{api.url}/orders").status_code == 401
    assert tokens_seen(api) == ["Bearer token-1"] * 2


def test_httpx_auth_raises_the_brokers_refusal(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    broker.status = 403
    with (
        httpx.Client(auth=BrokerHttpxAuth(client), timeout=5) as http,
        pytest.raises(BrokerClientError) as refused,
    ):
        http.get(f"{api.url}/orders")
    assert refused.value.error == "access_denied"
    assert api.seen == []


def test_httpx_auth_token_does_not_follow_a_redirect_to_another_host(
    api: Api, other_host: Api, client: BrokerClient
) -> None:
    api.redirect_to = f"{other_host.url}/orders"
    auth = BrokerHttpxAuth(client, "orders:read")
    with httpx.Client(auth=auth, timeout=5, follow_redirects=True) as http:
        assert http.get(f"{api.url}/redirect").status_code == 401
    assert tokens_seen(api) == ["Bearer token-1"]
    assert tokens_seen(other_host) == [None]


def test_httpx_async_auth_fetches_in_a_thread_while_the_loop_runs_on(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    # The broker answers only once a coroutine on the loop lets it: were the fetch made on
    # the loop's thread, that coroutine could not run and the fetch would time out.
    broker.release = threading.Event()
    release = broker.release

    async def let_the_broker_answer() -> None:
        while not broker.entered.is_set():
            await asyncio.sleep(0.01)
        release.set()

    async def main() -> list[int]:
        auth = BrokerHttpxAuth(client, "orders:read")
        async with httpx.AsyncClient(auth=auth, timeout=10) as http:
            first, _ = await asyncio.gather(http.get(f"{api.url}/orders"), let_the_broker_answer())
            second = await http.get(f"{api.url}/orders")
        return [first.status_code, second.status_code]

    loop_thread = threading.get_ident()
    assert asyncio.run(main()) == [200, 200]
    assert broker.calls == 1
    assert loop_thread not in broker.threads


def test_httpx_async_auth_retries_a_401_once_with_a_different_token(
    api: Api, broker: ScriptedBroker, client: BrokerClient
) -> None:
    api.accepted = {"token-2"}

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=BrokerHttpxAuth(client, "orders:read")) as http:
            return await http.post(f"{api.url}/orders", json={"id": 7})

    response = asyncio.run(main())
    assert response.status_code == 200
    assert tokens_seen(api) == ["Bearer token-1", "Bearer token-2"]
    assert broker.calls == 2
