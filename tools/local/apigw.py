"""Amazon API Gateway in front of a Lambda backend, behind a Lambda authorizer (`make run`).

``ProtectedApi(authorizer, backend, routes).serve(request)`` answers a ``Request``
(tools/local/http_server.py) as API Gateway answers for an API whose routes all use one
Lambda authorizer and a Lambda proxy integration; ``HttpServer(api.serve)`` serves it on
127.0.0.1. Development tooling: routing is in routes.py, IAM evaluation in iam.py (written
independently of ``src/``, because it is the check of the policies our authorizer returns).

Emulated, after the API Gateway developer guide:
- Routing first. REST: the most specific resource (per segment a literal, then ``{param}``,
  then ``{proxy+}``; a route's parents are resources without methods), then its method or
  ``ANY``, else 403 Missing Authentication Token. HTTP API: full matches before greedy ones,
  the most specific path, the route's own method before ``ANY``, else 404 Not Found.
- Flavors: ``rest-token`` (TOKEN, token source the Authorization header), ``rest-request``
  (REQUEST, identity source the Authorization header), ``http`` (payload 2.0, identity
  sources ``$request.header.Authorization`` and ``$context.routeKey``; simple responses, or
  IAM policies when ``simple_responses`` is False). An empty identity source: 401, no call.
- The authorizer raising ``Unauthorized``: 401; raising anything else, or answering in the
  wrong shape (no principalId, a statement other than Effect/Action/Resource, a REST context
  value that is not a string, number or boolean): 500. A policy is judged against the
  method/route ARN with IAM wildcards ``*`` and ``?``: an explicit Deny wins, no Allow
  denies (REST: 403 AccessDeniedException with the texts below; HTTP API: 403 Forbidden).
- The result cache (``cache_ttl`` seconds, 0 is off), keyed by the identity source values,
  holds the authorizer's whole answer and judges it again for each request's ARN. The guide
  caches "the authorization policy" (REST) / "the authorizer response" (HTTP API); a 401 or
  a 500 carries neither, so it is not cached: the next request calls the authorizer again.
- The backend's event: REST proxy (1.0) with ``requestContext.authorizer`` = the context
  values stringified ("The returned values are all stringified"), ``principalId`` and
  ``integrationLatency``; HTTP API 2.0 with the context as returned in
  ``requestContext.authorizer.lambda``. A failing backend: REST 502, HTTP API 500.

Not emulated: usage plans, API keys, throttling, stage variables, resource policies, token
validation expressions, other identity sources, IAM conditions, binary media types (REST
bodies are text), mapping templates, request validation, CORS, custom gateway responses,
domains and stage paths (paths are ``/orders/42``, not ``/prod/orders/42``), ``$default``
routes, WebSocket APIs, ARN length limits, timeouts.

Sources, in awsdocs/amazon-api-gateway-developer-guide: http-api-develop-routes,
http-api-lambda-authorizer, api-gateway-lambda-authorizer-output,
supported-gateway-response-types, configure-api-gateway-lambda-authorization-with-console;
the 403 texts: the AWS knowledge center's api-gateway-403-error-lambda-authorizer (newer
deployments add " in an identity-based policy" to the explicit deny text).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tools.local.apigw_events import Call, Stage, body, header, http_event, rest_event
from tools.local.http_server import Reply, Request
from tools.local.iam import Verdict, iam_verdict
from tools.local.lambda_proxy import LambdaContext, proxy_reply
from tools.local.routes import Route, RouteMap, bind, split

Invoke = Callable[[dict[str, Any], Any], Any]  # a Lambda handler (event, context)
Flavor = Literal["rest-token", "rest-request", "http"]

EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
IMPLICIT_DENY = "User is not authorized to access this resource"
# Why API Gateway refuses: REST (status, body, x-amzn-ErrorType), HTTP API (status, message).
REST_REFUSALS: dict[str, tuple[int, dict[str, Any], str]] = {
    "no_route": (403, {"message": "Missing Authentication Token"}, "MissingAuthenticationToken"),
    "unauthorized": (401, {"message": "Unauthorized"}, "Unauthorized"),
    "authorizer_error": (500, {"message": None}, "AuthorizerConfiguration"),
    "explicit_deny": (403, {"Message": EXPLICIT_DENY}, "AccessDenied"),
    "implicit_deny": (403, {"Message": IMPLICIT_DENY}, "AccessDenied"),
    "backend_error": (502, {"message": "Internal server error"}, "InternalServerError"),
}
HTTP_REFUSALS: dict[str, tuple[int, str]] = {
    "no_route": (404, "Not Found"),
    "unauthorized": (401, "Unauthorized"),
    "authorizer_error": (500, "Internal Server Error"),
    "explicit_deny": (403, "Forbidden"),
    "implicit_deny": (403, "Forbidden"),
    "backend_error": (500, "Internal Server Error"),
}
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """An authorizer's answer in the result cache, until ``expires_at`` (the API's clock)."""

    answer: Any
    expires_at: float


class _Refused(Exception):
    """API Gateway answers itself; ``reason`` is a key of REST_REFUSALS and HTTP_REFUSALS."""


class ProtectedApi:
    """``routes`` behind ``authorizer``, served by ``backend``; see the module docstring.

    ``serve`` may run in many threads; ``lock`` guards the cache and the counters
    ``authorizer_calls`` and ``cache_hits``.
    """

    def __init__(
        self,
        authorizer: Invoke,
        backend: Invoke,
        routes: Sequence[str],
        *,
        flavor: Flavor = "rest-token",
        cache_ttl: float = 300,
        simple_responses: bool = True,  # http flavor only
        region: str = "us-east-1",
        account: str = "123456789012",
        api_id: str = "a1b2c3d4e5",
        stage: str | None = None,  # default: "prod" for REST, "$default" for an HTTP API
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if flavor not in ("rest-token", "rest-request", "http"):
            raise ValueError(f"flavor must be rest-token, rest-request or http, not {flavor!r}")
        self.authorizer, self.backend, self.flavor = authorizer, backend, flavor
        self.routes = [Route.parse(text) for text in routes]
        self.cache_ttl, self.simple_responses, self.clock = cache_ttl, simple_responses, clock
        self.region, self.account, self.api_id = region, account, api_id
        self.stage = stage or ("$default" if flavor == "http" else "prod")
        self.stage_info = Stage(region, account, api_id, self.stage)
        self.lock = threading.Lock()
        self.authorizer_calls = self.cache_hits = 0
        self._cache: dict[tuple[str, ...], CachedAnswer] = {}
        _refuse_renamed_siblings(self.routes)
        self._route_map = RouteMap(self.routes)

    def flush_cache(self) -> None:
        with self.lock:
            self._cache.clear()

    def serve(self, request: Request) -> Reply:
        request_id = str(uuid.uuid4())
        try:
            return self._serve(request, request_id)
        except _Refused as refused:
            return self._refusal(str(refused), request_id)

    def _serve(self, request: Request, request_id: str) -> Reply:
        route, params = self._match(request.method, split(request.path))
        token = header(request.headers, "authorization", joined=self.flavor == "http")
        if not token:
            raise _Refused("unauthorized")
        identity = (token, route.key) if self.flavor == "http" else (token,)
        arn = f"arn:aws:execute-api:{self.region}:{self.account}:{self.api_id}/{self.stage}/"
        call = Call(request, route, params, request_id, arn + request.method + request.path)
        answer, latency = self._cached(identity), 0
        fresh = answer is None
        if fresh:
            started = time.monotonic()
            answer = self._authorize(self._authorizer_event(call, identity))
            latency = int((time.monotonic() - started) * 1000)
        verdict, context = self._judge(answer, call.arn)  # refuses a malformed answer
        if fresh and self.cache_ttl > 0:
            with self.lock:
                self._cache[identity] = CachedAnswer(answer, self.clock() + self.cache_ttl)
        if verdict != "allow":
            raise _Refused(verdict)
        try:
            event = self._backend_event(call, answer, context, latency)
            result = self.backend(event, self._lambda_context("api-backend"))
            return proxy_reply(result, "2.0" if self.flavor == "http" else "1.0", request_id)
        except Exception as e:  # a crashed or malformed function is a 5xx, as on AWS
            logger.warning("the backend failed: %r", e)
            raise _Refused("backend_error") from e

    def _match(self, method: str, parts: tuple[str, ...]) -> tuple[Route, dict[str, str]]:
        """The route API Gateway picks for the request, and its path parameters."""
        route = self._route_map.match("http" if self.flavor == "http" else "rest", method, parts)
        if route is None:
            raise _Refused("no_route")
        return route, bind(route.segments, parts) or {}

    def _cached(self, identity: tuple[str, ...]) -> Any:
        with self.lock:
            entry = self._cache.get(identity)
            if entry is not None and self.clock() >= entry.expires_at:
                del self._cache[identity]
                entry = None
            if entry is None:
                return None
            self.cache_hits += 1
            return entry.answer

    def _authorize(self, event: dict[str, Any]) -> Any:
        with self.lock:
            self.authorizer_calls += 1
        try:
            return self.authorizer(event, self._lambda_context("scopegate-authorizer"))
        except Exception as e:  # Lambda's errorMessage decides: 401 or 500
            if str(e) == "Unauthorized":
                raise _Refused("unauthorized") from e
            logger.warning("the authorizer failed: %r", e)
            raise _Refused("authorizer_error") from e

    def _judge(self, answer: Any, arn: str) -> tuple[Verdict, dict[str, Any]]:
        """What ``answer`` decides for ``arn``, and the context it passes on."""
        context = (answer.get("context") or {}) if isinstance(answer, dict) else None
        if not isinstance(context, dict):
            raise _Refused("authorizer_error")
        if self.flavor == "http" and self.simple_responses:
            if not isinstance(answer.get("isAuthorized"), bool):
                raise _Refused("authorizer_error")
            return ("allow" if answer["isAuthorized"] else "implicit_deny"), context
        principal = answer.get("principalId")
        scalars = all(isinstance(v, str | int | float) for v in context.values())
        if (
            not principal
            or not isinstance(principal, str)
            or not (scalars or self.flavor == "http")
        ):
            raise _Refused("authorizer_error")
        try:
            return iam_verdict(answer.get("policyDocument"), arn), context
        except ValueError as e:
            raise _Refused("authorizer_error") from e

    def _authorizer_event(self, call: Call, identity: tuple[str, ...]) -> dict[str, Any]:
        if self.flavor == "rest-token":
            return {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": call.arn}
        if self.flavor == "rest-request":
            return {"type": "REQUEST", "methodArn": call.arn, **rest_event(call, self.stage_info)}
        event = {**http_event(call, self.stage_info), "type": "REQUEST", "routeArn": call.arn}
        return {**event, "identitySource": list(identity)}

    def _backend_event(
        self, call: Call, answer: dict[str, Any], context: dict[str, Any], latency: int
    ) -> dict[str, Any]:
        if self.flavor == "http":
            event = http_event(call, self.stage_info)
            event["requestContext"]["authorizer"] = {"lambda": context}
        else:
            event = rest_event(call, self.stage_info)
            strings = {k: v if isinstance(v, str) else json.dumps(v) for k, v in context.items()}
            principal = {"principalId": answer["principalId"], "integrationLatency": latency}
            event["requestContext"]["authorizer"] = {**strings, **principal}
        event["body"], event["isBase64Encoded"] = body(call.request, binary=self.flavor == "http")
        return event

    def _refusal(self, reason: str, request_id: str) -> Reply:
        headers = [("Content-Type", "application/json")]
        if self.flavor == "http":
            status, message = HTTP_REFUSALS[reason]
            headers.append(("apigw-requestid", request_id))
            return status, headers, json.dumps({"message": message}).encode()
        status, body, error_type = REST_REFUSALS[reason]
        headers += [
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", error_type + "Exception"),
        ]
        return status, headers, json.dumps(body).encode()

    def _lambda_context(self, function: str) -> LambdaContext:
        arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{function}"
        return LambdaContext(function, arn, log_group_name=f"/aws/lambda/{function}")


def _refuse_renamed_siblings(routes: list[Route]) -> None:
    """API Gateway refuses ``/orders/{id}`` next to ``/orders/{orderId}/items``: a resource
    has one variable child at most ("A sibling ({id}) of this resource already has a
    variable path part")."""
    variable: dict[tuple[str, ...], str] = {}
    for route in routes:
        for n, segment in enumerate(route.segments):
            if segment.startswith("{") and not segment.endswith("+}"):
                seen = variable.setdefault(route.segments[:n], segment)
                if seen != segment:
                    raise ValueError(f"route {route.key!r}: {segment} next to sibling {seen}")
