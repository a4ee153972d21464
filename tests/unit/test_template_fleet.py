"""template.yaml at fleet scale: the shared token table and its KMS key
(``BrokerSharedCache``), and the KMS keys that sign client assertions
(``BrokerSigningKeyArns``), before and after the SAM transform.

What the broker role may do is compared with what the broker's code really calls: the
AWS operations (and their encryption context and signing parameters) are recorded from
the code running against moto, and must be exactly what the template grants.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.test_template import (
    _deployed_environment,
    _deployed_resources,
    _deployed_statements,
)
from tests.unit.test_template_translated import Deployment, _statements, _strings
from token_broker.config import ClientConfig
from token_broker.envelope import Envelope
from token_broker.kms_signer import KmsSigner, kms_assertion
from token_broker.shared_cache import SharedCache
from token_broker.token_cache import CachedToken
from token_broker.token_table import TokenTable, shared_key
from tools.cfn import load_template
from tools.local.fleet import create_shared_cache

ACCOUNT, REGION = "123456789012", "us-east-1"
SIGNER_RSA = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SIGNER_EC = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/mrk-0123456789abcdef0123456789abcdef"
FLEET = {"BrokerSharedCache": "dynamodb", "BrokerSigningKeyArns": f"{SIGNER_RSA},{SIGNER_EC}"}
SHARED_CACHE_RESOURCES = ("BrokerTokenTable", "BrokerTokenKey", "BrokerTokenKeyAlias")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


# --- what the code calls ---------------------------------------------------------------


class Recorder:
    """The AWS operations a client made, with the parameters IAM conditions look at."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def attach(self, client: Any) -> Any:
        prefix = client.meta.service_model.signing_name

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.calls.append((f"{prefix}:{model.name}", params))

        client.meta.events.register("provide-client-params.*.*", record)
        return client

    @property
    def actions(self) -> set[str]:
        return {name for name, _ in self.calls}


@pytest.fixture(scope="module")
def used() -> Iterator[Recorder]:
    """Every path of the shared cache and of KMS signing, run once against moto."""
    recorder = Recorder()
    with mock_aws():
        dynamodb = recorder.attach(boto3.client("dynamodb", region_name=REGION))
        kms = recorder.attach(boto3.client("kms", region_name=REGION))
        table, key = create_shared_cache(
            boto3.client("dynamodb", region_name=REGION), boto3.client("kms", region_name=REGION)
        )
        client = ClientConfig(
            "c", "s", None, "https://idp.example.com/t", "private_key_jwt", None, None
        )
        cache = SharedCache(TokenTable(table, Envelope(key, kms), dynamodb))
        grant = shared_key(client, ["a"])

        def mint() -> CachedToken:
            return CachedToken("eyJ.t.s", "a", time.time() + 300)

        def fail() -> CachedToken:
            raise RuntimeError("the IdP is down")

        cache.fetch(grant, 60, time.time() + 9, mint)  # lease, store
        other = SharedCache(TokenTable(table, Envelope(key, kms), dynamodb))
        other.fetch(grant, 60, time.time() + 9, mint)  # read, decrypt
        with pytest.raises(RuntimeError):
            cache.fetch(shared_key(client, ["b"]), 60, time.time() + 9, fail)  # release
        signer = KmsSigner(kms)
        for spec in ("RSA_2048", "ECC_NIST_P256"):
            signing = boto3.client("kms", region_name=REGION).create_key(
                KeyUsage="SIGN_VERIFY", KeySpec=spec
            )["KeyMetadata"]["KeyId"]
            kms_assertion(signer, signing, "c", None, "https://idp.example.com/t", now=time.time())
        yield recorder


# --- before the transform ------------------------------------------------------------------


def test_by_default_there_is_no_table_no_key_and_no_grant_for_them(
    template: dict[str, Any],
) -> None:
    deployed = _deployed_resources(template)
    assert not set(SHARED_CACHE_RESOURCES) & set(deployed)
    environment = _deployed_environment(template, "BrokerFunction")
    assert "BROKER_SHARED_CACHE_TABLE" not in environment
    assert _deployed_statements(template, "BrokerFunction") == []


def test_the_table_is_on_demand_with_one_string_key_ttl_and_encryption(
    template: dict[str, Any],
) -> None:
    table = _deployed_resources(template, BrokerSharedCache="dynamodb")["BrokerTokenTable"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Delete", "Delete")
    properties = table["Properties"]
    assert properties["TableName"] == "scopegate-broker-tokens"
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["DeletionProtectionEnabled"] is False


def test_deletion_protection_is_on_when_asked(template: dict[str, Any]) -> None:
    protected = _deployed_resources(
        template, BrokerSharedCache="dynamodb", BrokerSharedCacheDeletionProtection="true"
    )["BrokerTokenTable"]["Properties"]
    assert protected["DeletionProtectionEnabled"] is True


def test_the_key_rotates_and_the_function_is_given_the_table_and_its_alias(
    template: dict[str, Any],
) -> None:
    deployed = _deployed_resources(template, BrokerSharedCache="dynamodb")
    key = deployed["BrokerTokenKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"], key["EnableKeyRotation"]) == (
        "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", True)  # fmt: skip
    assert "KeyPolicy" not in key  # KMS's default: IAM policies of the account decide
    alias = deployed["BrokerTokenKeyAlias"]["Properties"]
    assert alias == {"AliasName": "alias/scopegate-broker", "TargetKeyId": "<BrokerTokenKey>"}
    environment = _deployed_environment(template, "BrokerFunction", BrokerSharedCache="dynamodb")
    assert environment["BROKER_SHARED_CACHE_TABLE"] == "<BrokerTokenTable>"
    assert environment["BROKER_SHARED_CACHE_KMS_KEY"] == "<BrokerTokenKeyAlias>"


def test_the_broker_may_use_only_the_items_and_data_keys_it_needs(
    template: dict[str, Any], used: Recorder
) -> None:
    statements = _deployed_statements(template, "BrokerFunction", BrokerSharedCache="dynamodb")
    items, keys = statements
    assert items == {
        "Sid": "ReadAndWriteSharedTokens",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        "Resource": "<BrokerTokenTable.Arn>",
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["token#*"]}},
    }
    assert set(items["Action"]) == {a for a in used.actions if a.startswith("dynamodb:")}
    assert keys["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert keys["Resource"] == "<BrokerTokenKey.Arn>"
    condition = keys["Condition"]
    for action, params in used.calls:
        if action in keys["Action"]:  # every data-key call passes the template's condition
            context = params["EncryptionContext"]
            assert context["purpose"] == condition["StringEquals"][
                "kms:EncryptionContext:purpose"]  # fmt: skip
            assert set(context) <= set(
                condition["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"]
            )
        elif action.startswith("dynamodb:"):
            assert re.fullmatch(
                r"token#[0-9a-f]{64}", (params.get("Key") or params["Item"])["pk"]["S"]
            )


def test_signing_keys_may_sign_assertions_and_give_their_public_key_only(
    template: dict[str, Any], used: Recorder
) -> None:
    statements = _deployed_statements(
        template, "BrokerFunction", BrokerSigningKeyArns=f"{SIGNER_RSA},{SIGNER_EC}"
    )
    public, sign = statements
    assert public == {
        "Sid": "ReadSigningKeyPublicKeys",
        "Effect": "Allow",
        "Action": "kms:GetPublicKey",
        "Resource": [SIGNER_RSA, SIGNER_EC],
    }
    assert (sign["Action"], sign["Resource"]) == ("kms:Sign", [SIGNER_RSA, SIGNER_EC])
    allowed = sign["Condition"]["StringEquals"]
    signs = [params for action, params in used.calls if action == "kms:Sign"]
    assert {p["SigningAlgorithm"] for p in signs} == set(allowed["kms:SigningAlgorithm"])
    assert {p["MessageType"] for p in signs} == {allowed["kms:MessageType"]}
    kms_used = {a for a in used.actions if a.startswith("kms:")}
    assert kms_used == {"kms:GenerateDataKey", "kms:Decrypt", "kms:GetPublicKey", "kms:Sign"}


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("", True),
        (SIGNER_RSA, True),
        (SIGNER_EC, True),
        (f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*", False),
        (f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/orders-signer", False),
        (f"arn:aws:kms:*:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab", False),
        ("alias/orders-signer", False),
        ("*", False),
    ],
)
def test_signing_key_arns_refuse_wildcards_and_aliases(
    template: dict[str, Any], value: str, valid: bool
) -> None:
    pattern = template["Parameters"]["BrokerSigningKeyArns"]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is valid


# --- after the transform -------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return Deployment(FLEET)


def test_the_translated_broker_role_reaches_no_table_or_key_but_the_named_ones(
    deployment: Deployment,
) -> None:
    allowed = {"<BrokerTokenTable.Arn>", "<BrokerTokenKey.Arn>", SIGNER_RSA, SIGNER_EC}
    role = deployment.of_type("AWS::IAM::Role")["BrokerRole"]
    for policy in role["Policies"]:
        for statement in _statements(policy["PolicyDocument"]):
            services = {a.split(":")[0] for a in _strings(statement["Action"])}
            if services & {"dynamodb", "kms"}:
                assert set(_strings(statement["Resource"])) <= allowed, statement
    for name, other in deployment.of_type("AWS::IAM::Role").items():
        if name == "BrokerRole":
            continue
        actions = {
            a for p in other["Policies"] for s in _statements(p["PolicyDocument"])
            for a in _strings(s["Action"])
        }  # fmt: skip
        assert not {a for a in actions if a.startswith("dynamodb:")}, name
        assert "kms:Sign" not in actions, name


def test_the_translated_template_creates_the_table_key_and_alias_once(
    deployment: Deployment,
) -> None:
    assert list(deployment.of_type("AWS::DynamoDB::Table")) == ["BrokerTokenTable"]
    assert list(deployment.of_type("AWS::KMS::Key")) == ["BrokerTokenKey"]
    assert list(deployment.of_type("AWS::KMS::Alias")) == ["BrokerTokenKeyAlias"]
    function = deployment.of_type("AWS::Lambda::Function")["BrokerFunction"]
    variables = function["Environment"]["Variables"]
    assert variables["BROKER_SHARED_CACHE_TABLE"] == "<BrokerTokenTable>"
    assert Deployment({}).of_type("AWS::DynamoDB::Table") == {}
