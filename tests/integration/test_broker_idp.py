"""The token broker end to end: real identity provider (oidc-provider), Secrets Manager
from moto, events as API Gateway and function URLs deliver them.

Every row of the error table of the wire contract (docs/broker.md) is exercised here, with
the identity provider's own counters and request log as the witness of what the broker
really sent.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from authorizer.config import validate
from authorizer.fetch import HttpJsonFetcher
from authorizer.verifier import Verifier
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
    call,
    put_secret,
    rest_event,
    runtime,
    url_event,
)
from tools.local.idp import ORDERS_API, IdentityProvider

ORDERS_SECRET = "scopegate/orders-api"
ADMIN_SECRET = "scopegate/admin-api"


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def broker_doc(idp: IdentityProvider, **orders: Any) -> dict[str, Any]:
    return {
        "clients": {
            "orders-api": {
                "secret": ORDERS_SECRET,
                "issuer": idp.issuer,  # token endpoint by OIDC discovery
                "resource": ORDERS_API,
                **orders,
            },
            "admin-api": {
                "secret": ADMIN_SECRET,
                "token_endpoint": idp.token_endpoint,
                "resource": ORDERS_API,
            },
        },
        "grants": [
            {  # a path in the grant's role ARN is ignored for matching
                "principal": f"arn:aws:iam::{ACCOUNT}:role/service/orders-worker",
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
                "client": "admin-api",
                "scopes": ["admin", "ops"],
            },
        ],
        "min_remaining_seconds": 60,
    }


def seed(idp: IdentityProvider, secrets: Any) -> None:
    put_secret(
        secrets,
        ORDERS_SECRET,
        {"client_id": "writer", "client_secret": idp.client_secret("writer")},
    )
    put_secret(
        secrets, ADMIN_SECRET, {"client_id": "admin", "client_secret": idp.client_secret("admin")}
    )


@pytest.fixture
def broker(idp: IdentityProvider, secrets: Any) -> Callable[..., Any]:
    """A fresh broker runtime against the shared IdP (its counters reset)."""
    seed(idp, secrets)

    def make(**orders: Any) -> Any:
        idp.reset_stats()
        return runtime(broker_doc(idp, **orders), secrets)

    return make


def claims_of(idp: IdentityProvider, token: str) -> dict[str, Any]:
    """Verified with scopegate's own authorizer verifier against the IdP's JWKS."""
    config = validate(
        {
            "issuers": [{"issuer": idp.issuer, "audiences": [ORDERS_API]}],
            "routes": [{"route": "GET /x", "scopes": ["orders:read"]}],
        }
    )
    verified = Verifier(config.issuers, HttpJsonFetcher()).verify(token)
    return dict(verified.claims)


# --- issuing -----------------------------------------------------------------------------


def test_task_role_gets_a_real_token_with_all_granted_scopes(
    idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    answer = call(broker(), rest_event(WORKER, ""))
    assert answer.status == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Pragma"] == "no-cache"
    assert answer.body["token_type"] == "Bearer"
    assert answer.body["scope"] == "orders:read orders:write"
    assert 290 <= answer.body["expires_in"] <= 300
    claims = claims_of(idp, answer.body["access_token"])
    assert claims["client_id"] == "writer"
    assert claims["aud"] == ORDERS_API
    assert set(claims["scope"].split()) == {"orders:read", "orders:write"}


def test_scope_down_asks_the_idp_for_the_requested_scopes_only(
    idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    answer = call(broker(), rest_event(WORKER, "scope=orders%3Aread"))
    assert answer.status == 200
    assert answer.body["scope"] == "orders:read"
    assert claims_of(idp, answer.body["access_token"])["scope"] == "orders:read"


def test_json_base64_and_function_url_requests_are_served(
    idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    state = broker()
    body = json.dumps({"scope": ["orders:read"], "resource": ORDERS_API, "extra": 1})
    as_json = call(state, rest_event(REPORTING, body, content_type="application/json"))
    encoded = call(state, rest_event(REPORTING, "scope=orders:read", base64_encoded=True))
    via_url = call(state, url_event(REPORTING, "scope=orders:read"))
    assert [a.status for a in (as_json, encoded, via_url)] == [200, 200, 200]
    assert as_json.body["access_token"] == encoded.body["access_token"]
    assert via_url.body["access_token"] == as_json.body["access_token"]


def test_one_idp_call_serves_many_requests_for_one_grant(
    idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    state = broker()
    answers = [call(state, rest_event(WORKER, "scope=orders:read")) for _ in range(200)]
    assert {a.status for a in answers} == {200}
    assert len({a.body["access_token"] for a in answers}) == 1
    assert all(a.body["expires_in"] <= answers[0].body["expires_in"] for a in answers)
    # The scope order does not matter to the cache key.
    both = "scope=orders:write+orders:read"
    assert call(state, rest_event(WORKER, both)).status == 200
    assert call(state, rest_event(WORKER, "scope=orders:read orders:write")).status == 200
    assert idp.stats()["token_requests"] == 2


def test_tokens_too_close_to_expiry_are_replaced(
    idp_factory: Callable[..., IdentityProvider], secrets: Any
) -> None:
    from tools.local.idp import default_resources

    short = idp_factory(resources=default_resources(ttl=70))
    seed(short, secrets)
    state = runtime(broker_doc(short), secrets)
    first = call(state, rest_event(WORKER, "scope=orders:read"))
    assert first.status == 200
    assert first.body["expires_in"] >= 60  # a fresh token is always handed out
    clock = state.clock
    state.clock = lambda: clock() + 15  # 55 s left: under min_remaining_seconds
    state.broker = None  # rebuild with the shifted clock
    second = call(state, rest_event(WORKER, "scope=orders:read"))
    assert second.status == 200
    assert second.body["access_token"] != first.body["access_token"]
    assert short.stats()["token_requests"] == 2


# --- refusals: the error table -------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "body", "status", "error", "says"),
    [
        (None, "", 403, "access_denied", "no caller identity"),
        (STRANGER, "", 403, "access_denied", "has no grant"),
        (f"arn:aws:iam::{ACCOUNT}:root", "", 403, "access_denied", "not an assumed role"),
        (REPORTING, "client=admin-api", 403, "access_denied", "no grant for client"),
        (REPORTING, "scope=orders:write+admin", 400, "invalid_scope", "admin orders:write"),
        (REPORTING, "resource=api://billing", 400, "invalid_target", "resource"),
        (REPORTING, "audience=api://billing", 400, "invalid_target", "audience"),
        (REPORTING, "scope=a&scope=b", 400, "invalid_request", "more than once"),
        (REPORTING, "scope=bad%22scope", 400, "invalid_request", "malformed scope"),
        (MULTI, "", 400, "invalid_request", "admin-api, orders-api"),
    ],
)
def test_refusals_follow_the_error_table(
    broker: Callable[..., Any],
    idp: IdentityProvider,
    caller: str | None,
    body: str,
    status: int,
    error: str,
    says: str,
) -> None:
    answer = call(broker(), rest_event(caller, body))
    assert (answer.status, answer.error) == (status, error)
    assert says in answer.body["error_description"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert "access_token" not in answer.body
    assert idp.stats()["token_requests"] == 0


def test_identity_is_checked_before_the_body_is_read(broker: Callable[..., Any]) -> None:
    answer = call(broker(), rest_event(STRANGER, "{broken", content_type="application/json"))
    assert (answer.status, answer.error) == (403, "access_denied")


def test_malformed_json_body_is_invalid_request(broker: Callable[..., Any]) -> None:
    answer = call(broker(), rest_event(WORKER, "{broken", content_type="application/json"))
    assert (answer.status, answer.error) == (400, "invalid_request")


def test_multi_grant_caller_picks_by_client_or_by_covering_scopes(
    idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    state = broker()
    by_client = call(state, rest_event(MULTI, "client=admin-api"))
    by_scope = call(state, rest_event(MULTI, "scope=admin"))
    assert (by_client.status, by_client.body["scope"]) == (200, "admin ops")
    assert (by_scope.status, by_scope.body["scope"]) == (200, "admin")
    assert claims_of(idp, by_scope.body["access_token"])["client_id"] == "admin"


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/token", 405), ("POST", "/other", 404)]
)
def test_only_post_token_is_served(
    broker: Callable[..., Any], method: str, path: str, status: int
) -> None:
    answer = call(broker(), rest_event(WORKER, "", method=method, path=path))
    assert answer.status == status
    assert answer.headers["Cache-Control"] == "no-store"
    if status == 405:
        assert answer.headers["Allow"] == "POST"


def test_broken_config_is_server_error_with_one_error_log(
    idp: IdentityProvider, secrets: Any, caplog: pytest.LogCaptureFixture
) -> None:
    doc = broker_doc(idp)
    doc["grants"][0]["client"] = "nope"
    state = runtime(doc, secrets)
    with caplog.at_level(logging.INFO):
        answers = [call(state, rest_event(WORKER, "")) for _ in range(3)]
    assert {(a.status, a.error) for a in answers} == {(500, "server_error")}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "'nope' is not one of the clients" in json.dumps(errors[0].__dict__, default=str)
    assert not any(r.exc_info for r in caplog.records)


class _ThrottledSsm:
    def get_parameter(self, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        raise ClientError(error, "GetParameter")


def test_ssm_unreachable_before_any_good_load_is_503_not_a_broken_config(
    secrets: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An outage of SSM is not the operator's mistake: 503 with Retry-After, no ERROR."""
    source = BrokerConfigSource(
        {"BROKER_CONFIG_PARAMETER": "/scopegate/broker"}, ssm_client=_ThrottledSsm()
    )
    state = Runtime(source, SecretStore(secrets), IdpClient())
    with caplog.at_level(logging.INFO):
        answers = [call(state, rest_event(WORKER, "")) for _ in range(2)]
    assert {(a.status, a.error) for a in answers} == {(503, "temporarily_unavailable")}
    assert answers[0].headers["Retry-After"] == "5"
    assert "ThrottlingException" in answers[0].body["error_description"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    ("secret_value", "says"),
    [
        (None, "cannot be read: ResourceNotFoundException"),
        ("not json", "is not a JSON object"),
        ({"client_secret": "x"}, "has no client_id"),
    ],
)
def test_missing_or_broken_secret_is_server_error(
    idp: IdentityProvider, secrets: Any, secret_value: Any, says: str
) -> None:
    if secret_value is not None:
        text = secret_value if isinstance(secret_value, str) else json.dumps(secret_value)
        secrets.create_secret(Name=ORDERS_SECRET, SecretString=text)
    answer = call(runtime(broker_doc(idp), secrets), rest_event(WORKER, ""))
    assert (answer.status, answer.error) == (500, "server_error")
    assert says in answer.body["error_description"]


def test_idp_refusing_the_grant_is_upstream_error(idp: IdentityProvider, secrets: Any) -> None:
    # The broker grants a scope the IdP does not allow this client: the IdP refuses.
    put_secret(secrets, ORDERS_SECRET, {"client_id": "reader", "client_secret": "x"})
    put_secret(
        secrets,
        ORDERS_SECRET,
        {"client_id": "reader", "client_secret": idp.client_secret("reader")},
    )
    answer = call(runtime(broker_doc(idp), secrets), rest_event(WORKER, "scope=orders:write"))
    assert (answer.status, answer.error) == (502, "upstream_error")
    assert "invalid_scope" in answer.body["error_description"]


# --- the identity provider down ----------------------------------------------------------


def test_idp_down_serves_cached_tokens_and_refuses_new_ones_with_503(
    idp_factory: Callable[..., IdentityProvider], secrets: Any
) -> None:
    private = idp_factory()
    seed(private, secrets)
    state = runtime(broker_doc(private), secrets, timeout=0.5)
    cached = call(state, rest_event(WORKER, "scope=orders:read"))
    private.stop()
    again = call(state, rest_event(WORKER, "scope=orders:read"))
    assert again.status == 200
    assert again.body["access_token"] == cached.body["access_token"]
    other = call(state, rest_event(WORKER, "scope=orders:write"))
    assert (other.status, other.error) == (503, "temporarily_unavailable")
    assert int(other.headers["Retry-After"]) >= 1


def test_idp_down_without_a_cached_token_is_503_on_a_fresh_broker(
    idp_factory: Callable[..., IdentityProvider], secrets: Any
) -> None:
    private = idp_factory()
    seed(private, secrets)
    doc = broker_doc(private)
    private.stop()
    answer = call(runtime(doc, secrets, timeout=0.5), rest_event(WORKER, ""))
    assert (answer.status, answer.error) == (503, "temporarily_unavailable")
    assert "Retry-After" in answer.headers


# --- invalid_client: rotation in flight ----------------------------------------------------


def test_invalid_client_falls_back_to_the_pending_version(
    idp: IdentityProvider, secrets: Any
) -> None:
    right = {"client_id": "writer", "client_secret": idp.client_secret("writer")}
    put_secret(secrets, ORDERS_SECRET, {"client_id": "writer", "client_secret": "retired"})
    secrets.put_secret_value(
        SecretId=ORDERS_SECRET, SecretString=json.dumps(right), VersionStages=["AWSPENDING"]
    )
    idp.reset_stats()
    state = runtime(broker_doc(idp), secrets)
    first = call(state, rest_event(WORKER, "scope=orders:read"))
    assert first.status == 200
    assert idp.stats()["token_requests"] == 2  # refused once, then accepted
    # The version that worked is remembered: the next miss needs one call only.
    second = call(state, rest_event(WORKER, "scope=orders:write"))
    assert second.status == 200
    assert idp.stats()["token_requests"] == 3


def test_invalid_client_rereads_awscurrent_when_nothing_is_pending(
    idp: IdentityProvider, secrets: Any
) -> None:
    put_secret(secrets, ORDERS_SECRET, {"client_id": "writer", "client_secret": "retired"})
    state = runtime(broker_doc(idp), secrets)
    state.secrets.current(ORDERS_SECRET)  # the broker has cached the old version
    put_secret(
        secrets,
        ORDERS_SECRET,
        {"client_id": "writer", "client_secret": idp.client_secret("writer")},
    )
    answer = call(state, rest_event(WORKER, ""))
    assert answer.status == 200


def test_invalid_client_waits_once_for_a_version_being_staged(
    idp: IdentityProvider, secrets: Any
) -> None:
    """A one-secret provider (Auth0) has replaced the secret; rotation stages it 0.2 s later."""
    put_secret(secrets, ORDERS_SECRET, {"client_id": "writer", "client_secret": "replaced"})
    right = {"client_id": "writer", "client_secret": idp.client_secret("writer")}
    state = runtime(broker_doc(idp), secrets)
    state.secrets.current(ORDERS_SECRET)  # the broker holds the replaced secret
    staging = threading.Timer(
        0.2,
        lambda: secrets.put_secret_value(
            SecretId=ORDERS_SECRET, SecretString=json.dumps(right), VersionStages=["AWSPENDING"]
        ),
    )
    staging.start()
    try:
        answer = call(state, rest_event(WORKER, "scope=orders:read"))
    finally:
        staging.join()
    assert answer.status == 200, answer.body


def test_invalid_client_with_no_other_version_is_upstream_error_after_one_try(
    idp: IdentityProvider, secrets: Any
) -> None:
    put_secret(secrets, ORDERS_SECRET, {"client_id": "writer", "client_secret": "wrong"})
    idp.reset_stats()
    answer = call(runtime(broker_doc(idp), secrets), rest_event(WORKER, ""))
    assert (answer.status, answer.error) == (502, "upstream_error")
    assert "invalid_client" in answer.body["error_description"]
    assert idp.stats()["token_requests"] == 1


# --- audit log -----------------------------------------------------------------------------


def test_audit_lines_name_the_caller_and_never_a_secret_or_token(
    idp: IdentityProvider, broker: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    state = broker()
    with caplog.at_level(logging.INFO):
        issued = [call(state, rest_event(WORKER, "scope=orders:read")) for _ in range(2)]
        refused = call(state, rest_event(REPORTING, "scope=orders:write"))
    assert refused.status == 400
    lines = [r.fields for r in caplog.records if hasattr(r, "fields")]
    assert [(x["event"], x.get("cache"), x["reason"]) for x in lines] == [
        ("token_issued", "miss", "issued"),
        ("token_issued", "hit", "issued"),
        ("token_refused", None, "invalid_scope"),
    ]
    first = lines[0]
    assert first["principal"] == f"arn:aws:iam::{ACCOUNT}:role/orders-worker"
    assert first["task_id"] == "3f1c0d9e8b7a4c2fa1b2c3d4e5f60718"
    assert first["client"] == "orders-api"
    assert first["scopes"] == ["orders:read"]
    assert first["request_id"] == "req-1"
    assert abs(first["expires_at"] - (issued[0].body["expires_in"] + _now())) <= 2
    # A refusal names the client its grant is for and the scopes asked for.
    assert (lines[2]["client"], lines[2]["scopes"]) == ("orders-api", ["orders:write"])
    text = json.dumps([r.__dict__ for r in caplog.records], default=str)
    token = issued[0].body["access_token"]
    for part in token.split("."):
        assert part not in text
    for client in ("writer", "admin"):
        assert idp.client_secret(client) not in text


def _now() -> float:
    import time

    return time.time()


# --- client authentication, really checked by the IdP ---------------------------------------


def _pem(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


def test_every_client_authentication_method_is_accepted_by_the_idp(
    idp_factory: Callable[..., IdentityProvider], secrets: Any
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from tools.local.idp import default_clients, private_key_jwt_client

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    clients = [
        *default_clients(),
        {
            "client_id": "poster",
            "client_secret": "sg-test-poster-secret",
            "scope": "orders:read",
            "token_endpoint_auth_method": "client_secret_post",
        },
        private_key_jwt_client("signer-rsa", rsa_key, "orders:read", kid="rsa-1"),
        private_key_jwt_client("signer-ec", ec_key, "orders:read", kid="ec-1"),
    ]
    private = idp_factory(clients=clients)
    values = {
        "client_secret_basic": {
            "client_id": "reader",
            "client_secret": private.client_secret("reader"),
        },
        "client_secret_post": {"client_id": "poster", "client_secret": "sg-test-poster-secret"},
        "private_key_jwt": {
            "client_id": "signer-rsa",
            "private_key": _pem(rsa_key),
            "kid": "rsa-1",
        },
        "private_key_jwt_ec": {
            "client_id": "signer-ec",
            "private_key": _pem(ec_key),
            "kid": "ec-1",
        },
    }
    doc: dict[str, Any] = {"clients": {}, "grants": []}
    for name, value in values.items():
        put_secret(secrets, f"scopegate/{name}", value)
        doc["clients"][name] = {
            "secret": f"scopegate/{name}",
            "token_endpoint": private.token_endpoint,
            "auth_method": name.removesuffix("_ec"),
            "resource": ORDERS_API,
        }
        doc["grants"].append(
            {
                "principal": f"arn:aws:iam::{ACCOUNT}:role/multi",
                "client": name,
                "scopes": ["orders:read"],
            }
        )
    state = runtime(doc, secrets)
    for name in values:
        answer = call(state, rest_event(MULTI, f"client={name}"))
        assert answer.status == 200, (name, answer.body)
        assert (
            claims_of(private, answer.body["access_token"])["client_id"]
            == (values[name]["client_id"])
        )
    log = private.token_log()
    assert [(e["client_id"], e["auth_method"], e["status"]) for e in log] == [
        ("reader", "client_secret_basic", 200),
        ("poster", "client_secret_post", 200),
        ("signer-rsa", "private_key_jwt", 200),
        ("signer-ec", "private_key_jwt", 200),
    ]
    assert all(e["resource"] == ORDERS_API for e in log)


def test_a_method_the_idp_does_not_accept_for_the_client_is_upstream_error(
    idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    state = broker(auth_method="client_secret_post")  # `writer` is registered for basic
    answer = call(state, rest_event(WORKER, ""))
    assert (answer.status, answer.error) == (502, "upstream_error")
    assert [e["auth_method"] for e in idp.token_log()] == ["client_secret_post"]


def test_audience_is_sent_when_configured(
    idp: IdentityProvider, broker: Callable[..., Any]
) -> None:
    state = broker(audience="https://orders.example.com")
    answer = call(state, rest_event(WORKER, "audience=https://orders.example.com"))
    assert answer.status == 200
    (entry,) = idp.token_log()
    assert entry["audience"] == "https://orders.example.com"
    assert entry["resource"] == ORDERS_API
    assert entry["scope"] == "orders:read orders:write"


# --- the identity provider misbehaving -----------------------------------------------------


@pytest.fixture
def faulty(idp_factory: Callable[..., IdentityProvider], secrets: Any) -> Any:
    private = idp_factory()
    seed(private, secrets)
    return private, runtime(broker_doc(private), secrets, timeout=0.5)


def test_rate_limiting_is_503_with_the_idps_retry_after_and_no_retry(faulty: Any) -> None:
    private, state = faulty
    private.set_fault(status=429, count=1, retry_after="7", body='{"error":"slow_down"}')
    answer = call(state, rest_event(WORKER, ""))
    assert (answer.status, answer.error, answer.headers["Retry-After"]) == (
        503,
        "temporarily_unavailable",
        "7",
    )
    assert private.stats()["token_requests"] == 1


def test_a_5xx_is_retried_once(faulty: Any) -> None:
    private, state = faulty
    private.set_fault(status=500, count=1)
    assert call(state, rest_event(WORKER, "")).status == 200
    assert private.stats()["token_requests"] == 2
    private.set_fault(status=503, count=2)
    answer = call(state, rest_event(WORKER, "scope=orders:read"))
    assert (answer.status, answer.error) == (503, "temporarily_unavailable")
    assert "Retry-After" in answer.headers
    assert private.stats()["token_requests"] == 4


def test_a_4xx_is_not_retried_and_is_upstream_error(faulty: Any) -> None:
    private, state = faulty
    private.set_fault(status=400, count=1, body='{"error":"invalid_grant","error_description":"x"}')
    answer = call(state, rest_event(WORKER, ""))
    assert (answer.status, answer.error) == (502, "upstream_error")
    assert "invalid_grant" in answer.body["error_description"]
    assert private.stats()["token_requests"] == 1


@pytest.mark.parametrize(
    "body",
    [
        "<html>oops</html>",
        '{"token_type": "Bearer", "expires_in": 300}',
        '{"access_token": "x", "token_type": "mac", "expires_in": 300}',
        '{"access_token": "x", "token_type": "Bearer", "expires_in": "soon"}',
    ],
)
def test_a_nonsense_answer_is_upstream_error(faulty: Any, body: str) -> None:
    private, state = faulty
    private.set_fault(status=200, count=1, body=body)
    answer = call(state, rest_event(WORKER, ""))
    assert (answer.status, answer.error) == (502, "upstream_error")


def test_a_hanging_idp_is_503_within_the_time_budget(faulty: Any) -> None:
    import time

    private, state = faulty
    private.set_fault(delay_ms=3000, count=2)
    started = time.monotonic()
    answer = call(state, rest_event(WORKER, ""))
    assert (answer.status, answer.error) == (503, "temporarily_unavailable")
    assert time.monotonic() - started < 2.0  # two 0.5 s attempts and the jitter


@pytest.mark.parametrize("name", ["broker-token-rest.json", "broker-token-function-url.json"])
def test_sample_events_get_tokens(broker: Callable[..., Any], name: str) -> None:
    from pathlib import Path

    event = json.loads((Path(__file__).parents[2] / "events" / name).read_text(encoding="utf-8"))
    answer = call(broker(), event)
    assert (answer.status, answer.body.get("scope")) == (200, "orders:read")


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:99999/token", "https://[::1/token", "https://idp.example.com:x/"]
)
def test_an_unusable_token_endpoint_is_a_config_error_not_a_crash(
    idp: IdentityProvider, secrets: Any, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    seed(idp, secrets)
    doc = broker_doc(idp)
    doc["clients"]["orders-api"]["token_endpoint"] = endpoint
    with caplog.at_level(logging.INFO):
        answers = [call(runtime(doc, secrets), rest_event(WORKER, "")) for _ in range(2)]
    assert {(a.status, a.error) for a in answers} == {(500, "server_error")}
    assert "not a valid URL" in answers[0].body["error_description"]
    assert not any(r.exc_info for r in caplog.records)


def test_a_lifetime_beyond_a_year_is_upstream_error(faulty: Any) -> None:
    private, state = faulty
    body = '{"access_token": "x", "token_type": "Bearer", "expires_in": 1' + "0" * 400 + "}"
    private.set_fault(status=200, count=1, body=body)
    answer = call(state, rest_event(WORKER, ""))
    assert (answer.status, answer.error) == (502, "upstream_error")


def test_an_ssm_reread_of_the_same_document_keeps_the_token_cache(
    idp: IdentityProvider, secrets: Any
) -> None:
    seed(idp, secrets)
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/sg/broker", Value=json.dumps(broker_doc(idp)), Type="String")
        from token_broker.config import BrokerConfigSource
        from token_broker.handler import Runtime
        from token_broker.secret_store import SecretStore
        from token_broker.upstream import IdpClient

        env = {"BROKER_CONFIG_PARAMETER": "/sg/broker", "BROKER_CONFIG_MAX_AGE": "0"}
        state = Runtime(BrokerConfigSource(env, ssm_client=ssm), SecretStore(secrets), IdpClient())
        idp.reset_stats()
        answers = [call(state, rest_event(WORKER, "")) for _ in range(5)]
    assert {a.status for a in answers} == {200}
    assert idp.stats()["token_requests"] == 1


def test_no_fallback_is_started_without_time_left_for_it(faulty: Any, secrets: Any) -> None:
    private, state = faulty
    right = {"client_id": "writer", "client_secret": private.client_secret("writer")}
    put_secret(secrets, ORDERS_SECRET, {"client_id": "writer", "client_secret": "retired"})
    secrets.put_secret_value(
        SecretId=ORDERS_SECRET, SecretString=json.dumps(right), VersionStages=["AWSPENDING"]
    )
    private.set_fault(delay_ms=300, count=1)  # then the real answer: invalid_client

    class AlmostOutOfTime:
        def get_remaining_time_in_millis(self) -> int:
            return 4700  # 4.2 s of budget: under 4 s remain after the slow refusal

    response = handle(state, rest_event(WORKER, ""), AlmostOutOfTime())
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["error"] == "temporarily_unavailable"
    assert private.stats()["token_requests"] == 1
