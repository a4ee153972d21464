"""moto's threaded server on 127.0.0.1, in this process: the local stack's AWS."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

MOTO_KEYS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}  # moto takes any


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's threaded server on a free port of 127.0.0.1; yields its URL, resets on exit."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per AWS call
    server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()  # the backends live in this process: leave them empty
