"""The local gateways' HTTP side: a threaded HTTP/1.1 server on 127.0.0.1 that hands each
``Request`` to a ``serve`` function and writes back its ``Reply``.

Used by the broker's gateway (broker_gateway.py), the API in front of the authorizer
(apigw.py) and the local stack (stack.py), which routes between the two.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from tools.local.service import Service

Reply = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the gateway received it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]  # as received, repeats and case kept
    body: bytes
    source_ip: str


class HttpServer(Service):
    """A threaded HTTP/1.1 server on 127.0.0.1 (a free port) that answers with ``serve``.

    Like API Gateway it wants a ``Content-Length`` (411 for a chunked or unreadable one),
    answers HEAD without a body, and logs nothing.

        with HttpServer(api.serve) as server:
            urllib.request.urlopen(server.base_url + "/orders")
    """

    def __init__(self, serve: Callable[[Request], Reply]) -> None:
        self.serve = serve
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> Self:
        self._httpd = _Server(self.serve)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 overflows under a few concurrent clients, and
    # Linux then makes a client retry its connection after a whole second.
    request_queue_size = 128

    def __init__(self, serve: Callable[[Request], Reply]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.serve = serve

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or "chunked" in self.headers.get("Transfer-Encoding", ""):
            self._reply(411, [("Content-Type", "application/json")], b'{"message":null}')
            return
        path, _, query = self.path.partition("?")
        request = Request(
            self.command,
            path,
            query,
            list(self.headers.items()),
            self.rfile.read(length),
            self.client_address[0],
        )
        try:
            reply = self.server.serve(request)
        except Exception:  # noqa: BLE001 - a bug in the emulation: answer, print the traceback
            traceback.print_exc()
            reply = (500, [("Content-Type", "application/json")], b'{"message":null}')
        self._reply(*reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
