"""The events API Gateway sends for a routed request: REST (a REQUEST authorizer and a
proxy integration, payload 1.0) and HTTP API (payload 2.0), built from the ``Request``
as the developer guide describes them (apigw.py cites the pages)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tools.local.http_server import Request
from tools.local.lambda_proxy import TEXT_TYPES
from tools.local.routes import Route


@dataclass(frozen=True, slots=True)
class Stage:
    """Where the API is deployed: its region, account, id and stage name."""

    region: str
    account: str
    api_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    """A request once routed: what the authorizer and the backend are told about it."""

    request: Request
    route: Route
    params: dict[str, str]  # path parameters
    request_id: str
    arn: str  # the method ARN (REST) or route ARN (HTTP API)


def rest_event(call: Call, stage: Stage) -> dict[str, Any]:
    """The request as a REST REQUEST authorizer and a proxy integration (1.0) see it."""
    request, now = call.request, time.time()
    headers, query = multi(request.headers), multi(query_pairs(request))
    return {
        "resource": call.route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": call.params or None,
        "stageVariables": None,
        "requestContext": {
            **request_context(call.request_id, stage),
            "resourcePath": call.route.path,
            "httpMethod": request.method,
            "path": f"/{stage.name}{request.path}",
            "protocol": "HTTP/1.1",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": header(request.headers, "user-agent"),
            },
        },
    }


def http_event(call: Call, stage: Stage) -> dict[str, Any]:
    """The request as an HTTP API authorizer and integration (payload 2.0) see it."""
    request, now = call.request, time.time()
    headers = {k: ",".join(v) for k, v in multi(request.headers, lower=True).items()}
    cookies = [c.strip() for c in headers.pop("cookie", "").replace(",", ";").split(";")]
    cookies = [cookie for cookie in cookies if cookie]
    query = {k: ",".join(v) for k, v in multi(query_pairs(request)).items()}
    path = request.path if stage.name == "$default" else f"/{stage.name}{request.path}"
    http: dict[str, Any] = {"method": request.method, "path": path, "protocol": "HTTP/1.1"}
    http |= {"sourceIp": request.source_ip, "userAgent": headers.get("user-agent")}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": call.route.key,
        "rawPath": path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            **request_context(call.request_id, stage),
            "http": http,
            "routeKey": call.route.key,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
    }
    optional = {"cookies": cookies, "queryStringParameters": query}
    optional["pathParameters"] = call.params
    return event | {key: value for key, value in optional.items() if value}


def request_context(request_id: str, stage: Stage) -> dict[str, Any]:
    return {
        "accountId": stage.account,
        "apiId": stage.api_id,
        "domainName": f"{stage.api_id}.execute-api.{stage.region}.amazonaws.com",
        "domainPrefix": stage.api_id,
        "requestId": request_id,
        "stage": stage.name,
    }


def multi(pairs: Iterable[tuple[str, str]], *, lower: bool = False) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name.lower() if lower else name, []).append(value)
    return grouped


def query_pairs(request: Request) -> list[tuple[str, str]]:
    return parse_qsl(request.query, keep_blank_values=True)


def header(headers: list[tuple[str, str]], name: str, *, joined: bool = False) -> str | None:
    """A header as REST (its last value) or an HTTP API (all values, comma-joined) reads it."""
    values = [value for key, value in headers if key.lower() == name]
    return (",".join(values) if joined else values[-1]) if values else None


def body(request: Request, *, binary: bool) -> tuple[str | None, bool]:
    """REST passes text (no binary media types); HTTP APIs base64-encode non-text types."""
    if not request.body:
        return None, False
    content_type = (header(request.headers, "content-type") or "").lower()
    if binary and not content_type.startswith(TEXT_TYPES):
        return base64.b64encode(request.body).decode("ascii"), True
    return request.body.decode("utf-8", errors="replace"), False
