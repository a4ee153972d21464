"""Lambda as API Gateway calls it: the ``context`` a function receives, and a proxy
integration's response turned into the HTTP reply API Gateway writes."""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from tools.local.http_server import Reply

PayloadVersion = Literal["1.0", "2.0"]  # REST proxy integration; HTTP API / function URL
# The content types AWS passes as text; payload 2.0 base64-encodes every other body.
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as ``context`` (Powertools reads these names)."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    log_group_name: str = "/aws/lambda/scopegate-broker"
    log_stream_name: str = "2024/01/01/[$LATEST]00000000000000000000000000000000"
    timeout_seconds: float = 15.0
    identity: Any = None
    client_context: Any = None
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


class MalformedProxyResponse(ValueError):
    """A Lambda proxy response API Gateway cannot turn into HTTP (the client gets a 5xx)."""


def proxy_reply(result: Any, payload: PayloadVersion, request_id: str) -> Reply:
    """The HTTP reply API Gateway writes for a Lambda proxy integration's ``result``.

    Payload 1.0 (REST) needs ``statusCode``; payload 2.0 (HTTP API, function URL) infers
    200 and a JSON body from any other JSON value and adds ``cookies`` as ``Set-Cookie``.
    Raises ``MalformedProxyResponse`` for what AWS refuses; the caller picks the 5xx.
    """
    headers: list[tuple[str, str]] = []
    if not isinstance(result, dict) or "statusCode" not in result:
        if payload == "1.0":
            raise MalformedProxyResponse("a payload 1.0 response needs a statusCode")
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
        return 200, headers, json.dumps(result).encode()
    status = result["statusCode"]
    body = result.get("body") or ""
    if isinstance(status, bool) or not isinstance(status, int) or not isinstance(body, str):
        raise MalformedProxyResponse("statusCode must be an integer and body a string")
    raw = body.encode()
    if result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body)
        except binascii.Error as e:
            raise MalformedProxyResponse("isBase64Encoded but the body is not base64") from e
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(name, str(value)) for value in values]
    multi = {name.lower() for name, _ in headers}
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in multi:
            headers.append((name, str(value)))
    if payload == "2.0":
        headers += [("Set-Cookie", cookie) for cookie in result.get("cookies") or []]
    headers.append(("x-amzn-RequestId", request_id))
    return status, headers, raw
