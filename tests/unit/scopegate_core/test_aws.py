"""Clients for calls a request waits on give up within seconds, after two attempts in all."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ReadTimeoutError

from scopegate_core.aws import request_client


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers: an AWS endpoint that hangs."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent(monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentServer]:
    server = SilentServer()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", server.url)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    yield server
    server.close()


def test_a_hanging_endpoint_is_given_up_after_two_reads_of_the_read_timeout(
    silent: SilentServer,
) -> None:
    client = request_client("ssm", read_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        client.get_parameter(Name="/scopegate/config")
    elapsed = time.monotonic() - started
    assert len(silent.accepted) == 2  # the first try and one retry; never a third
    assert elapsed < 3.0  # botocore's default read timeout alone is 60 s
