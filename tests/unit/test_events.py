"""Every file in events/ runs through the handler of its entry point.

The tests are generated from the directory listing: a file that no runner below claims
fails, so a sample event cannot be added without being run. Each runner gives the
handler what the event needs and nothing the event itself should carry:

- authorizer events: a real signed token in place of ``REPLACE_WITH_TOKEN``, and a
  configuration whose routes include the event's; every event must be allowed;
- broker events: a configuration granting the event's caller (the ``orders-worker`` task
  role), its client secret in moto's Secrets Manager and an identity provider answering
  the client credentials grant; every event must get a token for ``orders:read``;
- rotation events: moto's Secrets Manager and an in-memory Cognito app client. Two fields
  are rewritten, and only these: ``SecretId``, because moto gives the secret an ARN of its
  own (its last six characters are random), and ``ClientRequestToken``, because the
  event's token names a version that exists only once a rotation has started; the test
  starts one (``start_rotation``, RotateSecret's bookkeeping) and uses its token. The
  steps run in Secrets Manager's order, each from its own file, so a step's event is run
  after the events of the steps before it, and the rotation must complete.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from authorizer.decision import Unauthorized
from authorizer.handler import Runtime as AuthorizerRuntime
from authorizer.handler import handle as authorize
from authorizer.sources import ConfigSource
from tests.support.issuer import AUDIENCE, ISSUER, LocalIssuer
from tests.support.rotation import FakeCognitoAppClient, stages, start_rotation, value
from token_broker.config import BrokerConfigSource
from token_broker.rotation.handler import STEPS
from token_broker.rotation.handler import Runtime as RotationRuntime
from token_broker.rotation.handler import handle as rotate_step
from token_broker.upstream import IdpClient
from tools.local.broker_harness import call, put_secret
from tools.local.broker_harness import runtime as broker_runtime
from tools.local.iam import iam_allows

EVENTS = Path(__file__).resolve().parents[2] / "events"
# One sample per entry point: the runners below must cover at least these.
ENTRY_POINTS = {
    "authorizer-rest-token.json",
    "authorizer-rest-request.json",
    "authorizer-http-v1.json",
    "authorizer-http-v2.json",
    "authorizer-websocket-connect.json",
    "broker-token-rest.json",
    "broker-token-function-url.json",
    *(f"rotation-{step}.json" for step in STEPS),
}


def _load(path: Path) -> dict[str, Any]:
    event = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(event, dict)
    return event


# --- the authorizer ------------------------------------------------------------------


def run_authorizer_event(path: Path) -> None:
    idp = LocalIssuer()
    config = {
        "issuers": [{"issuer": ISSUER, "audiences": [AUDIENCE]}],
        "routes": [
            {"route": "GET /orders/{id}", "scopes": ["orders:read"]},
            {"route": "$connect", "scopes": ["ws:connect"]},
        ],
    }
    state = AuthorizerRuntime(ConfigSource({"AUTHORIZER_CONFIG": json.dumps(config)}), idp)
    token = idp.token("orders:read ws:connect")
    event = json.loads(path.read_text(encoding="utf-8").replace("REPLACE_WITH_TOKEN", token))
    try:
        response = authorize(state, event)
    except Unauthorized:
        pytest.fail(f"events/{path.name} was refused with 401")
    if "isAuthorized" in response:  # HTTP API payload 2.0, simple response
        assert response["isAuthorized"] is True
    else:
        assert iam_allows(response["policyDocument"], event.get("routeArn") or event["methodArn"])


# --- the token broker ----------------------------------------------------------------

BROKER_SECRET = "scopegate/orders-api"
BROKER_TOKEN_URL = "https://idp.example.com/oauth2/v1/token"


class _TokenEndpoint:
    """An identity provider's token endpoint that grants the client credentials it knows."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.expected = (client_id, client_secret)
        self.requests: list[bytes] = []

    def post_form(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        import base64

        assert url == BROKER_TOKEN_URL
        self.requests.append(body)
        basic = base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode()
        if tuple(basic.split(":", 1)) != self.expected:
            return 401, {}, b'{"error": "invalid_client"}'
        answer = {"access_token": "at-1", "token_type": "Bearer", "expires_in": 300}
        return 200, {"content-type": "application/json"}, json.dumps(answer).encode()

    def get(self, url: str, timeout: float) -> tuple[int, Mapping[str, str], bytes]:
        raise AssertionError("the token endpoint is configured; no discovery")


def run_broker_event(path: Path) -> None:
    client_id, client_secret = "orders-client", secrets.token_urlsafe(24)
    config = {
        "clients": {"orders-api": {"secret": BROKER_SECRET, "token_endpoint": BROKER_TOKEN_URL}},
        "grants": [
            {
                "principal": "arn:aws:iam::123456789012:role/orders-worker",
                "client": "orders-api",
                "scopes": ["orders:read", "inventory:read"],
            }
        ],
    }
    endpoint = _TokenEndpoint(client_id, client_secret)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        put_secret(client, BROKER_SECRET, {"client_id": client_id, "client_secret": client_secret})
        answer = call(broker_runtime(config, client, transport=endpoint), _load(path))
    assert (answer.status, answer.body.get("scope")) == (200, "orders:read"), answer
    assert len(endpoint.requests) == 1


# --- the rotation function ---------------------------------------------------------------

ROTATED_SECRET = "scopegate/orders-api"
COGNITO_TOKEN_URL = "https://orders.auth.us-east-1.amazoncognito.com/oauth2/token"


def _rotation_event(step: str, arn: str, token: str) -> dict[str, Any]:
    """The step's event file, addressed to moto's secret and the rotation the test started."""
    event = _load(EVENTS / f"rotation-{step}.json")
    assert event["Step"] == step
    assert event["SecretId"].split(":secret:")[1].rsplit("-", 1)[0] == ROTATED_SECRET
    return event | {"SecretId": arn, "ClientRequestToken": token}


def run_rotation_event(path: Path) -> None:
    step = _load(path)["Step"]
    assert path.name == f"rotation-{step}.json"
    cognito = FakeCognitoAppClient(
        pool="us-east-1_AbCdEfGhI",
        client_id="4m1x0example7clientid0abcd",
        token_url=COGNITO_TOKEN_URL,
        initial=secrets.token_urlsafe(36),
    )
    config = {
        "clients": {"orders-api": {"secret": ROTATED_SECRET, "token_endpoint": COGNITO_TOKEN_URL}},
        "grants": [
            {
                "principal": "arn:aws:iam::123456789012:role/orders-worker",
                "client": "orders-api",
                "scopes": ["orders/read"],
            }
        ],
    }
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(
            Name=ROTATED_SECRET, SecretString=json.dumps(cognito.secret_value())
        )["ARN"]
        state = RotationRuntime(
            client,
            source=BrokerConfigSource({"BROKER_CONFIG": json.dumps(config)}),
            idp=IdpClient(cognito, retries=0),
            cognito_client=cognito,
            sleep=lambda seconds: None,
            test_budget=5.0,
        )
        token = start_rotation(client, ROTATED_SECRET)
        for earlier in STEPS[: STEPS.index(step) + 1]:
            rotate_step(state, _rotation_event(earlier, arn, token))
        _check_rotation_after(step, client, token, cognito)


def _check_rotation_after(
    step: str, client: Any, token: str, cognito: FakeCognitoAppClient
) -> None:
    pending = value(client, ROTATED_SECRET, "AWSPENDING") if step != "finishSecret" else None
    if pending is not None:
        assert stages(client, ROTATED_SECRET)[token] == ["AWSPENDING"]
        assert cognito.accepts(pending["client_secret"])  # created at the provider
    if step == "testSecret":
        assert cognito.token_requests[-1]["scope"] == "orders/read"
    if step == "finishSecret":
        assert stages(client, ROTATED_SECRET)[token] == ["AWSCURRENT"]
        assert cognito.accepts(value(client, ROTATED_SECRET)["client_secret"])


# --- every file ------------------------------------------------------------------------

RUNNERS: dict[str, Callable[[Path], None]] = {
    "authorizer-": run_authorizer_event,
    "broker-": run_broker_event,
    "rotation-": run_rotation_event,
}


def _event_files() -> Iterator[Path]:
    yield from sorted(p for p in EVENTS.iterdir() if p.name != "README.md")


@pytest.mark.parametrize("path", list(_event_files()), ids=lambda p: p.name)
def test_every_event_file_runs_through_its_handler(path: Path) -> None:
    runners = [run for prefix, run in RUNNERS.items() if path.name.startswith(prefix)]
    problem = f"events/{path.name}: no runner in {Path(__file__).name} runs it"
    assert path.suffix == ".json", problem
    assert len(runners) == 1, problem
    runners[0](path)


def test_every_entry_point_has_a_sample_event() -> None:
    missing = ENTRY_POINTS - {path.name for path in _event_files()}
    assert not missing
