"""The broker's front door on 127.0.0.1: API Gateway (REST, ``AWS_IAM``) or a Lambda
function URL (``AWS_IAM``), for tests.

It checks SigV4 with ``tests.support.sigv4`` and refuses as AWS does (403 before the
function runs), builds the event the real service would send (REST proxy integration,
payload 1.0; function URL, payload 2.0), calls the handler in process and writes its
proxy response back.

    identities = {"AKIDEXAMPLE": SecretEntry(SECRET, ASSUMED_ROLE_ARN, SESSION_TOKEN)}
    with LocalBrokerGateway(lambda_handler, identities) as gateway:
        BrokerClient(gateway.token_url, region=gateway.region, credentials_provider=...)

What AWS does that matters to a handler: REST passes the body as text
(``isBase64Encoded`` false, no binary media types); function URLs base64-encode every
body whose type is not text, JSON, XML or JavaScript, form-encoded bodies included.

Shared with tools/local/apigw.py: ``HttpServer`` (the threaded server on 127.0.0.1 that
hands each ``Request`` to a ``serve`` function) and ``proxy_reply`` (a Lambda proxy
response, payload 1.0 or 2.0, turned into the HTTP reply API Gateway would send).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qsl

from tests.support.sigv4 import SecretEntry, SignatureError, verify

Handler = Callable[[dict[str, Any], Any], Any]
Mode = Literal["rest", "function_url"]
PayloadVersion = Literal["1.0", "2.0"]  # REST proxy integration; HTTP API / function URL
Reply = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body
TOKEN_PATH = "/token"
API_ACCOUNT = "111122223333"  # the account that owns the API and the function
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
# API Gateway's x-amzn-ErrorType for each refusal (what its 403 carries).
_ERROR_TYPES = {
    "missing_route": "MissingAuthenticationTokenException",
    "missing_authentication": "MissingAuthenticationTokenException",
    "unknown_access_key": "UnrecognizedClientException",
    "invalid_token": "UnrecognizedClientException",
}


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


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the gateway received it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]  # as received, repeats and case kept
    body: bytes
    source_ip: str


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


class HttpServer:
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


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


class LocalBrokerGateway:
    """A threaded HTTP server that authenticates like AWS and invokes ``handler``.

    ``identities`` maps an access key to its ``SecretEntry`` (secret key, caller ARN such
    as ``arn:aws:sts::123456789012:assumed-role/orders-worker/task-1``, session token);
    a plain ``(secret, arn)`` or ``(secret, arn, token)`` tuple will do. ``events``
    records every event handed to the handler, ``refusals`` the reason of every request
    refused before it, ``errors`` every exception the handler raised (the client then
    sees 502). Leaving the ``with`` block re-raises the first handler error unless
    ``raise_handler_errors`` is False.
    """

    def __init__(
        self,
        handler: Handler,
        identities: Mapping[str, SecretEntry | tuple[str, ...]],
        *,
        region: str = "us-east-1",
        mode: Mode = "rest",
        stage: str = "prod",
        function_name: str = "scopegate-broker",
        raise_handler_errors: bool = True,
        record: bool = True,
    ) -> None:
        if mode not in ("rest", "function_url"):
            raise ValueError(f"mode must be 'rest' or 'function_url', not {mode!r}")
        self.handler = handler
        self.identities = {key: SecretEntry(*value) for key, value in identities.items()}
        self.region = region
        self.mode: Mode = mode
        self.stage = stage
        self.function_name = function_name
        self.raise_handler_errors = raise_handler_errors
        self.record = record  # keep events and refusals (tests read them)
        self.events: list[dict[str, Any]] = []
        self.refusals: list[str] = []
        self.errors: list[BaseException] = []
        self._server = HttpServer(self.serve)

    @property
    def service(self) -> str:
        """The SigV4 service requests must be signed for."""
        return "execute-api" if self.mode == "rest" else "lambda"

    @property
    def base_url(self) -> str:
        if not self._server.running:
            raise RuntimeError("the gateway is not started")
        return self._server.base_url

    @property
    def token_url(self) -> str:
        """The broker's ``/token`` URL, what the stack outputs as ``BrokerTokenUrl``."""
        return self.base_url + TOKEN_PATH

    url = token_url

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc is None and self.errors and self.raise_handler_errors:
            raise AssertionError("the handler raised; see the cause") from self.errors[0]

    def serve(self, request: Request) -> Reply:
        """Authenticate, build the event, invoke the handler: (status, headers, body)."""
        request_id = str(uuid.uuid4())
        if self.mode == "rest" and (request.path, request.method) != (TOKEN_PATH, "POST"):
            # API Gateway's answer for a route it does not have, signed or not.
            return self._refuse("missing_route", "Missing Authentication Token", request_id)
        joined: dict[str, str] = {}
        for name, value in request.headers:
            key = name.lower()
            joined[key] = f"{joined[key]},{value}" if key in joined else value
        try:
            caller = verify(
                request.method,
                request.path,
                request.query,
                joined,
                request.body,
                credentials=self.identities,
                region=self.region,
                service=self.service,
            )
        except SignatureError as e:
            return self._refuse(e.reason, str(e), request_id)
        access_key = joined["authorization"].split("Credential=", 1)[1].split("/", 1)[0]
        identity = caller_identity(caller, access_key, request.source_ip)
        if self.mode == "rest":
            event = rest_event(request, identity, request_id, self.stage, self.region)
        else:
            event = function_url_event(request, identity, request_id, self.region)
        if self.record:
            self.events.append(event)
        context = LambdaContext(
            self.function_name,
            f"arn:aws:lambda:{self.region}:{API_ACCOUNT}:function:{self.function_name}",
        )
        try:
            result = self.handler(event, context)
        except Exception as e:  # noqa: BLE001 - a crashed function is a 502, as on AWS
            self.errors.append(e)
            return self._internal_error(request_id)
        try:
            return proxy_reply(result, "1.0" if self.mode == "rest" else "2.0", request_id)
        except MalformedProxyResponse:
            return self._internal_error(request_id)

    def _refuse(self, reason: str, message: str, request_id: str) -> Reply:
        if self.record:
            self.refusals.append(reason)
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
        if self.mode == "rest":
            headers.append(("x-amzn-ErrorType", _ERROR_TYPES.get(reason, "InvalidSignature")))
            return 403, headers, json.dumps({"message": message}).encode()
        return 403, headers, json.dumps({"Message": f"Forbidden. {message}"}).encode()

    def _internal_error(self, request_id: str) -> Reply:
        if self.mode == "rest":
            body = {"message": "Internal server error"}
        else:
            body = {"Message": "Internal Server Error"}
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
        return 502, headers, json.dumps(body).encode()


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
        if content_type.startswith(_TEXT_TYPES):
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
