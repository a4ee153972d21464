"""The events AWS hands the broker for a SigV4-signed request: API Gateway's REST proxy
integration (payload 1.0) and a Lambda function URL (payload 2.0), each with the caller's
IAM identity where that service puts it."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tools.local.http_server import Request
from tools.local.lambda_proxy import TEXT_TYPES

TOKEN_PATH = "/token"
API_ACCOUNT = "111122223333"  # the account that owns the API and the function


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    """The SigV4 identity, as API Gateway and function URLs describe it."""

    user_arn: str
    account_id: str
    access_key: str
    user_id: str  # AROA...:SESSION for an assumed role, AIDA... for an IAM user
    source_ip: str


def caller_identity(arn: str, access_key: str, source_ip: str) -> CallerIdentity:
    """Made-up but stable unique ids, shaped like IAM's, for the caller ``arn``."""
    account = arn.split(":")[4]
    resource = arn.split(":", 5)[5]
    digest = hashlib.sha256(arn.rsplit("/", 1)[0].encode()).hexdigest().upper()[:17]
    if resource.startswith("assumed-role/"):
        user_id = f"AROA{digest}:{resource.rsplit('/', 1)[1]}"
    else:
        user_id = f"AIDA{digest}"
    return CallerIdentity(arn, account, access_key, user_id, source_ip)


def rest_event(
    request: Request, identity: CallerIdentity, request_id: str, stage: str, region: str
) -> dict[str, Any]:
    """The REST API proxy integration event (payload 1.0) for an IAM-signed request."""
    headers_multi: dict[str, list[str]] = {}
    for name, value in [*request.headers, *_forwarded(request)]:
        headers_multi.setdefault(name, []).append(value)
    query_multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query_multi.setdefault(name, []).append(value)
    now = time.time()
    api_id = "a1b2c3d4e5"
    user_agent = _header(request, "user-agent")
    return {
        "resource": TOKEN_PATH,
        "path": request.path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in headers_multi.items()},
        "multiValueHeaders": headers_multi,
        "queryStringParameters": {k: v[-1] for k, v in query_multi.items()} or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": TOKEN_PATH,
            "httpMethod": request.method,
            "extendedRequestId": request_id[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{stage}{request.path}",
            "accountId": API_ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": identity.account_id,
                "cognitoIdentityId": None,
                "caller": identity.user_id,
                "sourceIp": identity.source_ip,
                "principalOrgId": None,
                "accessKey": identity.access_key,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": identity.user_arn,
                "userAgent": user_agent,
                "user": identity.user_id,
            },
            "domainName": f"{api_id}.execute-api.{region}.amazonaws.com",
            "deploymentId": "d1e2f3",
            "apiId": api_id,
        },
        "body": request.body.decode("utf-8", errors="replace") if request.body else None,
        "isBase64Encoded": False,
    }


def function_url_event(
    request: Request, identity: CallerIdentity, request_id: str, region: str
) -> dict[str, Any]:
    """The Lambda function URL event (payload 2.0) for an IAM-signed request."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in [*request.headers, *_forwarded(request)]:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = time.time()
    url_id = "abcdefghijklmnopqrstuvwxyz012345"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": API_ACCOUNT,
            "apiId": url_id,
            "authorizer": {
                "iam": {
                    "accessKey": identity.access_key,
                    "accountId": identity.account_id,
                    "callerId": identity.user_id,
                    "cognitoIdentity": None,
                    "principalOrgId": None,
                    "userArn": identity.user_arn,
                    "userId": identity.user_id,
                }
            },
            "domainName": f"{url_id}.lambda-url.{region}.on.aws",
            "domainPrefix": url_id,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": identity.source_ip,
                "userAgent": _header(request, "user-agent"),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if request.body:
        content_type = (_header(request, "content-type") or "").lower()
        if content_type.startswith(TEXT_TYPES):
            event["body"] = request.body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def _forwarded(request: Request) -> list[tuple[str, str]]:
    """The headers AWS adds in front of the function."""
    trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return [
        ("X-Amzn-Trace-Id", trace),
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]


def _header(request: Request, name: str) -> str | None:
    return next((v for k, v in request.headers if k.lower() == name), None)
