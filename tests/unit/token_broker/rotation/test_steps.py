"""The rotation function's four steps and their guards, against moto's Secrets Manager.

The identity provider is an in-memory Cognito app client (tests/support/rotation.py):
its secret APIs follow the service (two secrets at most, the last one cannot be deleted)
and its token endpoint accepts exactly the live secrets, so testSecret really proves a
secret.
The HTTP providers run against the test identity provider in tests/integration.
"""

from __future__ import annotations

import json
import logging
import secrets as random_secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support.rotation import (
    FakeCognitoAppClient,
    rotate,
    run,
    stages,
    start_rotation,
    value,
)
from token_broker.config import BrokerConfigSource
from token_broker.rotation.errors import (
    ProviderError,
    RotationConfigError,
    RotationError,
    SecretNotAccepted,
    StageError,
)
from token_broker.rotation.handler import Runtime, handle
from token_broker.upstream import IdpClient

POOL = "eu-west-1_AbCdEf123"
CLIENT_ID = "4m1x0example7clientid0abcd"
SECRET = "scopegate/cognito-orders"
TOKEN_URL = "https://orders.auth.eu-west-1.amazoncognito.com/oauth2/token"
BROKER_CONFIG = {
    "clients": {
        "orders": {"secret": SECRET, "token_endpoint": TOKEN_URL, "resource": "api://orders"}
    },
    "grants": [
        {
            "principal": "arn:aws:iam::123456789012:role/orders-worker",
            "client": "orders",
            "scopes": ["orders/read", "orders/write"],
        }
    ],
}


def _error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-west-1")


@pytest.fixture
def cognito(secrets: Any) -> FakeCognitoAppClient:
    initial = random_secrets.token_urlsafe(36)
    secrets.create_secret(
        Name=SECRET,
        SecretString=json.dumps(
            {
                "client_id": CLIENT_ID,
                "client_secret": initial,
                "provider": "cognito",
                "user_pool_id": POOL,
                "secret_id": "s-initial",
                "note": "kept across rotations",
            }
        ),
    )
    return FakeCognitoAppClient(
        pool=POOL, client_id=CLIENT_ID, token_url=TOKEN_URL, initial=initial
    )


def runtime(secrets: Any, cognito: FakeCognitoAppClient, **kwargs: Any) -> Runtime:
    return Runtime(
        secrets,
        source=BrokerConfigSource({"BROKER_CONFIG": json.dumps(BROKER_CONFIG)}),
        idp=IdpClient(cognito, retries=0),
        cognito_client=cognito,
        sleep=lambda seconds: None,
        test_budget=kwargs.pop("test_budget", 5.0),
        **kwargs,
    )


# --- a whole rotation ---------------------------------------------------------------------


def test_a_rotation_makes_a_new_provider_secret_current_and_keeps_the_old_one_live(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    old = value(secrets, SECRET)
    token = rotate(runtime(secrets, cognito), secrets, SECRET)

    new = value(secrets, SECRET)
    assert new["client_secret"] != old["client_secret"]
    assert cognito.accepts(new["client_secret"])
    assert cognito.accepts(old["client_secret"])  # live until the next rotation
    assert new["secret_id"] in cognito.secrets
    assert new["note"] == "kept across rotations"
    assert stages(secrets, SECRET)[token] == ["AWSCURRENT"]  # AWSPENDING cleared
    assert value(secrets, SECRET, "AWSPREVIOUS") == old
    # testSecret asked for the client's granted scopes with the client's resource.
    assert cognito.token_requests[-1]["scope"] == "orders/read orders/write"
    assert cognito.token_requests[-1]["resource"] == "api://orders"


def test_three_rotations_leave_only_the_current_and_previous_secrets_live(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito)
    for _ in range(3):
        rotate(state, secrets, SECRET)
    current, previous = value(secrets, SECRET), value(secrets, SECRET, "AWSPREVIOUS")
    assert set(cognito.secrets) == {current["secret_id"], previous["secret_id"]}


def test_revoke_at_finish_leaves_only_the_new_secret(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito, revoke_previous=True)
    old = value(secrets, SECRET)
    token = rotate(state, secrets, SECRET)
    assert set(cognito.secrets) == {value(secrets, SECRET)["secret_id"]}
    assert not cognito.accepts(old["client_secret"])
    run(state, secrets, SECRET, token, "finishSecret")  # a re-run revokes nothing more
    assert set(cognito.secrets) == {value(secrets, SECRET)["secret_id"]}


# --- each step is harmless to re-run ----------------------------------------------------------


def test_every_step_run_twice_gives_the_same_result_as_once(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito)
    token = start_rotation(secrets, SECRET)
    for step in ("createSecret", "createSecret", "setSecret", "setSecret"):
        run(state, secrets, SECRET, token, step)
    assert len(cognito.secrets) == 2  # one secret created, not two
    pending = value(secrets, SECRET, "AWSPENDING")
    for step in ("testSecret", "testSecret", "finishSecret", "finishSecret"):
        run(state, secrets, SECRET, token, step)
    assert value(secrets, SECRET) == pending
    assert len(stages(secrets, SECRET)) == 2
    assert stages(secrets, SECRET)[token] == ["AWSCURRENT"]


def test_an_interrupted_create_is_cleaned_up_when_it_runs_again(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito)
    token = start_rotation(secrets, SECRET)
    real_put = secrets.put_secret_value

    def failing_put(**kwargs: Any) -> Any:
        raise _error("InternalServiceError", "PutSecretValue")

    secrets.put_secret_value = failing_put
    with pytest.raises(RotationError, match="InternalServiceError"):
        run(state, secrets, SECRET, token, "createSecret")
    assert len(cognito.secrets) == 2  # created at Cognito, never staged
    secrets.put_secret_value = real_put

    run(state, secrets, SECRET, token, "createSecret")
    pending = value(secrets, SECRET, "AWSPENDING")
    current = value(secrets, SECRET)
    assert set(cognito.secrets) == {current["secret_id"], pending["secret_id"]}


# --- a failed testSecret ---------------------------------------------------------------------


def test_a_refused_test_grant_leaves_awscurrent_and_the_old_secret_alone(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito, test_budget=2.0)
    old = value(secrets, SECRET)
    token = start_rotation(secrets, SECRET)
    run(state, secrets, SECRET, token, "createSecret")
    run(state, secrets, SECRET, token, "setSecret")
    cognito.refuse_tokens = True
    with pytest.raises(SecretNotAccepted, match="after 2 attempts"):
        run(state, secrets, SECRET, token, "testSecret")
    assert value(secrets, SECRET) == old
    assert cognito.accepts(old["client_secret"])
    assert "AWSPENDING" in stages(secrets, SECRET)[token]


def test_a_pending_secret_deleted_at_the_provider_is_unstaged_so_rotation_can_restart(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito)
    token = start_rotation(secrets, SECRET)
    run(state, secrets, SECRET, token, "createSecret")
    del cognito.secrets[value(secrets, SECRET, "AWSPENDING")["secret_id"]]
    with pytest.raises(ProviderError) as raised:
        run(state, secrets, SECRET, token, "setSecret")
    assert raised.value.reason == "pending_not_live"
    assert "AWSPENDING" not in stages(secrets, SECRET)[token]
    rotate(state, secrets, SECRET)  # the next rotation is not stuck behind it
    assert cognito.accepts(value(secrets, SECRET)["client_secret"])


def test_a_secret_id_naming_no_live_secret_deletes_nothing(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito)
    cognito.add_user_pool_client_secret(UserPoolId=POOL, ClientId=CLIENT_ID)  # two live now
    _rewrite(secrets, secret_id="s-typo")  # hand-written, wrong
    live = dict(cognito.secrets)
    token = start_rotation(secrets, SECRET)
    with pytest.raises(ProviderError) as raised:
        run(state, secrets, SECRET, token, "createSecret")
    assert raised.value.reason == "secret_in_use_unknown"
    assert cognito.secrets == live


def test_the_next_rotation_after_a_failed_one_replaces_the_unproven_secret(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito, test_budget=1.0)
    token = start_rotation(secrets, SECRET)
    run(state, secrets, SECRET, token, "createSecret")
    failed = value(secrets, SECRET, "AWSPENDING")["secret_id"]
    cognito.refuse_tokens = True
    with pytest.raises(SecretNotAccepted):
        run(state, secrets, SECRET, token, "testSecret")
    cognito.refuse_tokens = False

    rotate(state, secrets, SECRET)
    assert failed not in cognito.secrets
    assert value(secrets, SECRET)["secret_id"] in cognito.secrets
    assert len(cognito.secrets) == 2


# --- guards ------------------------------------------------------------------------------------


def test_a_secret_without_rotation_enabled_is_refused(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    version = secrets.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    (current,) = version
    with pytest.raises(StageError, match="rotation enabled"):
        run(runtime(secrets, cognito), secrets, SECRET, current, "createSecret")
    assert len(cognito.secrets) == 1


def test_a_token_that_is_no_version_of_the_secret_is_refused(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    start_rotation(secrets, SECRET)
    with pytest.raises(StageError, match="not a version"):
        run(runtime(secrets, cognito), secrets, SECRET, "0" * 32, "createSecret")


def test_a_version_already_current_returns_without_touching_the_provider(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito)
    token = rotate(state, secrets, SECRET)
    live = dict(cognito.secrets)
    for step in ("createSecret", "setSecret", "testSecret"):
        assert run(state, secrets, SECRET, token, step) == "already current"
    assert cognito.secrets == live


def test_a_version_neither_current_nor_pending_is_refused(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito)
    rotate(state, secrets, SECRET)
    previous = next(v for v, s in stages(secrets, SECRET).items() if "AWSPREVIOUS" in s)
    start_rotation(secrets, SECRET)
    with pytest.raises(StageError, match="not AWSPENDING"):
        run(state, secrets, SECRET, previous, "createSecret")


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"SecretId": "x", "ClientRequestToken": "t"},
        {"SecretId": "x", "ClientRequestToken": "t", "Step": "rotateEverything"},
        {"SecretId": "", "ClientRequestToken": "t", "Step": "createSecret"},
    ],
)
def test_an_event_that_is_not_a_rotation_step_is_refused(
    secrets: Any, cognito: FakeCognitoAppClient, bad: object
) -> None:
    with pytest.raises(StageError):
        handle(runtime(secrets, cognito), bad)


# --- configuration problems fail clearly ---------------------------------------------------------


def _rewrite(secrets: Any, **changes: Any) -> None:
    current = value(secrets, SECRET)
    current.update(changes)
    secrets.put_secret_value(SecretId=SECRET, SecretString=json.dumps(current))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"provider": "ping"}, "provider must be one of"),
        ({"provider": None}, "needs 'provider'"),
        ({"client_secret": None, "private_key": "PEM"}, "only client secrets rotate"),
        ({"user_pool_id": None}, "needs 'user_pool_id'"),
        ({"provider": "okta"}, "needs 'management_secret'"),
    ],
)
def test_a_secret_rotation_cannot_use_fails_create_with_a_clear_reason(
    secrets: Any, cognito: FakeCognitoAppClient, changes: dict[str, Any], message: str
) -> None:
    _rewrite(secrets, **changes)
    token = start_rotation(secrets, SECRET)
    with pytest.raises(RotationConfigError, match=message):
        run(runtime(secrets, cognito), secrets, SECRET, token, "createSecret")
    assert len(cognito.secrets) == 1


def test_a_secret_no_broker_client_uses_fails_test_secret(
    secrets: Any, cognito: FakeCognitoAppClient
) -> None:
    state = runtime(secrets, cognito)
    state.source = BrokerConfigSource(
        {"BROKER_CONFIG": json.dumps(BROKER_CONFIG).replace(SECRET, "scopegate/other")}
    )
    token = start_rotation(secrets, SECRET)
    run(state, secrets, SECRET, token, "createSecret")
    with pytest.raises(RotationConfigError, match="no broker client uses"):
        run(state, secrets, SECRET, token, "testSecret")


# --- what is logged ------------------------------------------------------------------------------


def test_each_step_logs_one_line_and_never_a_secret(
    secrets: Any,
    cognito: FakeCognitoAppClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    old = value(secrets, SECRET)["client_secret"]
    rotate(runtime(secrets, cognito), secrets, SECRET)
    new = value(secrets, SECRET)["client_secret"]
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("scopegate")]
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records) + capsys.readouterr().out
    assert old not in text
    assert new not in text
    assert len([m for m in lines if m == "rotation step done"]) == 4
