"""Random and mutated events, bodies, headers and identities thrown at the broker handler.

Whatever arrives, and whatever the identity provider answers, the handler gives an
RFC 6749 answer with ``Cache-Control: no-store`` (never a 500 while its configuration
and secrets are sound, never a traceback in its log), hands a token only to a caller
with a grant (an oracle written out by hand below, apart from ``principal.py`` and
``grants.py``), and never lets a client secret into its answer or its log, nor a token
into its log.

Secrets Manager is moto's. The identity provider is a token endpoint at the transport
boundary that issues a fresh token per grant, remembers for which client and scopes,
and can be told to answer as a broken provider would.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets as random_secrets
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from token_broker.config import BrokerConfigSource
from token_broker.handler import Runtime, handle
from token_broker.secret_store import SecretStore
from token_broker.upstream import IdpClient
from tools.local.broker_harness import (
    ACCOUNT,
    MULTI,
    REPORTING,
    STRANGER,
    WORKER,
    put_secret,
    rest_event,
    url_event,
)

TOKEN_URL = "https://idp.test/oauth2/token"
SECRETS = {  # client -> (Secrets Manager name, client id, client secret)
    "orders-api": ("scopegate/orders-api", "orders-client", random_secrets.token_urlsafe(24)),
    "billing-api": ("scopegate/billing-api", "billing-client", random_secrets.token_urlsafe(24)),
}
CONFIG = {
    "clients": {
        "orders-api": {"secret": "scopegate/orders-api", "token_endpoint": TOKEN_URL},
        "billing-api": {
            "secret": "scopegate/billing-api",
            "token_endpoint": TOKEN_URL,
            "auth_method": "client_secret_post",
            "resource": "api://billing",
        },
    },
    "grants": [
        {
            "principal": f"arn:aws:iam::{ACCOUNT}:role/orders-worker",
            "client": "orders-api",
            "scopes": ["orders:read", "orders:write"],
        },
        {
            "principal": f"arn:aws:iam::{ACCOUNT}:role/reporting",
            "client": "orders-api",
            "scopes": ["orders:read"],
        },
        {
            "principal": f"arn:aws:iam::{ACCOUNT}:role/multi",
            "client": "orders-api",
            "scopes": ["orders:read"],
        },
        {
            "principal": f"arn:aws:iam::{ACCOUNT}:role/multi",
            "client": "billing-api",
            "scopes": ["billing:read"],
        },
        {
            "principal": f"arn:aws:iam::{ACCOUNT}:user/deploy",
            "client": "billing-api",
            "scopes": ["billing:read", "billing:write"],
        },
    ],
}

# The oracle, by hand: the exact caller strings a grant covers and what each may receive
# (a session name is not part of the identity, so another task of a role is the role).
WORKER_GRANTS = {"orders-api": {"orders:read", "orders:write"}}
MULTI_GRANTS = {"orders-api": {"orders:read"}, "billing-api": {"billing:read"}}
GRANTED = {
    WORKER: WORKER_GRANTS,
    f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-worker/another-task": WORKER_GRANTS,
    REPORTING: {"orders-api": {"orders:read"}},
    MULTI: MULTI_GRANTS,
    f"arn:aws:iam::{ACCOUNT}:user/deploy": {"billing-api": {"billing:read", "billing:write"}},
}
CALLERS = [
    WORKER,
    REPORTING,
    MULTI,
    STRANGER,
    f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-worker/another-task",
    f"arn:aws:iam::{ACCOUNT}:user/deploy",
    f"arn:aws:iam::{ACCOUNT}:role/orders-worker",  # a role itself never signs a request
    f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-worker2/task-1",  # a prefix is not a match
    f"arn:aws:sts::{ACCOUNT}:assumed-role/Orders-Worker/task-1",  # nor another case
    f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-worker",  # no session
    f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-worker/task/extra",
    "arn:aws:sts::999999999999:assumed-role/orders-worker/task-1",  # another account
    f"arn:aws:sts::{ACCOUNT}:federated-user/orders-worker",
    f"arn:aws:iam::{ACCOUNT}:root",
    f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/orders-worker/task-1",  # another partition
    f" {WORKER}",
    f"{WORKER}\n",
    "",
    "*",
]
SCOPES = ["orders:read", "orders:write", "billing:read", "billing:write", "admin", ""]
FIELDS = ["scope", "client", "resource", "audience", "grant_type", "junk"]
VALUES = [
    "orders-api",
    "billing-api",
    "api://billing",
    "api://orders",
    "orders:read orders:write",
    "orders:read  billing:read",
    "",
    "é",
    "a b\tc",
]
IDP_MODES = ["ok", "ok", "ok", "server_error", "rate_limited", "refused", "junk", "nested"]


def granted(caller: object) -> dict[str, set[str]]:
    """What the caller may receive, by client; nothing for any string not in ``GRANTED``."""
    return GRANTED.get(caller, {}) if isinstance(caller, str) else {}


class TokenEndpoint:
    """The identity provider's token endpoint as the broker's transport sees it."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.issued: dict[str, tuple[str, set[str]]] = {}  # token -> (client, scopes)

    def post_form(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        assert url == TOKEN_URL
        form = {k: v[0] for k, v in parse_qs(body.decode("ascii")).items()}
        client = self._client(form, headers)
        if self.mode == "server_error":
            return 500, {}, b"<html>down</html>"
        if self.mode == "rate_limited":
            return 429, {"retry-after": "7"}, b""
        if self.mode == "junk":
            return 200, {}, b'{"access_token": 5, "token_type": "mac"}'
        if self.mode == "nested":
            return 200, {}, b"[" * 50_000 + b"]" * 50_000
        if client is None or self.mode == "refused":
            return 400, {}, b'{"error": "invalid_scope", "error_description": "secret words"}'
        scopes = set(form.get("scope", "").split())
        token = f"at-{random_secrets.token_hex(8)}"
        self.issued[token] = (client, scopes)
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        return 200, {"content-type": "application/json"}, json.dumps(answer).encode()

    def get(self, url: str, timeout: float) -> tuple[int, Mapping[str, str], bytes]:
        raise AssertionError("every client has a token_endpoint: no discovery")

    @staticmethod
    def _client(form: dict[str, str], headers: Mapping[str, str]) -> str | None:
        scheme, _, encoded = headers.get("Authorization", "").partition(" ")
        if scheme == "Basic":
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        for name, (_, known_id, known_secret) in SECRETS.items():
            if (client_id, secret) == (known_id, known_secret):
                return name
        return None


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class World:
    def __init__(self, secrets: Any) -> None:
        self.secrets = secrets
        self.idp = TokenEndpoint()
        self.state = self.environment()
        self.log = Records()

    def environment(self) -> Runtime:
        """A broker execution environment, its token cache empty."""
        return Runtime(
            BrokerConfigSource({"BROKER_CONFIG": json.dumps(CONFIG)}),
            SecretStore(self.secrets),
            IdpClient(self.idp, sleep=lambda seconds: None, rng=lambda: 0.0),
        )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        for name, client_id, secret in SECRETS.values():
            put_secret(client, name, {"client_id": client_id, "client_secret": secret})
        world = World(client)
        root = logging.getLogger()  # the broker's loggers propagate to it, whatever its level
        root.addHandler(world.log)
        try:
            yield world
        finally:
            root.removeHandler(world.log)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def valid_bodies(draw: st.DrawFn) -> tuple[str | None, str | None, bool]:
    """(body, content type, base64-encoded) as a task would send it."""
    fields: dict[str, Any] = {}
    scopes = draw(st.lists(st.sampled_from(SCOPES[:-1]), max_size=2, unique=True))
    if bool(scopes) or draw(st.booleans()):
        fields["scope"] = " ".join(scopes)
    if draw(st.booleans()):
        fields["client"] = draw(st.sampled_from(["orders-api", "billing-api"]))
    if draw(st.booleans()):
        fields["resource"] = draw(st.sampled_from(["api://billing", "api://orders"]))
    if draw(st.booleans()):
        body = json.dumps(fields)
        content_type = draw(st.sampled_from(["application/json", "application/json; x=1", ""]))
    else:
        body = "&".join(f"{k}={v.replace(' ', '+')}" for k, v in fields.items())
        content_type = draw(st.sampled_from(["application/x-www-form-urlencoded", ""]))
    if draw(st.booleans()):  # function URLs base64-encode form bodies
        return base64.b64encode(body.encode()).decode(), content_type, True
    return body, content_type, False


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str | None, str | None, bool]:
    """(body, content type, base64-encoded): anything at all."""
    fields = draw(
        st.lists(
            st.tuples(
                st.sampled_from(FIELDS),
                st.sampled_from(SCOPES + VALUES) | st.text(max_size=12),
            ),
            max_size=4,
        )
    )
    how = draw(st.sampled_from(["form", "json", "json-list", "junk", "nested", "none", "big"]))
    content_type: str | None = draw(
        st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/json",
                "application/json; charset=utf-8",
                "text/plain",
                "",
                None,
            ]
        )
    )
    body: str | None
    if how == "form":
        body = "&".join(f"{k}={v}" for k, v in fields)
    elif how == "json":
        body = json.dumps(dict(fields))
    elif how == "json-list":
        body = json.dumps({k: v.split(" ") for k, v in fields})
    elif how == "nested":
        depth = draw(st.integers(1, 4000))
        body = '{"scope": ' + "[" * depth + "]" * depth + "}"
    elif how == "big":
        body = "scope=" + "a" * draw(st.integers(8000, 9000))
    elif how == "none":
        body = None
    else:
        body = draw(st.text(max_size=60))
    encoded = draw(st.booleans())
    if encoded and body is not None:
        body = draw(st.sampled_from([base64.b64encode(body.encode()).decode(), body + "!"]))
    return body, content_type, encoded


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """A task's well-formed request, the same from another identity or with one thing
    changed, or anything at all."""
    shape = draw(st.sampled_from(["valid", "identity", "mutated", "random"]))
    if shape == "random":
        caller = draw(st.sampled_from([*CALLERS, None]) | st.text(max_size=30))
        body, content_type, encoded = draw(bodies())
        method = draw(st.sampled_from(["POST", "GET", "post", ""]))
        path = draw(st.sampled_from(["/token", "/token/", "/", "/tokens"]))
    else:
        caller = draw(st.sampled_from(CALLERS if shape == "identity" else sorted(GRANTED)))
        body, content_type, encoded = draw(valid_bodies())
        method, path = "POST", "/token"
    if draw(st.booleans()):
        ev = rest_event(caller, None, content_type=content_type, method=method, path=path)
    else:
        ev = url_event(caller, None, content_type=content_type, method=method, path=path)
    ev["body"], ev["isBase64Encoded"] = body, encoded
    if shape == "mutated":
        what = draw(st.sampled_from(["caller", "body", "method", "path", "key"]))
        if what == "caller":
            caller = draw(st.sampled_from(CALLERS) | st.text(max_size=30))
            if ev.get("version") == "2.0":
                ev["requestContext"]["authorizer"] = {"iam": {"userArn": caller}}
            else:
                ev["requestContext"]["identity"]["userArn"] = caller
        elif what == "body":
            ev["body"], _, ev["isBase64Encoded"] = draw(bodies())
        elif what in ("method", "path"):
            value = draw(st.sampled_from(["GET", "PUT", "", "/", "/token/", "/Token"]))
            if ev.get("version") == "2.0":
                ev["requestContext"]["http"]["method" if what == "method" else "path"] = value
                ev["rawPath" if what == "path" else "x"] = value
            else:
                ev["httpMethod" if what == "method" else "resource"] = value
                if what == "path":
                    ev["requestContext"]["resourcePath"] = value
        else:
            where = draw(st.sampled_from(["top", "requestContext", "headers"]))
            target = ev if where == "top" else ev.get(where)
            if isinstance(target, dict):
                key = draw(st.sampled_from([*sorted(target), "x"]))
                if draw(st.booleans()):
                    target.pop(key, None)
                else:
                    target[key] = draw(json_values)
    return ev


def caller_of(ev: Mapping[str, Any]) -> object:
    """Where API Gateway and function URLs put the SigV4 identity (read independently)."""
    context = ev.get("requestContext")
    if not isinstance(context, dict):
        return None
    if ev.get("version") == "2.0":
        authorizer = context.get("authorizer")
        iam = authorizer.get("iam") if isinstance(authorizer, dict) else None
        return iam.get("userArn") if isinstance(iam, dict) else None
    identity = context.get("identity")
    return identity.get("userArn") if isinstance(identity, dict) else None


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=events(), mode=st.sampled_from(IDP_MODES), cold=st.booleans())
def test_the_broker_answers_every_event_safely(
    world: World, ev: dict[str, Any], mode: str, cold: bool
) -> None:
    world.idp.mode = mode
    world.log.records.clear()
    # A cold environment has no cached token, so the identity provider's answer counts.
    response = handle(world.environment() if cold else world.state, ev)

    assert isinstance(response["statusCode"], int)
    assert response["headers"]["Cache-Control"] == "no-store"
    body = json.loads(response["body"])
    status = response["statusCode"]
    assert status in (200, 400, 403, 404, 405, 502, 503), (status, body)
    if status != 200:
        assert set(body) == {"error", "error_description"}
    if status == 503:
        assert int(response["headers"]["Retry-After"]) >= 1

    records = world.log.records
    assert not [r for r in records if r.exc_info], "a traceback was logged"
    said = json.dumps(response) + "".join(json.dumps(r.__dict__, default=str) for r in records)
    for _, _, secret in SECRETS.values():
        assert secret not in said
    for token in world.idp.issued:
        logged = "".join(json.dumps(r.__dict__, default=str) for r in records)
        assert token not in logged

    if status == 200:
        allowed = granted(caller_of(ev))
        assert allowed, f"a token for a caller without a grant: {caller_of(ev)!r}"
        client, scopes = world.idp.issued[body["access_token"]]
        assert client in allowed
        assert scopes <= allowed[client]
        assert set(body["scope"].split()) <= allowed[client]
        assert body["token_type"] == "Bearer"


def test_granted_callers_really_get_tokens(world: World) -> None:
    """Guards the fuzz test against a broker that refuses everything."""
    world.idp.mode = "ok"
    for caller, want in [(WORKER, "orders:read"), (MULTI, "billing:read")]:
        response = handle(world.state, rest_event(caller, f"scope={want}"))
        assert response["statusCode"] == 200, response
        assert json.loads(response["body"])["scope"] == want
    response = handle(world.state, url_event(f"arn:aws:iam::{ACCOUNT}:user/deploy", ""))
    assert response["statusCode"] == 200, response
    assert handle(world.state, rest_event(STRANGER, "scope=orders:read"))["statusCode"] == 403
