"""One broker execution environment as an OS process of its own, as Lambda runs them.

    PYTHONPATH=src:. python -m tools.local.environment

The process reads its configuration from the environment exactly as the function does in
Lambda (``BROKER_CONFIG``..., and boto3's ``AWS_ENDPOINT_URL``... to reach moto), imports
``token_broker.handler`` and calls its ``lambda_handler`` for each event, one at a time
(a Lambda environment never runs two events at once). It prints ``{"ready": PORT}``, then
serves on 127.0.0.1:PORT:

    POST /invoke   body: the event (JSON); answer: the handler's response (JSON)
    POST /flush    the handler's metrics are flushed now (EMF lines on stdout)

The handler's log lines go to stdout, as in Lambda. ``tools/local/fleet.py`` starts,
drives and kills such processes.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

TIMEOUT_SECONDS = 15.0  # the template's broker function timeout


class Context:
    """The parts of Lambda's context object the broker reads."""

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "scopegate-broker"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:broker"
        self.memory_limit_in_mb = 512
        self._started = time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        left = TIMEOUT_SECONDS - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


def main() -> int:
    import token_broker.handler as handler

    class Invocations(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            answer: Any = {}
            if self.path == "/invoke":
                answer = handler.lambda_handler(json.loads(body), Context())
            elif self.path == "/flush":
                handler.metrics.flush()
            else:
                self.send_error(404)
                return
            data = json.dumps(answer).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            sys.stdout.flush()

        def log_message(self, format: str, *args: Any) -> None:
            return None  # stdout is for the function's own lines

    server = HTTPServer(("127.0.0.1", 0), Invocations)
    print(json.dumps({"ready": server.server_address[1]}), flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
