"""moto's server, one request at a time: ``python -m tools.local.moto_atomic PORT``.

DynamoDB makes every single write atomic, conditional ones included ("Individual write
operations such as UpdateItem are atomic and always operate on the most recent version
of the item, regardless of concurrency",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/BestPractices_ImplementingVersionControl.html).
moto's DynamoDB checks a condition and writes without a lock, so under its threaded
server two concurrent conditional writes can both succeed: two broker environments
would both win one lease. This server still accepts connections on threads but hands
requests to moto one at a time, so each write is atomic as in DynamoDB.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main(port: int) -> None:
    moto = DomainDispatcherApplication(create_backend_app)
    alone = threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with alone:  # the whole answer, body included, before the next request
            return list(moto(environ, start_response))

    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(int(sys.argv[1]))
