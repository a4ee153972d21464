"""The template's Secrets Manager permissions against the calls the code really makes.

The broker's secret store and a whole rotation (revoking the previous secret included)
run against moto's Secrets Manager; every call they make is recorded with the request
context IAM would see (``secretsmanager:VersionStage`` is the request's ``VersionStage``
or ``VersionStages``: Service Authorization Reference, "Actions, resources, and condition
keys for AWS Secrets Manager"), and judged by the deployed role policies with the
evaluator in tools/local/iam.py. The conditions must allow every call the code makes
and refuse the reads and writes it never needs.
"""

from __future__ import annotations

import json
import secrets as random_secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.rotation import FakeCognitoAppClient, rotate
from tests.unit.test_template import _deployed_statements
from tests.unit.token_broker.rotation.test_steps import CLIENT_ID, POOL, SECRET, TOKEN_URL
from tests.unit.token_broker.rotation.test_steps import runtime as rotation_runtime
from token_broker.credentials import Credentials
from token_broker.rotation.versions import SecretVersions
from token_broker.secret_store import SecretStore
from tools.cfn import load_template
from tools.local.iam import Context, statements_allow

Call = tuple[str, str, Context]  # action, secret ARN, request context


class Recorder:
    """Every Secrets Manager call of a boto3 client, as IAM would judge it."""

    def __init__(self, client: Any) -> None:
        self.lookup = boto3.client("secretsmanager", region_name=client.meta.region_name)
        self.calls: list[Call] = []
        client.meta.events.register("provide-client-params.secrets-manager", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        stages = params.get("VersionStages")
        if stages is None and "VersionStage" in params:
            stages = [params["VersionStage"]]
        context = {"secretsmanager:versionstage": list(stages)} if stages is not None else {}
        arn = self.lookup.describe_secret(SecretId=params["SecretId"])["ARN"]
        self.calls.append((f"secretsmanager:{model.name}", arn, context))


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def statements(function: str, **params: str) -> list[dict[str, Any]]:
    return _deployed_statements(load_template(), function, **params)


def refused(calls: list[Call], allowed: list[dict[str, Any]]) -> list[Call]:
    return [c for c in calls if not statements_allow(allowed, *c)]


def test_the_broker_role_allows_every_read_of_the_secret_store(secrets: Any) -> None:
    current = secrets.create_secret(
        Name="scopegate/orders-api",
        SecretString=json.dumps({"client_id": "orders", "client_secret": "s1"}),
    )
    secrets.put_secret_value(
        SecretId="scopegate/orders-api",
        SecretString=json.dumps({"client_id": "orders", "client_secret": "s2"}),
        VersionStages=["AWSPENDING"],
    )
    recorder = Recorder(secrets)
    store = SecretStore(secrets)
    failed = store.current("scopegate/orders-api")
    assert store.alternate("scopegate/orders-api", failed) is not None  # AWSPENDING
    assert store.alternate("scopegate/orders-api", Credentials("x", "y", version_id="z"))
    assert {c[2]["secretsmanager:versionstage"][0] for c in recorder.calls} == {
        "AWSCURRENT",
        "AWSPENDING",
    }
    role = statements("BrokerFunction", BrokerSecretArns=current["ARN"])
    assert refused(recorder.calls, role) == []


def test_the_broker_role_refuses_older_versions_and_reads_without_a_stage() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:scopegate/orders-api-AbC123"
    role = statements("BrokerFunction", BrokerSecretArns=arn)
    read = "secretsmanager:GetSecretValue"
    assert statements_allow(role, read, arn, {"secretsmanager:versionstage": ["AWSCURRENT"]})
    for context in ({"secretsmanager:versionstage": ["AWSPREVIOUS"]}, {}):  # {}: by VersionId
        assert not statements_allow(role, read, arn, context)
    other = arn.replace("orders-api", "payroll")
    assert not statements_allow(role, read, other, {"secretsmanager:versionstage": ["AWSCURRENT"]})


def test_the_rotation_role_allows_every_call_of_a_whole_rotation(secrets: Any) -> None:
    initial = random_secrets.token_urlsafe(36)
    cognito = FakeCognitoAppClient(
        pool=POOL, client_id=CLIENT_ID, token_url=TOKEN_URL, initial=initial
    )
    created = secrets.create_secret(Name=SECRET, SecretString=json.dumps(cognito.secret_value()))
    management = secrets.create_secret(
        Name="scopegate/okta-admin", SecretString=json.dumps({"org_url": "https://acme.test"})
    )
    recorder = Recorder(secrets)
    state = rotation_runtime(secrets, cognito, revoke_previous=True)
    rotate(state, secrets, SECRET)  # every step, and the previous secret revoked
    rotate(state, secrets, SECRET)
    SecretVersions(secrets, SECRET).management("scopegate/okta-admin")
    actions = {action for action, _, _ in recorder.calls}
    assert actions == {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    }
    role = statements(
        "RotationFunction",
        BrokerSecretArns=created["ARN"],
        RotationManagementSecretArns=management["ARN"],
    )
    assert refused(recorder.calls, role) == []


@pytest.mark.parametrize(
    ("action", "stages"),
    [
        ("secretsmanager:PutSecretValue", None),  # no stages: the new version is AWSCURRENT
        ("secretsmanager:PutSecretValue", ["AWSCURRENT"]),
        ("secretsmanager:PutSecretValue", ["AWSPENDING", "AWSCURRENT"]),
        ("secretsmanager:UpdateSecretVersionStage", ["AWSPREVIOUS"]),
        ("secretsmanager:UpdateSecretVersionStage", ["custom"]),
        ("secretsmanager:GetSecretValue", None),  # by version id alone
        ("secretsmanager:DeleteSecret", None),
    ],
)
def test_the_rotation_role_cannot_bypass_the_rotation_steps(
    action: str, stages: list[str] | None
) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:scopegate/orders-api-AbC123"
    role = statements("RotationFunction", BrokerSecretArns=arn)
    context = {} if stages is None else {"secretsmanager:versionstage": stages}
    assert not statements_allow(role, action, arn, context)


def test_management_secrets_are_read_as_current_only() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:scopegate/okta-admin-??????"
    role = statements("RotationFunction", RotationManagementSecretArns=arn)
    secret = arn.replace("??????", "XyZ789")
    read = "secretsmanager:GetSecretValue"
    assert statements_allow(role, read, secret, {"secretsmanager:versionstage": ["AWSCURRENT"]})
    assert not statements_allow(role, read, secret, {"secretsmanager:versionstage": ["AWSPENDING"]})
    assert not statements_allow(role, "secretsmanager:PutSecretValue", secret, {})
