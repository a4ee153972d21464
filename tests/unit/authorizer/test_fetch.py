"""Fetching discovery and JWKS documents over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from authorizer.decision import Unauthorized
from authorizer.errors import FetchError
from authorizer.fetch import DEADLINE_SECONDS, HttpJsonFetcher
from authorizer.handler import Runtime, handle
from authorizer.sources import ConfigSource
from tests.support.issuer import AUDIENCE, LocalIssuer
from tests.unit.authorizer.test_handler import event


class Server:
    """Answers from a script of (status, body, delay) per request, then repeats the last."""

    def __init__(self) -> None:
        self.script: list[tuple[int, bytes, float]] = [(200, b'{"keys": []}', 0.0)]
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                step = server.script[min(server.hits, len(server.script) - 1)]
                server.hits += 1
                time.sleep(step[2])
                self.send_response(step[0])
                if step[0] == 302:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", str(len(step[1])))
                self.end_headers()
                self.wfile.write(step[1])

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/keys"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


class RawServer:
    """Sends ``reply`` on every connection, ``chunk`` bytes every ``pause`` seconds."""

    def __init__(self, reply: bytes, *, chunk: int = 1 << 16, pause: float = 0.0) -> None:
        self.reply, self.chunk, self.pause = reply, chunk, pause
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/keys"
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            try:
                for i in range(0, len(self.reply), self.chunk):
                    if self.stopped.wait(self.pause):
                        return
                    conn.sendall(self.reply[i : i + self.chunk])
            except OSError:
                return  # the client hung up

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[list[RawServer]]:
    servers: list[RawServer] = []
    yield servers
    for s in servers:
        s.close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.httpd.shutdown()


def test_fetches_json(server: Server) -> None:
    assert HttpJsonFetcher().get_json(server.url) == {"keys": []}


def test_one_retry_after_a_5xx(server: Server) -> None:
    server.script = [(503, b"busy", 0.0), (200, b'{"ok": true}', 0.0)]
    assert HttpJsonFetcher().get_json(server.url) == {"ok": True}
    assert server.hits == 2


def test_gives_up_after_one_retry(server: Server) -> None:
    server.script = [(500, b"down", 0.0)]
    with pytest.raises(FetchError, match="HTTP 500"):
        HttpJsonFetcher().get_json(server.url)
    assert server.hits == 2


@pytest.mark.parametrize("status", [302, 404])
def test_no_retry_and_no_redirect_on_other_answers(server: Server, status: int) -> None:
    server.script = [(status, b"", 0.0)]
    with pytest.raises(FetchError, match=f"HTTP {status}"):
        HttpJsonFetcher().get_json(server.url)
    assert server.hits == 1


def test_short_timeout(server: Server) -> None:
    server.script = [(200, b"{}", 0.5)]
    started = time.monotonic()
    with pytest.raises(FetchError):
        HttpJsonFetcher(timeout=0.1).get_json(server.url)
    assert time.monotonic() - started < 0.45  # two attempts of 0.1 s, not two of 0.5 s


def test_not_json_and_oversized_bodies_are_refused(server: Server) -> None:
    server.script = [(200, b"<html>", 0.0)]
    with pytest.raises(FetchError, match="not JSON"):
        HttpJsonFetcher().get_json(server.url)
    server.hits, server.script = 0, [(200, json.dumps({"k": "x" * (1 << 20)}).encode(), 0.0)]
    with pytest.raises(FetchError, match="more than"):
        HttpJsonFetcher().get_json(server.url)


def test_plain_http_is_refused_off_loopback() -> None:
    with pytest.raises(FetchError, match="https"):
        HttpJsonFetcher().get_json("http://idp.example.com/keys")


def test_failure_messages_never_quote_what_the_server_sent(raw: list[RawServer]) -> None:
    # http.client's BadStatusLine holds the server's first line: a body, not our words.
    raw.append(RawServer(b"sg-leak-9Xq4 not a status line\r\n\r\n"))
    with pytest.raises(FetchError) as e:
        HttpJsonFetcher().get_json(raw[0].url)
    assert "BadStatusLine" in str(e.value)
    assert "sg-leak" not in str(e.value)


def _response(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_server_dripping_its_answer_is_cut_off_at_the_deadline(
    raw: list[RawServer], where: str
) -> None:
    # One byte every 50 ms never trips the per-read timeout; the deadline still holds.
    reply = _response(b'{"keys": [' + b" " * 400 + b"]}")
    if where == "headers":
        reply = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 400 + b"\r\n" + reply[17:]
    raw.append(RawServer(reply, chunk=1, pause=0.05))
    started = time.monotonic()
    with pytest.raises(FetchError, match="deadline"):
        HttpJsonFetcher(timeout=0.5, deadline=0.8).get_json(raw[0].url)
    elapsed = time.monotonic() - started
    assert elapsed < 1.3  # 0.8 s and the time to notice, not the 20 s the drip takes
    assert raw[0].connections == 2  # the first attempt timed out at 0.5 s; the retry got the rest


def test_the_default_deadline_bounds_the_whole_fetch(raw: list[RawServer]) -> None:
    raw.append(RawServer(_response(b'{"keys": []}' + b" " * 2000), chunk=1, pause=0.02))
    started = time.monotonic()
    with pytest.raises(FetchError):
        HttpJsonFetcher().get_json(raw[0].url)
    assert time.monotonic() - started < DEADLINE_SECONDS + 0.5


@pytest.mark.parametrize("depth", [20_000, 100_000])
def test_json_nested_beyond_the_parser_is_a_fetch_failure(raw: list[RawServer], depth: int) -> None:
    raw.append(RawServer(_response(b'{"keys": ' + b"[" * depth + b"]" * depth + b"}")))
    with pytest.raises(FetchError, match="not JSON"):
        HttpJsonFetcher().get_json(raw[0].url)
    assert raw[0].connections == 1  # an answer, however bad, is not retried


def test_a_nested_jwks_is_401_once_and_not_refetched_on_every_request(
    raw: list[RawServer],
) -> None:
    raw.append(RawServer(_response(b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")))
    issuer = raw[0].url.removesuffix("/keys")
    idp = LocalIssuer(issuer=issuer)
    config = {
        "issuers": [{"issuer": issuer, "audiences": [AUDIENCE], "jwks_uri": raw[0].url}],
        "routes": [{"route": "GET /orders/{id}", "scopes": ["orders:read"]}],
    }
    state = Runtime(ConfigSource({"AUTHORIZER_CONFIG": json.dumps(config)}), HttpJsonFetcher())
    for _ in range(3):
        with pytest.raises(Unauthorized):
            handle(state, event("rest_token", idp.token("orders:read")))
    assert raw[0].connections == 1  # the cooldown after a failed fetch holds
