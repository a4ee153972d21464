"""The handler end to end for every API type, with real keys and signed tokens.

Each test reads as API Gateway sees it: 401 when ``Unauthorized`` is raised, 403 when the
returned policy denies the request's ARN, 200 when it allows it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from authorizer.decision import Unauthorized
from authorizer.handler import Runtime, handle
from authorizer.sources import ConfigSource
from tests.support.issuer import AUDIENCE, ISSUER, LocalIssuer
from tests.support.paths import ROOT
from tools.local.iam import iam_allows

EVENTS = ROOT / "events"
PREFIX = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod"
CONFIG: dict[str, Any] = {
    "issuers": [{"issuer": ISSUER, "audiences": [AUDIENCE], "algorithms": ["RS256", "ES256"]}],
    "routes": [
        {"route": "GET /orders", "scopes": ["orders:read"]},
        {"route": "GET /orders/{id}", "scopes": ["orders:read"]},
        {"route": "POST /orders", "scopes": ["orders:write"]},
        {"route": "ANY /admin/{proxy+}", "all_scopes": ["admin", "ops"]},
        {"route": "$connect", "scopes": ["ws:connect"]},
    ],
    "context_claims": ["sub", "client_id", "scope", "groups", "n", "ok", "obj"],
}


def runtime(idp: LocalIssuer, **changes: Any) -> Runtime:
    return Runtime(ConfigSource({"AUTHORIZER_CONFIG": json.dumps({**CONFIG, **changes})}), idp)


def event(kind: str, token: str | None, method: str = "GET", path: str = "/orders/42") -> Any:
    name = {
        "rest_token": "rest-token",
        "rest_request": "rest-request",
        "http_v1": "http-v1",
        "http_v2": "http-v2",
        "websocket": "websocket-connect",
    }[kind]
    ev = with_token(json.loads((EVENTS / f"authorizer-{name}.json").read_text()), token or "")
    arn = f"{PREFIX}/$connect" if kind == "websocket" else f"{PREFIX}/{method}{path}"
    ev["routeArn" if kind == "http_v2" else "methodArn"] = arn
    if token is None:
        ev.pop("authorizationToken", None)
        for key in ("headers", "multiValueHeaders"):
            if isinstance(ev.get(key), dict):
                ev[key] = {k: v for k, v in ev[key].items() if k.lower() != "authorization"}
    return ev


def with_token(value: Any, token: str) -> Any:
    """Put ``token`` wherever the sample event has its placeholder."""
    if isinstance(value, dict):
        return {k: with_token(v, token) for k, v in value.items()}
    if isinstance(value, list):
        return [with_token(v, token) for v in value]
    if isinstance(value, str):
        return value.replace("REPLACE_WITH_TOKEN", token)
    return value


def status(state: Runtime, ev: Any) -> int:
    """What API Gateway would answer: 401, 403 or 200."""
    try:
        response = handle(state, ev)
    except Unauthorized:
        return 401
    if "isAuthorized" in response:
        return 200 if response["isAuthorized"] else 403
    arn = ev.get("routeArn") or ev["methodArn"]
    return 200 if iam_allows(response["policyDocument"], arn) else 403


IAM_KINDS = ["rest_token", "rest_request", "http_v1", "http_v2"]


@pytest.mark.parametrize("kind", IAM_KINDS)
def test_scoped_token_is_allowed_on_its_route_and_forbidden_elsewhere(kind: str) -> None:
    idp = LocalIssuer()
    state = runtime(idp, http_api_response="iam")
    token = idp.token("orders:read")
    assert status(state, event(kind, token, "GET", "/orders/42")) == 200
    assert status(state, event(kind, token, "POST", "/orders")) == 403
    assert status(state, event(kind, token, "GET", "/admin/users")) == 403
    assert status(state, event(kind, token, "GET", "/unknown")) == 403


@pytest.mark.parametrize("kind", IAM_KINDS)
@pytest.mark.parametrize(
    "path", ["/files/a/", "/files//a", "/orders/42/", "/orders//42", "/unknown", "/admin"]
)
def test_a_request_no_route_serves_is_refused_without_refusing_the_token_elsewhere(
    kind: str, path: str
) -> None:
    """API Gateway caches the answer for the token: a Deny for the whole stage would refuse
    its every call until the entry expires. The policy refuses exactly the request."""
    idp = LocalIssuer()
    files = {"route": "GET /files/{proxy+}", "scopes": ["files:read"]}
    state = runtime(idp, http_api_response="iam", routes=[*CONFIG["routes"], files])
    token = idp.token("orders:read files:read")
    response = handle(state, event(kind, token, "GET", path))
    document = response["policyDocument"]
    assert not iam_allows(document, f"{PREFIX}/GET{path}")
    assert f"{PREFIX}/*" not in [r for s in document["Statement"] for r in s["Resource"]]
    assert iam_allows(document, f"{PREFIX}/GET/files/a")  # the cached copy still allows
    assert iam_allows(document, f"{PREFIX}/GET/orders/42")
    assert iam_allows(document, f"{PREFIX}/GET/orders")
    assert not iam_allows(document, f"{PREFIX}/POST/orders")


@pytest.mark.parametrize("kind", IAM_KINDS)
def test_missing_or_bad_token_is_unauthorized(kind: str) -> None:
    idp = LocalIssuer()
    state = runtime(idp)
    assert status(state, event(kind, None)) == 401
    assert status(state, event(kind, "not.a.jwt")) == 401
    assert status(state, event(kind, idp.token(exp=1))) == 401


def test_http_api_simple_responses() -> None:
    idp = LocalIssuer()
    state = runtime(idp)
    response = handle(state, event("http_v2", idp.token("orders:read")))
    assert response["isAuthorized"] is True
    assert response["context"]["sub"] == "client-1"
    assert handle(state, event("http_v2", idp.token("orders:write")))["isAuthorized"] is False


def test_websocket_connect_needs_its_scope() -> None:
    idp = LocalIssuer()
    state = runtime(idp)
    assert status(state, event("websocket", idp.token("ws:connect"))) == 200
    assert status(state, event("websocket", idp.token("orders:read"))) == 403
    assert status(state, event("websocket", None)) == 401


@pytest.mark.parametrize("header", ["Bearer {t}", "bearer {t}", "BEARER {t}", "{t}"])
def test_bearer_scheme_is_optional_and_case_insensitive(header: str) -> None:
    idp = LocalIssuer()
    ev = event("rest_request", None)
    ev["headers"]["Authorization"] = header.format(t=idp.token())
    assert status(runtime(idp), ev) == 200


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer a b", "Token x y"])
def test_other_authorization_schemes_are_unauthorized(header: str) -> None:
    ev = event("rest_request", None)
    ev["headers"]["Authorization"] = header
    assert status(runtime(LocalIssuer()), ev) == 401


def test_principal_is_sub_and_context_is_flattened() -> None:
    idp = LocalIssuer()
    token = idp.token(
        "orders:read orders:write", sub="user-7", groups=["a", "b"], n=3, ok=True, obj={"x": [1]}
    )
    response = handle(runtime(idp), event("rest_token", token))
    assert response["principalId"] == "user-7"
    assert response["context"] == {
        "sub": "user-7",
        "client_id": "client-1",
        "scope": "orders:read orders:write",
        "groups": "a b",
        "n": 3,
        "ok": True,
        "obj": '{"x":[1]}',
    }


def test_cached_policy_answers_other_routes_exactly() -> None:
    idp = LocalIssuer()
    policy = handle(runtime(idp), event("rest_token", idp.token("orders:read")))["policyDocument"]
    assert iam_allows(policy, f"{PREFIX}/GET/orders")
    assert iam_allows(policy, f"{PREFIX}/GET/orders/7")
    assert not iam_allows(policy, f"{PREFIX}/POST/orders")
    assert not iam_allows(policy, f"{PREFIX}/DELETE/admin/x")
    assert not iam_allows(policy, f"{PREFIX}/GET/orders/7/secret")
    assert not iam_allows(policy, PREFIX.replace("/prod", "/dev") + "/GET/orders")


def test_broken_config_denies_every_request_with_one_error_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    idp = LocalIssuer()
    state = Runtime(ConfigSource({"AUTHORIZER_CONFIG": "{not json"}), idp)
    with caplog.at_level(logging.INFO):
        for kind in IAM_KINDS:
            assert status(state, event(kind, idp.token())) == 403
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "not valid JSON" in errors[0].getMessage() + json.dumps(errors[0].__dict__, default=str)
    assert not any(r.exc_info for r in caplog.records)


def test_a_refused_token_is_named_in_the_log_only_when_its_signature_verified(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Expired or wrongly addressed, a signed token says who it is; a forged one names
    nobody (its claims are anyone's words). The client id is the provider's claim."""
    idp = LocalIssuer()
    okta = {**CONFIG["issuers"][0], "provider": "okta"}
    state = runtime(idp, issuers=[okta])
    expired = idp.token("orders:read", exp=1_000_000, cid="0oa-orders", jti="AT.1")
    foreign = idp.token("orders:read", aud="api://billing", cid="0oa-billing")
    forged = idp.token("orders:read", cid="0oa-forged")
    forged = forged[:-4] + ("AAAA" if not forged.endswith("AAAA") else "BBBB")
    with caplog.at_level(logging.INFO):
        for token in (expired, foreign, forged):
            with pytest.raises(Unauthorized):
                handle(state, event("rest_token", token))
        handle(state, event("rest_token", idp.token(None, scp=["orders:read"], cid="0oa-orders")))
    lines = [vars(r)["fields"] for r in caplog.records if r.getMessage() == "decision"]
    named = ("reason", "iss", "sub", "client_id", "jti", "kid")
    assert [tuple(x.get(k) for k in named) for x in lines[:2]] == [
        ("expired", ISSUER, "client-1", "0oa-orders", "AT.1", "k1"),
        ("audience_mismatch", ISSUER, "client-1", "0oa-billing", "jti-1", "k1"),
    ]
    assert lines[2]["reason"] == "signature_invalid"
    assert not {"iss", "sub", "client_id", "jti", "kid"} & set(lines[2])
    assert (lines[3]["decision"], lines[3]["client_id"]) == ("allow", "0oa-orders")


def test_decision_log_line_names_the_reason_and_never_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    idp = LocalIssuer()
    state = runtime(idp)
    token = idp.token("orders:read")
    bad = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with caplog.at_level(logging.INFO):
        handle(state, event("rest_token", token, "POST", "/orders"))
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            handle(state, event("rest_token", bad))
    lines = [vars(r)["fields"] for r in caplog.records if r.getMessage() == "decision"]
    assert [(x["decision"], x["reason"]) for x in lines] == [
        ("deny", "scope_missing"),
        ("unauthenticated", "signature_invalid"),
    ]
    assert lines[0]["sub"] == "client-1"
    assert lines[0]["kid"] == "k1"
    assert lines[0]["route"] == "POST /orders"
    text = json.dumps([r.__dict__ for r in caplog.records], default=str)
    for part in token.split(".") + bad.split("."):
        assert part not in text


def test_each_decision_is_counted_by_effect_and_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The metrics docs/operations.md names (and the template's alarms read): Allow, Deny
    and Unauthenticated, each with its reason, published as EMF when flushed."""
    from authorizer import handler

    monkeypatch.setattr(handler.metrics, "enabled", True)
    handler.metrics.flush()  # counts of earlier tests are not this test's
    capsys.readouterr()
    idp = LocalIssuer()
    state = runtime(idp)
    token = idp.token("orders:read")
    assert status(state, event("rest_token", token)) == 200
    assert status(state, event("rest_token", token, "POST", "/orders")) == 403
    assert status(state, event("rest_token", idp.token(exp=1))) == 401
    handler.metrics.flush()
    counted: dict[tuple[str, str | None], list[float]] = {}
    for line in capsys.readouterr().out.splitlines():
        emf = json.loads(line)
        (metric,) = emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        if metric["Name"] != "JwksFetch":  # the key fetch, counted when it happens
            counted[metric["Name"], emf.get("reason")] = emf[metric["Name"]]
    assert counted == {
        ("Allow", "granted"): [1.0],
        ("Deny", "scope_missing"): [1.0],
        ("Unauthenticated", "expired"): [1.0],
    }


@pytest.mark.parametrize("depth", [1, 254, 1023, 5000])
@pytest.mark.parametrize("part", ["header", "payload"])
def test_deeply_nested_token_json_is_unauthorized_not_an_error(depth: int, part: str) -> None:
    """JSON nested at any depth in a token's header or payload is read (or refused) like
    any other: the answer is 401 with a reason, never an exception (API Gateway's 500)."""
    from tests.support.signing import b64url

    idp = LocalIssuer()
    state = runtime(idp)
    header, payload, signature = idp.token("orders:read").split(".")
    deep = b'"d":' + b"[" * depth + b"]" * depth
    if part == "header":
        header = b64url(b'{"alg":"RS256","kid":"k1",' + deep + b"}")
    else:
        payload = b64url(b'{"sub":"x",' + deep + b"}")
    assert status(state, event("rest_token", f"{header}.{payload}.{signature}")) == 401
