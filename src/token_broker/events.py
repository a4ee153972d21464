"""The two event shapes the broker is invoked with, reduced to plain values.

API Gateway REST proxy events (``AWS_IAM`` auth: the caller is
``requestContext.identity.userArn``) and Lambda function URL events (payload 2.0,
``AWS_IAM`` auth: ``requestContext.authorizer.iam.userArn``). Read with ``.get`` chains
rather than Powertools' data classes: their accessors raise ``KeyError`` on an incomplete
event, and importing that package adds about 50 ms to a cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    caller_arn: str | None
    body: str | None
    base64_encoded: bool
    content_type: str | None
    request_id: str


def _mapping(value: object) -> Mapping[str, Any]:
    if type(value) is dict:  # what the Lambda runtime passes; isinstance(Mapping) costs more
        return value
    return value if isinstance(value, Mapping) else {}


def _header(headers: object, name: str) -> str | None:
    for key, value in _mapping(headers).items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    return None


def parse_event(event: object) -> HttpRequest:
    """Never raises: missing pieces become ``None`` and are refused by the caller."""
    event = _mapping(event)
    context = _mapping(event.get("requestContext"))
    if event.get("version") == "2.0":  # function URL
        method = _mapping(context.get("http")).get("method")
        path = event.get("rawPath")
        caller = _mapping(_mapping(context.get("authorizer")).get("iam")).get("userArn")
    else:  # REST proxy: the resource path ignores stage and custom-domain base paths
        method = event.get("httpMethod")
        path = context.get("resourcePath") or event.get("resource") or event.get("path")
        caller = _mapping(context.get("identity")).get("userArn")
    body = event.get("body")
    return HttpRequest(
        method=method if isinstance(method, str) else "",
        path=path if isinstance(path, str) else "",
        caller_arn=caller if isinstance(caller, str) and caller else None,
        body=body if isinstance(body, str) else None,
        base64_encoded=event.get("isBase64Encoded") is True,
        content_type=_header(event.get("headers"), "content-type"),
        request_id=str(context.get("requestId") or ""),
    )
