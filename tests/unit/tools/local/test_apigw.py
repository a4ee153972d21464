"""The local API Gateway (tools/local/apigw.py) with the real authorizer in front of it.

Real keys and signed tokens (``LocalIssuer``), the route config of tools/demo-config.yaml,
and requests as a user of `make run` sends them: what matters is the status, the body API
Gateway writes, and what the backend is told.
"""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from authorizer.decision import Unauthorized
from authorizer.handler import Runtime, handle
from authorizer.sources import ConfigSource
from tests.support.issuer import ISSUER, LocalIssuer
from tests.support.paths import ROOT
from tools.local.apigw import EXPLICIT_DENY, IMPLICIT_DENY, Flavor, ProtectedApi
from tools.local.http_server import HttpServer, Reply, Request
from tools.local.iam import iam_verdict

DEMO_CONFIG = ROOT / "tools" / "demo-config.yaml"
# The API's routes: the HTTP routes of the config (a cached policy is promised to be right
# for every configured route: docs/authorizer.md, "Caching is safe").
ROUTES = [
    "GET /orders",
    "GET /orders/{id}",
    "POST /orders",
    "GET /orders/{id}/items",
    "ANY /admin/{proxy+}",
]
REQUESTS = [
    ("GET", "/orders"),
    ("GET", "/orders/42"),
    ("GET", "/orders/7"),
    ("POST", "/orders"),
    ("GET", "/orders/42/items"),
    ("GET", "/admin/users"),
    ("DELETE", "/admin/users/7"),
]
SCOPES = ["orders:read", "orders:write", "orders:read orders:write", "admin ops", "admin", ""]
FLAVORS: list[Flavor] = ["rest-token", "rest-request", "http"]


def config_text(http_api_response: str = "simple") -> str:
    text = DEMO_CONFIG.read_text().replace("http://127.0.0.1/replaced-at-run-time", ISSUER)
    return text.replace("http_api_response: simple", f"http_api_response: {http_api_response}")


def real_authorizer(idp: LocalIssuer, http_api_response: str = "simple") -> Any:
    runtime = Runtime(ConfigSource({"AUTHORIZER_CONFIG": config_text(http_api_response)}), idp)
    return lambda event, context: handle(runtime, event)


class Backend:
    """The API's function: records its events, echoes what the authorizer passed on."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        body = {"authorizer": event["requestContext"]["authorizer"]}
        body["route"] = event.get("routeKey") or f"{event['httpMethod']} {event['resource']}"
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body),
        }


def api(flavor: Flavor, idp: LocalIssuer | None = None, **options: Any) -> ProtectedApi:
    authorizer = options.pop("authorizer", None) or real_authorizer(
        idp or LocalIssuer(), "simple" if options.get("simple_responses", True) else "iam"
    )
    routes = options.pop("routes", ROUTES)
    return ProtectedApi(
        authorizer, options.pop("backend", Backend()), routes, flavor=flavor, **options
    )


def request(method: str, path: str, token: str | None = None, query: str = "") -> Request:
    headers = [("Host", "127.0.0.1"), ("User-Agent", "pytest")]
    if token is not None:
        headers.append(("Authorization", f"Bearer {token}"))
    return Request(method, path, query, headers, b"", "127.0.0.1")


def body(reply: Reply) -> Any:
    return json.loads(reply[2])


def header(reply: Reply, name: str) -> str | None:
    return next((v for k, v in reply[1] if k.lower() == name.lower()), None)


# -- each flavor: 200, 401, 403 -------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["rest-token", "rest-request"])
def test_rest_allows_granted_routes_and_refuses_as_api_gateway_does(flavor: Flavor) -> None:
    idp = LocalIssuer()
    gateway = api(flavor, idp)
    reader = idp.token("orders:read")
    assert gateway.serve(request("GET", "/orders/42", reader))[0] == 200

    denied = gateway.serve(request("POST", "/orders", reader))
    assert (denied[0], body(denied)) == (403, {"Message": EXPLICIT_DENY})
    assert header(denied, "x-amzn-ErrorType") == "AccessDeniedException"

    missing = gateway.serve(request("GET", "/orders/42"))
    assert (missing[0], body(missing)) == (401, {"message": "Unauthorized"})
    assert header(missing, "x-amzn-ErrorType") == "UnauthorizedException"
    expired = gateway.serve(request("GET", "/orders/42", idp.token(exp=1)))
    assert (expired[0], body(expired)) == (401, {"message": "Unauthorized"})


def test_rest_without_a_token_never_calls_the_authorizer() -> None:
    gateway = api("rest-token")
    assert gateway.serve(request("GET", "/orders"))[0] == 401
    empty = Request("GET", "/orders", "", [("Authorization", "")], b"", "127.0.0.1")
    assert gateway.serve(empty)[0] == 401
    assert gateway.authorizer_calls == 0


@pytest.mark.parametrize("simple", [True, False])
def test_http_api_allows_forbids_and_refuses(simple: bool) -> None:
    idp = LocalIssuer()
    gateway = api("http", idp, simple_responses=simple)
    assert gateway.serve(request("GET", "/orders/42", idp.token("orders:read")))[0] == 200
    forbidden = gateway.serve(request("POST", "/orders", idp.token("orders:read")))
    assert (forbidden[0], body(forbidden)) == (403, {"message": "Forbidden"})
    for reply in (
        gateway.serve(request("GET", "/orders/42")),
        gateway.serve(request("GET", "/orders/42", "not.a.jwt")),
    ):
        assert (reply[0], body(reply)) == (401, {"message": "Unauthorized"})
    assert gateway.authorizer_calls == 3  # not for the request without a token


# -- routing comes before authorization ------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nowhere"), ("DELETE", "/orders"), ("GET", "/admin")]
)
def test_rest_unknown_route_is_missing_authentication_token(method: str, path: str) -> None:
    idp = LocalIssuer()
    gateway = api("rest-token", idp)
    reply = gateway.serve(request(method, path, idp.token("admin ops orders:read")))
    assert (reply[0], body(reply)) == (403, {"message": "Missing Authentication Token"})
    assert header(reply, "x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert gateway.authorizer_calls == 0


def test_http_api_unknown_route_is_not_found() -> None:
    idp = LocalIssuer()
    gateway = api("http", idp)
    reply = gateway.serve(request("PUT", "/orders/42", idp.token()))
    assert (reply[0], body(reply)) == (404, {"message": "Not Found"})
    assert gateway.authorizer_calls == 0


def allow_everything(event: dict[str, Any], context: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}
    return {
        "principalId": "anyone",
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("GET", "/pets/dog/1", "GET /pets/dog/{id}"),  # the guide's example
        ("GET", "/pets/cat/1", "GET /pets/{proxy+}"),
        ("POST", "/test/5", "ANY /{proxy+}"),
        ("GET", "/pets/dog", "GET /pets/{proxy+}"),
        ("PATCH", "/pets/dog/1", "ANY /pets/dog/{id}"),
        ("DELETE", "/pets/dog/1", "ANY /pets/dog/{id}"),
    ],
)
def test_http_api_picks_the_most_specific_route(method: str, path: str, route: str) -> None:
    routes = ["GET /pets/dog/{id}", "ANY /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}"]
    gateway = api("http", authorizer=allow_everything, routes=routes, simple_responses=False)
    reply = gateway.serve(request(method, path, "t"))
    assert (reply[0], body(reply)["route"]) == (200, route)


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("GET", "/a/b", "GET /a/b"),  # a literal beats {param}
        ("GET", "/a/c", "GET /a/{x}"),  # {param} beats {proxy+}
        ("GET", "/a/c/d", "ANY /a/{proxy+}"),
        ("POST", "/a/c", "ANY /a/{x}"),  # the resource's ANY, not the parent's {proxy+}
        ("PUT", "/a/b", None),  # the resource /a/b has no PUT: no fallback to {proxy+}
        ("GET", "/a/b/c", None),  # /a/b/c is a resource (parent of a route) without methods
    ],
)
def test_rest_picks_the_most_specific_resource_then_its_method(
    method: str, path: str, route: str | None
) -> None:
    routes = ["GET /a/b", "GET /a/{x}", "ANY /a/{x}", "ANY /a/{proxy+}", "GET /a/b/c/d"]
    gateway = api("rest-token", authorizer=allow_everything, routes=routes)
    reply = gateway.serve(request(method, path, "t"))
    assert reply[0] == (200 if route else 403)
    if route:
        assert body(reply)["route"] == route.replace("ANY ", f"{method} ")


# -- what the backend is told ----------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["rest-token", "rest-request"])
def test_rest_backend_gets_principal_and_stringified_context(flavor: Flavor) -> None:
    idp = LocalIssuer()
    backend = Backend()
    gateway = api(flavor, idp, backend=backend)
    reply = gateway.serve(request("GET", "/orders/42", idp.token("orders:read"), "include=items"))
    assert reply[0] == 200
    event = backend.events[0]
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "client-1"
    assert (authorizer["sub"], authorizer["client_id"], authorizer["scope"]) == (
        "client-1",
        "client-1",
        "orders:read",
    )
    assert isinstance(authorizer["integrationLatency"], int)
    assert (event["resource"], event["pathParameters"]) == ("/orders/{id}", {"id": "42"})
    assert event["queryStringParameters"] == {"include": "items"}
    assert event["requestContext"]["path"] == "/prod/orders/42"


def test_rest_context_values_reach_the_backend_as_strings() -> None:
    def authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {**allow_everything(event, context), "context": {"n": 1, "ok": True, "s": "x"}}

    backend = Backend()
    api("rest-token", authorizer=authorizer, backend=backend).serve(request("GET", "/orders", "t"))
    authorizer_context = backend.events[0]["requestContext"]["authorizer"]
    assert {k: authorizer_context[k] for k in ("n", "ok", "s")} == {
        "n": "1",
        "ok": "true",
        "s": "x",
    }


def test_http_api_backend_gets_the_context_under_lambda() -> None:
    idp = LocalIssuer()
    backend = Backend()
    gateway = api("http", idp, backend=backend)
    assert gateway.serve(request("GET", "/admin/users/7", idp.token("admin ops")))[0] == 200
    event = backend.events[0]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "ANY /admin/{proxy+}"
    assert event["pathParameters"] == {"proxy": "users/7"}
    assert event["requestContext"]["authorizer"]["lambda"]["sub"] == "client-1"
    assert event["requestContext"]["stage"] == "$default"


def test_failing_backend_is_502_on_rest_and_500_on_http_apis() -> None:
    def crash(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom")

    rest = api("rest-token", authorizer=allow_everything, backend=crash).serve(
        request("GET", "/orders", "t")
    )
    assert (rest[0], body(rest)) == (502, {"message": "Internal server error"})
    http = api("http", authorizer=allow_everything, backend=crash, simple_responses=False)
    reply = http.serve(request("GET", "/orders", "t"))
    assert (reply[0], body(reply)) == (500, {"message": "Internal Server Error"})


# -- the result cache ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flavor", "simple"),
    [("rest-token", True), ("rest-request", True), ("http", True), ("http", False)],
)
def test_cached_answers_decide_every_route_as_fresh_ones_do(flavor: Flavor, simple: bool) -> None:
    """The promise that caching is safe: a policy cached for one route never decides another
    wrongly."""
    idp = LocalIssuer()
    tokens = [idp.token(scope) for scope in SCOPES] + [idp.token(exp=1), "not.a.jwt"]
    calls = [(token, method, path) for token in tokens for method, path in REQUESTS]
    fresh = api(flavor, idp, cache_ttl=0, simple_responses=simple)
    expected = {call: fresh.serve(request(call[1], call[2], call[0]))[0] for call in calls}
    assert fresh.cache_hits == 0
    assert set(expected.values()) == {200, 401, 403}

    by_token = sorted(calls, key=lambda call: tokens.index(call[0]))
    for order in (
        calls,
        list(reversed(calls)),
        by_token,
        random.Random(7).sample(calls, len(calls)),
    ):
        cached = api(flavor, idp, cache_ttl=300, simple_responses=simple)
        seen = {call: cached.serve(request(call[1], call[2], call[0]))[0] for call in order}
        assert seen == expected
        assert cached.cache_hits > 0


# The route shapes users meet most: a literal next to a {param} / {proxy+} sibling. API Gateway
# never routes the literal's path to the wildcard, so a cached policy can be exact for them.
SIBLING_ROUTES = [
    ("GET /orders/search", "search:use"),
    ("GET /orders/{id}", "orders:read"),
    ("GET /files/public", "public"),
    ("GET /files/{proxy+}", "files"),
    ("GET /admin/health", "health"),
    ("ANY /admin/{proxy+}", "admin"),
]
SIBLING_REQUESTS = [
    ("GET", "/orders/search"),
    ("GET", "/orders/42"),
    ("GET", "/files/public"),
    ("GET", "/files/a/b"),
    ("GET", "/files/public/x"),
    ("GET", "/admin/health"),
    ("POST", "/admin/health"),  # REST: the resource has no POST; HTTP API: ANY /admin/{proxy+}
    ("GET", "/admin/users"),
]


def sibling_authorizer(idp: LocalIssuer) -> Any:
    config = {
        "issuers": [{"issuer": ISSUER, "audiences": ["api://orders"]}],
        "routes": [{"route": route, "scopes": [scope]} for route, scope in SIBLING_ROUTES],
        "http_api_response": "iam",
    }
    runtime = Runtime(ConfigSource({"AUTHORIZER_CONFIG": json.dumps(config)}), idp)
    return lambda event, context: handle(runtime, event)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_literal_next_to_a_wildcard_route_is_answered_right_from_the_cache(
    flavor: Flavor,
) -> None:
    """A token with search:use first calls GET /orders/42 (403); its next call,
    GET /orders/search, must not be refused by the cached policy. Same for /files/public
    next to /files/{proxy+} and /admin/health next to ANY /admin/{proxy+}, in any order."""
    idp = LocalIssuer()
    scopes = [scope for _, scope in SIBLING_ROUTES]
    tokens = [idp.token(s) for s in [*scopes, "search:use orders:read", "public files", ""]]
    calls = [(token, method, path) for token in tokens for method, path in SIBLING_REQUESTS]
    routes = [route for route, _ in SIBLING_ROUTES]
    options: dict[str, Any] = {"routes": routes, "simple_responses": False}
    fresh = api(flavor, authorizer=sibling_authorizer(idp), cache_ttl=0, **options)
    expected = {call: fresh.serve(request(call[1], call[2], call[0]))[0] for call in calls}
    assert set(expected.values()) == {200, 403}
    search_only = tokens[0]
    assert expected[search_only, "GET", "/orders/search"] == 200
    for order in (calls, list(reversed(calls)), random.Random(13).sample(calls, len(calls))):
        cached = api(flavor, authorizer=sibling_authorizer(idp), cache_ttl=300, **options)
        seen = {call: cached.serve(request(call[1], call[2], call[0]))[0] for call in order}
        assert seen == expected
        assert cached.cache_hits > 0


def test_a_refused_route_beside_a_granted_literal_is_an_explicit_deny() -> None:
    """GET /orders/{id}'s pattern would refuse the granted /orders/search, so the policy
    leaves it out; the request itself still gets an explicit Deny (403 explicit deny)."""
    idp = LocalIssuer()
    routes = [route for route, _ in SIBLING_ROUTES]
    gateway = api("rest-token", authorizer=sibling_authorizer(idp), routes=routes)
    token = idp.token("search:use")
    denied = gateway.serve(request("GET", "/orders/42", token))
    assert (denied[0], body(denied)) == (403, {"Message": EXPLICIT_DENY})
    assert gateway.serve(request("GET", "/orders/search", token))[0] == 200
    assert gateway.cache_hits == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cached_answer_expires_after_the_ttl() -> None:
    idp = LocalIssuer()
    clock = Clock()
    gateway = api("rest-token", idp, cache_ttl=60, clock=clock)
    token = idp.token("orders:read")
    for path in ("/orders", "/orders/42"):
        assert gateway.serve(request("GET", path, token))[0] == 200
    assert (gateway.authorizer_calls, gateway.cache_hits) == (1, 1)
    clock.now += 59.9
    assert gateway.serve(request("POST", "/orders", token))[0] == 403  # the cached policy
    assert (gateway.authorizer_calls, gateway.cache_hits) == (1, 2)
    clock.now += 0.1
    assert gateway.serve(request("GET", "/orders", token))[0] == 200
    assert (gateway.authorizer_calls, gateway.cache_hits) == (2, 2)
    gateway.flush_cache()
    gateway.serve(request("GET", "/orders", token))
    assert gateway.authorizer_calls == 3


def test_cache_is_keyed_by_token_and_off_at_ttl_zero() -> None:
    idp = LocalIssuer()
    gateway = api("rest-token", idp)
    reader, writer = idp.token("orders:read"), idp.token("orders:write")
    assert gateway.serve(request("POST", "/orders", reader))[0] == 403
    assert gateway.serve(request("POST", "/orders", writer))[0] == 200
    assert gateway.authorizer_calls == 2
    uncached = api("rest-token", idp, cache_ttl=0)
    for _ in range(3):
        uncached.serve(request("GET", "/orders", reader))
    assert (uncached.authorizer_calls, uncached.cache_hits) == (3, 0)


def test_unauthorized_is_not_cached() -> None:
    gateway = api("rest-token")
    for _ in range(2):
        assert gateway.serve(request("GET", "/orders", "not.a.jwt"))[0] == 401
    assert (gateway.authorizer_calls, gateway.cache_hits) == (2, 0)


def test_concurrent_requests_share_the_cache() -> None:
    idp = LocalIssuer()
    gateway = api("rest-token", idp)
    token = idp.token("orders:read")
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda i: gateway.serve(request("GET", f"/orders/{i}", token))[0], range(64))
        )
    assert statuses == [200] * 64
    assert gateway.authorizer_calls + gateway.cache_hits == 64
    assert gateway.cache_hits > 0


# -- authorizer failures ---------------------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
def test_authorizer_error_is_500_and_never_200(flavor: Flavor) -> None:
    idp = LocalIssuer()
    real = real_authorizer(idp)
    failures = iter([KeyError("kid"), RuntimeError("Unauthorized: expired")])

    def flaky(event: dict[str, Any], context: Any) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return real(event, context)

    gateway = api(flavor, idp, authorizer=flaky)
    token = idp.token("orders:read")
    for _ in range(2):  # neither failure is cached: the third request reaches the authorizer
        reply = gateway.serve(request("GET", "/orders", token))
        expected = {"message": "Internal Server Error"} if flavor == "http" else {"message": None}
        assert (reply[0], body(reply)) == (500, expected)
    if flavor != "http":
        assert header(reply, "x-amzn-ErrorType") == "AuthorizerConfigurationException"
    assert gateway.serve(request("GET", "/orders", token))[0] == 200
    assert gateway.authorizer_calls == 3


def test_unauthorized_message_is_what_makes_a_401() -> None:
    assert str(Unauthorized()) == "Unauthorized"

    def refuse(event: dict[str, Any], context: Any) -> Any:
        raise Exception("Unauthorized")  # what a Node authorizer's callback("Unauthorized") is

    assert api("rest-token", authorizer=refuse).serve(request("GET", "/orders", "t"))[0] == 401


@pytest.mark.parametrize(
    "answer",
    [
        {"policyDocument": allow_everything({}, None)["policyDocument"]},  # no principalId
        {"principalId": "p"},  # no policy
        {"principalId": "p", "policyDocument": {"Statement": [{"Effect": "Allow", "Action": "*"}]}},
        {
            "principalId": "p",
            "policyDocument": {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]},
        },
        {
            "principalId": "p",
            "policyDocument": {"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]},
        },
        {**allow_everything({}, None), "context": {"groups": ["a", "b"]}},  # REST: scalars only
        {**allow_everything({}, None), "context": "sub=1"},
        "Allow",
    ],
)
def test_malformed_answer_is_500_and_not_cached(answer: Any) -> None:
    gateway = api("rest-token", authorizer=lambda event, context: answer)
    for _ in range(2):
        reply = gateway.serve(request("GET", "/orders", "t"))
        assert (reply[0], header(reply, "x-amzn-ErrorType")) == (
            500,
            "AuthorizerConfigurationException",
        )
    assert gateway.authorizer_calls == 2


@pytest.mark.parametrize(
    "answer", [{"isAuthorized": "true"}, {"isAuthorized": 1}, allow_everything({}, None)]
)
def test_http_api_simple_response_must_be_a_boolean(answer: Any) -> None:
    gateway = api("http", authorizer=lambda event, context: answer)
    reply = gateway.serve(request("GET", "/orders", "t"))
    assert (reply[0], body(reply)) == (500, {"message": "Internal Server Error"})


# -- the IAM evaluator -----------------------------------------------------------------------

ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/orders/42"


def policy(*statements: tuple[str, Any]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": e, "Action": "execute-api:Invoke", "Resource": r} for e, r in statements
        ],
    }


def test_explicit_deny_wins_over_any_allow() -> None:
    assert iam_verdict(policy(("Allow", "*"), ("Deny", ARN)), ARN) == "explicit_deny"
    assert iam_verdict(policy(("Deny", "*/GET/orders/*"), ("Allow", ARN)), ARN) == "explicit_deny"
    assert iam_verdict(policy(("Allow", [ARN]), ("Deny", ARN + "/items")), ARN) == "allow"


def test_no_allow_is_an_implicit_deny() -> None:
    assert iam_verdict(policy(), ARN) == "implicit_deny"
    assert iam_verdict(policy(("Allow", ARN + "/*")), ARN) == "implicit_deny"
    other_action = {
        "Statement": {"Effect": "Allow", "Action": "execute-api:ManageConnections", "Resource": "*"}
    }
    assert iam_verdict(other_action, ARN) == "implicit_deny"


def test_iam_wildcards() -> None:
    prefix = ARN.rsplit("/GET/", 1)[0]
    assert iam_verdict(policy(("Allow", prefix + "/GET/orders/*")), ARN) == "allow"
    assert iam_verdict(policy(("Allow", prefix + "/GET/orders/4?")), ARN) == "allow"
    assert iam_verdict(policy(("Allow", prefix + "/GET/orders/?")), ARN) == "implicit_deny"
    assert iam_verdict(policy(("Allow", prefix + "/*/orders/42")), ARN) == "allow"  # * spans /
    assert iam_verdict(policy(("Allow", prefix.upper() + "/GET/orders/42")), ARN) == "implicit_deny"
    action_case = {"Statement": [{"Effect": "Allow", "Action": "Execute-API:*", "Resource": "*"}]}
    assert iam_verdict(action_case, ARN) == "allow"  # actions are case-insensitive


@pytest.mark.parametrize(
    "document",
    [
        None,
        {},
        {"Statement": "Allow"},
        {"Statement": [{"Effect": "Allow", "Resource": "*"}]},
        policy(("Allow", 7)),
    ],
)
def test_malformed_policies_are_refused(document: Any) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        iam_verdict(document, ARN)


def test_conditions_are_refused_rather_than_ignored() -> None:
    document = policy(("Allow", "*"))
    document["Statement"][0]["Condition"] = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    with pytest.raises(ValueError, match="unsupported statement"):
        iam_verdict(document, ARN)


def test_implicit_deny_text_on_rest() -> None:
    def narrow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"principalId": "p", "policyDocument": policy(("Allow", event["methodArn"] + "/x"))}

    reply = api("rest-token", authorizer=narrow).serve(request("GET", "/orders", "t"))
    assert (reply[0], body(reply)) == (403, {"Message": IMPLICIT_DENY})


# -- over real HTTP --------------------------------------------------------------------------


def test_served_over_http_on_loopback() -> None:
    idp = LocalIssuer()
    gateway = api("rest-token", idp)
    with HttpServer(gateway.serve) as server:
        ok = urllib.request.Request(
            server.base_url + "/orders/42", headers={"Authorization": f"Bearer {idp.token()}"}
        )
        with urllib.request.urlopen(ok, timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["route"] == "GET /orders/{id}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.base_url + "/orders/42", timeout=10)
        assert refused.value.code == 401
        assert refused.value.headers["x-amzn-ErrorType"] == "UnauthorizedException"
        assert json.loads(refused.value.read()) == {"message": "Unauthorized"}


def test_sibling_path_variables_with_different_names_are_refused_as_api_gateway_does() -> None:
    def never(event: dict[str, Any], context: Any) -> Any:
        raise AssertionError("not called")

    with pytest.raises(ValueError, match="sibling"):
        ProtectedApi(never, never, ["GET /orders/{orderId}/items", "GET /orders/{id}"])
    ProtectedApi(never, never, ["GET /orders/{id}/items", "GET /orders/{id}"])  # one name: fine
