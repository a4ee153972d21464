"""template.yaml as CloudFormation deploys it: loops expanded, SAM translated, inspected.

CloudFormation runs the template's two transforms in order: AWS::LanguageExtensions
expands the Fn::ForEach loops for the stack's parameter values, then the SAM transform
(aws-sam-translator, the same library the service runs) turns the serverless resources into
plain CloudFormation. Offline, the loops are expanded by the resolver of test_template.py
(checked here against cfn-lint's own language-extension transform), the result is
translated by aws-sam-translator with the same parameter values, and the tests read what
a deployment with those values would create: every IAM role and policy, every function,
log group, version, alias and permission.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from tests.unit.test_template import _Resolver, _walk
from tools.cfn import load_template

ACCOUNT, REGION = "123456789012", "us-east-1"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:scopegate/orders-api-AbCdEf"
SECRET_PATTERN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:scopegate/billing-??????"
OKTA_ADMIN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:scopegate/okta-admin-??????"
USER_POOL = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_AbCdEfGhI"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:ops-alerts"

# Everything switched on, every list with two items.
EVERYTHING = {
    "AuthorizerConfigParameter": "/scopegate/authorizer",
    "RestApiIds": "a1b2c3d4e5,f6g7h8i9j0",
    "HttpApiIds": "k1l2m3n4o5,p6q7r8s9t0",
    "WebSocketApiIds": "u1v2w3x4y5,z6a7b8c9d0",
    "BrokerConfigParameter": "scopegate/broker",
    "BrokerSecretArns": f"{SECRET},{SECRET_PATTERN}",
    "BrokerSecretsKmsKeyArn": KMS_KEY,
    "BrokerVpcEndpointIds": "vpce-0123456789abcdef0,vpce-0fedcba9876543210",
    "RotationSchedule": "rate(30 days)",
    "RotationManagementSecretArns": f"{OKTA_ADMIN},{OKTA_ADMIN.replace('okta', 'entra')}",
    "RotationCognitoUserPoolArns": USER_POOL,
    "AlarmTopicArn": TOPIC,
}
PARAMETER_SETS = {
    "defaults": {},
    "inline-config": {"AuthorizerConfig": '{"issuers": [], "routes": []}', "BrokerConfig": "{}"},
    "snapstart": {**EVERYTHING, "AuthorizerColdStart": "snapstart"},
    "provisioned": {
        **EVERYTHING,
        "AuthorizerColdStart": "provisioned",
        "AuthorizerProvisionedConcurrency": "4",
    },
}
# IAM accepts only "*" as the resource of these actions (Lambda's active tracing).
RESOURCELESS_ACTIONS = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
# What `sam package` puts in CodeUri before CloudFormation sees the template.
PACKAGED_CODE = "s3://scopegate-artifacts/0123456789abcdef0123456789abcdef"


def translate(params: Mapping[str, str]) -> dict[str, Any]:
    """The template after both transforms, for these parameter values."""
    template = load_template()
    assert template["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]
    template["Resources"] = _Resolver(template, params).resources  # AWS::LanguageExtensions
    template["Transform"] = "AWS::Serverless-2016-10-31"
    template["Globals"]["Function"]["CodeUri"] = PACKAGED_CODE
    translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    translated: dict[str, Any] = translator.translate(
        template, parameter_values=dict(params), get_managed_policy_map=dict
    )
    assert "Transform" not in translated
    return translated


class Deployment:
    """The translated template's resources and outputs as created for ``params``."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.template = translate(params)
        self.resolver = _Resolver(self.template, params)
        self.resources: dict[str, Any] = {}
        for name, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.resolver.condition(resource["Condition"]):
                continue
            self.resources[name] = self.resolver.resolve(resource)
        self.outputs = self.resolver.resolve(self.template["Outputs"])

    def of_type(self, kind: str) -> dict[str, Any]:
        return {n: r["Properties"] for n, r in self.resources.items() if r["Type"] == kind}


@pytest.fixture(scope="module", params=sorted(PARAMETER_SETS))
def deployment(request: pytest.FixtureRequest) -> Deployment:
    return Deployment(PARAMETER_SETS[request.param])


def _statements(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    statements = document["Statement"]
    yield from [statements] if isinstance(statements, dict) else statements


def _strings(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _scoped(resource: str) -> bool:
    """An ARN of this stack's resources, or of this account and region's own."""
    if re.fullmatch(r"<[A-Za-z0-9]+\.Arn>", resource):  # Fn::GetAtt of a stack resource
        return True
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[1] != "aws":
        return False
    service, region, account, rest = parts[2], parts[3], parts[4], parts[5]
    return (
        bool(re.fullmatch(r"[a-z0-9-]+", service))
        and region == REGION
        and account == ACCOUNT
        and not rest.startswith("*")
    )


# --- the expansion the translation starts from ---------------------------------------


def test_the_loops_expand_as_cfn_lints_language_extension_transform_expands_them() -> None:
    from cfnlint.decode import decode_str
    from cfnlint.template import Template
    from cfnlint.template.transforms._language_extensions import language_extension

    with open(_template_path(), encoding="utf-8") as f:
        decoded, problems = decode_str(f.read())
    assert problems == []
    # cfn-lint expands a loop over a parameter from its default (and over an empty
    # default with placeholders): give every parameter of the loops a value as Default.
    for name, value in EVERYTHING.items():
        decoded["Parameters"][name]["Default"] = value
    matches, expanded = language_extension(Template("template.yaml", decoded, [REGION]))
    assert matches == []
    ours = _Resolver(load_template(), EVERYTHING).resources
    theirs = json.loads(json.dumps(expanded["Resources"]))
    assert sorted(theirs) == sorted(ours)
    assert theirs == json.loads(json.dumps(ours))


def _template_path() -> str:
    from tests.unit.test_template import TEMPLATE_PATH

    return str(TEMPLATE_PATH)


# --- IAM ---------------------------------------------------------------------------------


def test_roles_are_only_ours_with_inline_policies(deployment: Deployment) -> None:
    roles = deployment.of_type("AWS::IAM::Role")
    assert sorted(roles) == ["AuthorizerRole", "BrokerRole", "RotationRole"]
    for name, role in roles.items():
        # No managed policy: AWSLambdaBasicExecutionRole would grant logs on every group.
        assert "ManagedPolicyArns" not in role, name
        assert role["Policies"], name


def test_no_statement_grants_a_wildcard_action(deployment: Deployment) -> None:
    for document in _identity_policies(deployment):
        for statement in _statements(document):
            assert "NotAction" not in statement
            assert "NotResource" not in statement
            for action in _strings(statement["Action"]):
                assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), statement


def test_every_resource_is_scoped_wherever_iam_allows_it(deployment: Deployment) -> None:
    for document in _identity_policies(deployment):
        for statement in _statements(document):
            actions = set(_strings(statement["Action"]))
            for resource in _strings(statement["Resource"]):
                if resource == "*":
                    assert actions <= RESOURCELESS_ACTIONS, statement
                else:
                    assert _scoped(resource), statement


def test_the_only_managed_policy_is_the_task_policy(deployment: Deployment) -> None:
    policies = deployment.of_type("AWS::IAM::ManagedPolicy")
    assert sorted(policies) == ["BrokerInvokePolicy"]
    (statement,) = _statements(policies["BrokerInvokePolicy"]["PolicyDocument"])
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == (
        f"arn:aws:execute-api:{REGION}:{ACCOUNT}:<BrokerApi>/<BrokerStage>/POST/token"
    )


def _identity_policies(deployment: Deployment) -> Iterator[Mapping[str, Any]]:
    for role in deployment.of_type("AWS::IAM::Role").values():
        for policy in role["Policies"]:
            yield policy["PolicyDocument"]
    for policy in deployment.of_type("AWS::IAM::ManagedPolicy").values():
        yield policy["PolicyDocument"]


# --- functions and their logs ----------------------------------------------------------


def test_every_function_is_python313_on_arm64_traced(deployment: Deployment) -> None:
    functions = deployment.of_type("AWS::Lambda::Function")
    assert sorted(functions) == ["AuthorizerFunction", "BrokerFunction", "RotationFunction"]
    for name, function in functions.items():
        assert function["Runtime"] == "python3.13", name
        assert function["Architectures"] == ["arm64"], name
        assert function["TracingConfig"] == {"Mode": "Active"}, name
        assert function["Code"] == {
            "S3Bucket": "scopegate-artifacts",
            "S3Key": "0123456789abcdef0123456789abcdef",
        }


def test_every_function_logs_to_a_group_of_the_stack_with_retention(
    deployment: Deployment,
) -> None:
    groups = deployment.of_type("AWS::Logs::LogGroup")
    roles = deployment.of_type("AWS::IAM::Role")
    for name, function in deployment.of_type("AWS::Lambda::Function").items():
        group = function["LoggingConfig"]["LogGroup"]
        logical_id = group.strip("<>")
        assert logical_id in groups, name
        assert groups[logical_id]["RetentionInDays"] in {"30", "90"}, name
        # ...and its role writes there and nowhere else.
        role = function["Role"].removesuffix(".Arn>").removeprefix("<")
        (logs,) = [
            s
            for p in roles[role]["Policies"]
            for s in _statements(p["PolicyDocument"])
            if any(a.startswith("logs:") for a in _strings(s["Action"]))
        ]
        assert logs["Resource"] == f"<{logical_id}.Arn>", name


# --- what API Gateway calls --------------------------------------------------------------


def test_api_gateway_may_invoke_the_authorizer_from_the_listed_apis_only(
    deployment: Deployment,
) -> None:
    permissions = {
        name: p
        for name, p in deployment.of_type("AWS::Lambda::Permission").items()
        if name.startswith("Authorizer")
    }
    params = deployment.resolver.params
    api_ids = [
        i
        for key in ("RestApiIds", "HttpApiIds", "WebSocketApiIds")
        for i in params[key].split(",")
        if i
    ]
    assert len(permissions) == 2 * len(api_ids)
    sources = sorted(p["SourceArn"] for p in permissions.values())
    assert sources == sorted(
        f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{i}/authorizers/*" for i in api_ids for _ in (0, 1)
    )
    targets = {p["FunctionName"] for p in permissions.values()}
    if api_ids:
        # The function itself and the alias SAM made for AutoPublishAlias: live.
        assert targets == {"<AuthorizerFunction.Arn>", "<AuthorizerFunctionAliaslive>"}
    for permission in permissions.values():
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert permission["SourceAccount"] == ACCOUNT


def test_the_arn_to_attach_is_the_function_or_with_a_cold_start_option_the_alias(
    deployment: Deployment,
) -> None:
    mode = deployment.resolver.params["AuthorizerColdStart"]
    attach = deployment.outputs["AuthorizerFunctionArn"]["Value"]
    assert attach == (
        "<AuthorizerFunction.Arn>" if mode == "none" else "<AuthorizerFunctionAliaslive>"
    )
    (alias,) = deployment.of_type("AWS::Lambda::Alias").values()
    (version_id,) = deployment.of_type("AWS::Lambda::Version")
    assert alias["Name"] == "live"
    assert alias["FunctionVersion"] == f"<{version_id}.Version>"
    function = deployment.of_type("AWS::Lambda::Function")["AuthorizerFunction"]
    snapstart = "PublishedVersions" if mode == "snapstart" else "None"
    assert function["SnapStart"] == {"ApplyOn": snapstart}
    if mode == "provisioned":
        assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": "4"}
    else:
        assert "ProvisionedConcurrencyConfig" not in alias


def test_the_version_description_carries_the_parameter_values_sam_does_not_see() -> None:
    """SAM names the version after the template's text only (SAM issue #3820): changing
    LogLevel keeps the version's logical id, and only its description, which cannot change
    in place, makes CloudFormation publish a new version for the alias."""
    quiet, debug = Deployment({}), Deployment({"LogLevel": "DEBUG"})
    ((quiet_id, quiet_version),) = quiet.of_type("AWS::Lambda::Version").items()
    ((debug_id, debug_version),) = debug.of_type("AWS::Lambda::Version").items()
    assert quiet_id == debug_id
    assert quiet_version["Description"] != debug_version["Description"]
    assert "DEBUG" in debug_version["Description"]


# --- nothing is lost on the way --------------------------------------------------------


def test_every_parameter_is_still_used_after_translation(deployment: Deployment) -> None:
    text = json.dumps({k: v for k, v in deployment.template.items() if k != "Parameters"})
    template = copy.deepcopy(deployment.template)
    referenced = {n["Ref"] for n in _walk(template) if isinstance(n, Mapping) and "Ref" in n}
    for name in template["Parameters"]:
        assert name in referenced or f"${{{name}}}" in text, name


def test_alarms_and_their_actions_survive_translation(deployment: Deployment) -> None:
    alarms = deployment.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) == 3
    topic = deployment.resolver.params["AlarmTopicArn"]
    for alarm in alarms.values():
        assert alarm.get("AlarmActions", []) == ([topic] if topic else [])
