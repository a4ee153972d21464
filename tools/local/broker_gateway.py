"""The broker's front door on 127.0.0.1: API Gateway (REST, ``AWS_IAM``) or a Lambda
function URL (``AWS_IAM``), for tests and the local stack.

It checks SigV4 with ``tools.local.sigv4`` and refuses as AWS does (403 before the
function runs), builds the event the real service would send (REST proxy integration,
payload 1.0; function URL, payload 2.0), calls the handler in process and writes its
proxy response back.

    identities = {"AKIDEXAMPLE": SecretEntry(SECRET, ASSUMED_ROLE_ARN, SESSION_TOKEN)}
    with LocalBrokerGateway(lambda_handler, identities) as gateway:
        BrokerClient(gateway.token_url, region=gateway.region, credentials_provider=...)

What AWS does that matters to a handler: REST passes the body as text
(``isBase64Encoded`` false, no binary media types); function URLs base64-encode every
body whose type is not text, JSON, XML or JavaScript, form-encoded bodies included.

The HTTP server (http_server.py), the Lambda proxy response (lambda_proxy.py) and the
events (signed_events.py) are their own modules; apigw.py shares the first two.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Literal, Self

from tools.local.http_server import HttpServer, Reply, Request
from tools.local.lambda_proxy import LambdaContext, MalformedProxyResponse, proxy_reply
from tools.local.service import Service
from tools.local.signed_events import (
    API_ACCOUNT,
    TOKEN_PATH,
    caller_identity,
    function_url_event,
    rest_event,
)
from tools.local.sigv4 import SecretEntry, SignatureError, verify

Handler = Callable[[dict[str, Any], Any], Any]
Mode = Literal["rest", "function_url"]
# API Gateway's x-amzn-ErrorType for each refusal (what its 403 carries).
_ERROR_TYPES = {
    "missing_route": "MissingAuthenticationTokenException",
    "missing_authentication": "MissingAuthenticationTokenException",
    "unknown_access_key": "UnrecognizedClientException",
    "invalid_token": "UnrecognizedClientException",
}


class LocalBrokerGateway(Service):
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
