"""template.yaml, samconfig.toml and events/ as users and API Gateway see them.

The template is read with a YAML loader that turns CloudFormation short-form tags into
their long form, and a small resolver expands its Fn::ForEach loops, evaluates the few
intrinsic functions it uses and checks its Rules, so the tests can state what a
deployment with given parameters receives (before the SAM transform; the template as SAM
translates it is tested in test_template_translated.py).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from authorizer import handler
from authorizer.decision import Unauthorized
from authorizer.sources import ConfigSource
from scopegate_core.observability import DecisionMetrics
from tests.support.issuer import AUDIENCE, LocalIssuer
from tools.cfn import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
EVENTS_DIR = ROOT / "events"

TOKEN_PLACEHOLDER = "REPLACE_WITH_TOKEN"
BEARER = f"Bearer {TOKEN_PLACEHOLDER}"
ARN_PREFIX = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

# The values CloudWatch Logs accepts for RetentionInDays.
CLOUDWATCH_RETENTION_DAYS = {
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
}  # fmt: skip

CONFIG_SOURCE_VARIABLES = (
    "AUTHORIZER_CONFIG",
    "AUTHORIZER_CONFIG_PARAMETER",
    "AUTHORIZER_CONFIG_MAX_AGE",
)


# --- reading the template ------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def _walk(node: Any) -> Iterator[Any]:
    """Every value in a template fragment, depth first, the fragment itself included."""
    yield node
    if isinstance(node, Mapping):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# --- a resolver for the intrinsic functions the template uses -------------------------

_NO_VALUE = object()
_PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "scopegate",
    "AWS::URLSuffix": "amazonaws.com",
}


_FOR_EACH = "Fn::ForEach::"


def _substitute(node: Any, identifier: str, value: str) -> Any:
    """A Fn::ForEach fragment for one collection value, as AWS::LanguageExtensions makes it.

    `${Identifier}` becomes the value, `&{Identifier}` the value's letters and digits only
    (for logical ids), and `{"Ref": Identifier}` the value itself.
    """
    if isinstance(node, str):
        alphanumeric = re.sub(r"[^0-9A-Za-z]", "", value)
        return node.replace(f"${{{identifier}}}", value).replace(f"&{{{identifier}}}", alphanumeric)
    if isinstance(node, list):
        return [_substitute(item, identifier, value) for item in node]
    if isinstance(node, Mapping):
        if dict(node) == {"Ref": identifier}:
            return value
        return {
            _substitute(key, identifier, value): _substitute(item, identifier, value)
            for key, item in node.items()
        }
    return node


class _Resolver:
    """Evaluates the template for one set of parameter values, as CloudFormation would."""

    def __init__(self, template: Mapping[str, Any], overrides: Mapping[str, str]) -> None:
        self.template = template
        self.params = {
            name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()
        }
        unknown = set(overrides) - set(self.params)
        assert not unknown, f"not template parameters: {unknown}"
        self.params.update(overrides)
        self.resources = self._expand(template["Resources"])

    def _expand(self, section: Mapping[str, Any]) -> dict[str, Any]:
        """The section with its Fn::ForEach loops unrolled for these parameter values."""
        expanded: dict[str, Any] = {}
        for key, value in section.items():
            if not key.startswith(_FOR_EACH):
                expanded[key] = value
                continue
            identifier, collection, fragment = value
            items = self.resolve(collection)
            assert isinstance(items, list), f"{key} must loop over a list"
            for item in items:
                for name, resource in _substitute(fragment, identifier, str(item)).items():
                    assert re.fullmatch(r"[A-Za-z0-9]{1,255}", name), f"bad logical id {name!r}"
                    assert name not in expanded, f"{key} makes {name} twice"
                    expanded[name] = resource
        return expanded

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def rule_violations(self) -> list[str]:
        """The AssertDescription of every Rules assertion these parameter values break."""
        broken: list[str] = []
        for rule in self.template.get("Rules", {}).values():
            if "RuleCondition" in rule and not self.resolve(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self.resolve(assertion["Assert"]):
                    broken.append(assertion["AssertDescription"])
        return broken

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in _PSEUDO:
            return _PSEUDO[name]
        if name in self.params:
            if self.template["Parameters"][name]["Type"] == "CommaDelimitedList":
                return self.params[name].split(",")
            return self.params[name]
        # SAM resolves Ref FUNCTION.Alias to the alias that AutoPublishAlias creates.
        assert name.removesuffix(".Alias") in self.resources, f"Ref to unknown {name}"
        return f"<{name}>"

    def _sub(self, text: str, variables: Mapping[str, Any] | None = None) -> str:
        def replace(match: re.Match[str]) -> str:
            name, attribute = match.group(1), match.group(2)
            if variables and name in variables:
                return str(self.resolve(variables[name]))
            return f"<{name}.{attribute}>" if attribute else str(self._ref(name))

        return re.sub(r"\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z0-9.]+))?\}", replace, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Fn::Select":
                index, values = arg
                return self.resolve(values)[int(index)]
            if key == "Fn::Join":
                delimiter, values = arg
                return delimiter.join(str(v) for v in self.resolve(values))
            if key == "Fn::Split":
                delimiter, text = arg
                return str(self.resolve(text)).split(delimiter)
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    return self._sub(arg[0], arg[1])
                return self._sub(arg)
            if key == "Fn::GetAtt":
                return f"<{'.'.join(arg)}>"
        return {
            k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not _NO_VALUE
        }


def _function(template: Mapping[str, Any], name: str = "AuthorizerFunction") -> Mapping[str, Any]:
    resource = template["Resources"][name]
    assert resource["Type"] == "AWS::Serverless::Function"
    properties: Mapping[str, Any] = resource["Properties"]
    return properties


def _function_property(
    template: Mapping[str, Any], name: str, function: str = "AuthorizerFunction"
) -> Any:
    """A property as SAM applies it: the function's own value, else the Globals value."""
    own = _function(template, function)
    if name in own:
        return own[name]
    return template.get("Globals", {}).get("Function", {})[name]


def _deployed_environment(
    template: Mapping[str, Any], function: str = "AuthorizerFunction", **params: str
) -> dict[str, str]:
    resolver = _Resolver(template, params)
    merged: dict[str, Any] = {}
    for source in (template.get("Globals", {}).get("Function", {}), _function(template, function)):
        merged.update(source.get("Environment", {}).get("Variables", {}))
    environment = resolver.resolve(merged)
    assert isinstance(environment, dict)
    return environment


def _deployed_resources(template: Mapping[str, Any], **params: str) -> dict[str, Any]:
    """The resources a deployment creates: loops unrolled, conditions applied, resolved."""
    resolver = _Resolver(template, params)
    deployed: dict[str, Any] = {}
    for name, resource in resolver.resources.items():
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        deployed[name] = resolver.resolve(resource)
    return deployed


# Every function's role starts with this policy: its own log group and the X-Ray writes.
BASE_POLICY = "LogsAndTraces"


def _role_name(template: Mapping[str, Any], function: str = "AuthorizerFunction") -> str:
    role = _function(template, function)["Role"]
    name = role["Fn::GetAtt"][0]
    assert role == {"Fn::GetAtt": [name, "Arn"]}, "a role of this stack, by its ARN"
    assert template["Resources"][name]["Type"] == "AWS::IAM::Role"
    return str(name)


def _deployed_policies(
    template: Mapping[str, Any], function: str = "AuthorizerFunction", **params: str
) -> dict[str, list[dict[str, Any]]]:
    """Policy name -> statements of the inline policies a function's role gets."""
    role = template["Resources"][_role_name(template, function)]["Properties"]
    assert "ManagedPolicyArns" not in role, "every permission is written out in the template"
    policies = _Resolver(template, params).resolve(role["Policies"])
    return {p["PolicyName"]: p["PolicyDocument"]["Statement"] for p in policies}


def _deployed_statements(
    template: Mapping[str, Any], function: str = "AuthorizerFunction", **params: str
) -> list[dict[str, Any]]:
    """The statements of a function's role beyond writing its own logs and traces."""
    policies = _deployed_policies(template, function, **params)
    return [s for name, statements in policies.items() if name != BASE_POLICY for s in statements]


# --- the function --------------------------------------------------------------------


def test_authorizer_function_runs_python313_on_arm64_from_src(template: dict[str, Any]) -> None:
    assert _function_property(template, "Runtime") == "python3.13"
    assert _function_property(template, "Architectures") == ["arm64"]
    assert _function_property(template, "CodeUri") == "src/"
    assert _function_property(template, "Handler") == "authorizer.handler.lambda_handler"


def test_authorizer_function_is_traced_and_bounded(template: dict[str, Any]) -> None:
    assert _function_property(template, "Tracing") == "Active"
    assert _function_property(template, "Timeout") <= 10


def test_powertools_is_configured_from_parameters(template: dict[str, Any]) -> None:
    environment = _deployed_environment(template, LogLevel="DEBUG", MetricsNamespace="acme")
    assert environment["POWERTOOLS_SERVICE_NAME"] == "scopegate-authorizer"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "acme"


def test_powertools_defaults(template: dict[str, Any]) -> None:
    environment = _deployed_environment(template)
    assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "scopegate"


# --- configuration sources -----------------------------------------------------------


def test_inline_config_is_the_only_source_passed(template: dict[str, Any]) -> None:
    document = '{"issuers": [], "routes": []}'
    environment = _deployed_environment(template, AuthorizerConfig=document)
    assert environment["AUTHORIZER_CONFIG"] == document
    assert "AUTHORIZER_CONFIG_PARAMETER" not in environment
    assert "AUTHORIZER_CONFIG_MAX_AGE" not in environment
    assert _deployed_statements(template, AuthorizerConfig=document) == []


@pytest.mark.parametrize("name", ["scopegate/authorizer", "/scopegate/authorizer"])
def test_ssm_parameter_source_reads_exactly_that_parameter(
    template: dict[str, Any], name: str
) -> None:
    environment = _deployed_environment(
        template, AuthorizerConfigParameter=name, AuthorizerConfigMaxAge="60"
    )
    assert environment["AUTHORIZER_CONFIG_PARAMETER"] == name
    assert environment["AUTHORIZER_CONFIG_MAX_AGE"] == "60"
    assert "AUTHORIZER_CONFIG" not in environment

    statements = _deployed_statements(template, AuthorizerConfigParameter=name)
    assert len(statements) == 1
    (statement,) = statements
    assert statement["Effect"] == "Allow"
    assert statement["Action"] in ("ssm:GetParameter", ["ssm:GetParameter"])
    assert statement["Resource"] == (
        "arn:aws:ssm:us-east-1:123456789012:parameter/scopegate/authorizer"
    )


def test_ssm_max_age_defaults_to_300_seconds(template: dict[str, Any]) -> None:
    environment = _deployed_environment(template, AuthorizerConfigParameter="scopegate/x")
    assert environment["AUTHORIZER_CONFIG_MAX_AGE"] == "300"


def test_no_source_passes_nothing_and_grants_nothing(template: dict[str, Any]) -> None:
    environment = _deployed_environment(template)
    assert not set(CONFIG_SOURCE_VARIABLES) & set(environment)
    assert _deployed_statements(template) == []


def test_both_sources_are_passed_so_the_function_fails_closed(template: dict[str, Any]) -> None:
    # Deliberately not rejected at deploy time: the function sees both and refuses to run.
    environment = _deployed_environment(
        template, AuthorizerConfig="{}", AuthorizerConfigParameter="scopegate/authorizer"
    )
    assert {"AUTHORIZER_CONFIG", "AUTHORIZER_CONFIG_PARAMETER"} <= set(environment)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("", True),
        ("scopegate", True),
        ("scopegate/authorizer", True),
        ("/scopegate/authorizer-v1.2_x", True),
        ("arn:aws:ssm:us-east-1:123456789012:parameter/x", False),
        ("scopegate//authorizer", False),
        ("scopegate/", False),
        ("has space", False),
    ],
)
def test_ssm_parameter_name_pattern(template: dict[str, Any], name: str, valid: bool) -> None:
    pattern = template["Parameters"]["AuthorizerConfigParameter"]["AllowedPattern"]
    assert (re.fullmatch(pattern, name) is not None) is valid


# --- permissions ---------------------------------------------------------------------


def _action_strings(value: Any) -> Iterator[str]:
    for node in _walk(value):
        if isinstance(node, str):
            yield node


def test_no_iam_statement_uses_a_wildcard_action(template: dict[str, Any]) -> None:
    statements = [
        node for node in _walk(template) if isinstance(node, Mapping) and "Effect" in node
    ]
    assert statements, "expected at least one IAM statement to check"
    for statement in statements:
        assert "NotAction" not in statement, statement
        for action in _action_strings(statement["Action"]):
            assert "*" not in action, f"wildcard action {action!r} in {statement}"


# --- parameters ----------------------------------------------------------------------


def _referenced_names(template: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()
    sections = (
        template.get(key, {}) for key in ("Conditions", "Rules", "Globals", "Resources", "Outputs")
    )
    for node in _walk(list(sections)):
        if not isinstance(node, Mapping) or len(node) != 1:
            continue
        ((key, arg),) = node.items()
        if key == "Ref" and isinstance(arg, str):
            names.add(arg)
        elif key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            names.update(re.findall(r"\$\{([A-Za-z0-9:]+)", text))
    return names


def test_every_parameter_is_used(template: dict[str, Any]) -> None:
    unused = set(template["Parameters"]) - _referenced_names(template)
    assert not unused


def test_every_parameter_is_described(template: dict[str, Any]) -> None:
    for name, spec in template["Parameters"].items():
        assert len(spec.get("Description", "")) >= 20, name


def test_every_parameter_is_in_a_console_group(template: dict[str, Any]) -> None:
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert sorted(grouped) == sorted(template["Parameters"])


def test_config_parameter_descriptions_say_both_sources_fail_closed(
    template: dict[str, Any],
) -> None:
    for name in ("AuthorizerConfig", "AuthorizerConfigParameter"):
        assert "fail" in template["Parameters"][name]["Description"].lower(), name


def test_log_level_choices(template: dict[str, Any]) -> None:
    spec = template["Parameters"]["LogLevel"]
    assert spec["Default"] == "INFO"
    assert spec["AllowedValues"] == ["DEBUG", "INFO", "WARNING", "ERROR"]


# --- logs ----------------------------------------------------------------------------


def test_log_group_keeps_logs_for_the_chosen_retention(template: dict[str, Any]) -> None:
    log_groups = {
        name: resource
        for name, resource in _Resolver(template, {}).resources.items()
        if resource["Type"] == "AWS::Logs::LogGroup"
    }
    assert sorted(log_groups) == [
        "AuthorizerLogGroup",
        "BrokerAccessLogGroup",  # the broker API's access log, tested with the API
        "BrokerLogGroup",
        "RotationLogGroup",
    ]
    for function, group, name in (
        ("AuthorizerFunction", "AuthorizerLogGroup", "authorizer"),
        ("BrokerFunction", "BrokerLogGroup", "broker"),
        ("RotationFunction", "RotationLogGroup", "rotation"),
    ):
        properties = log_groups[group]["Properties"]
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert _function(template, function)["LoggingConfig"]["LogGroup"] == {"Ref": group}
        resolved = _Resolver(template, {}).resolve(properties)
        assert resolved["LogGroupName"] == f"/aws/lambda/scopegate-{name}"
        assert resolved["RetentionInDays"] == "30"


def test_log_retention_offers_exactly_the_cloudwatch_values(template: dict[str, Any]) -> None:
    spec = template["Parameters"]["LogRetentionDays"]
    assert set(spec["AllowedValues"]) == CLOUDWATCH_RETENTION_DAYS
    assert spec["Default"] in CLOUDWATCH_RETENTION_DAYS


# --- every function ------------------------------------------------------------------

# function -> (its role, its log group)
FUNCTIONS = {
    "AuthorizerFunction": ("AuthorizerRole", "AuthorizerLogGroup"),
    "BrokerFunction": ("BrokerRole", "BrokerLogGroup"),
    "RotationFunction": ("RotationRole", "RotationLogGroup"),
}
# The only actions granted on Resource "*": they take no resource ARN, so IAM accepts no
# other value. Lambda needs both for active tracing (Tracing: Active).
RESOURCELESS_ACTIONS = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}


def test_the_functions_are_the_three_known_ones(template: dict[str, Any]) -> None:
    functions = [
        name
        for name, resource in _Resolver(template, {}).resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    assert sorted(functions) == sorted(FUNCTIONS)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_runs_python313_on_arm64_traced(
    template: dict[str, Any], function: str
) -> None:
    assert _function_property(template, "Runtime", function) == "python3.13"
    assert _function_property(template, "Architectures", function) == ["arm64"]
    assert _function_property(template, "Tracing", function) == "Active"
    assert _function_property(template, "CodeUri", function) == "src/"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_logs_to_its_own_group_with_the_chosen_retention(
    template: dict[str, Any], function: str
) -> None:
    _, group = FUNCTIONS[function]
    assert _function(template, function)["LoggingConfig"] == {"LogGroup": {"Ref": group}}
    log_group = _deployed_resources(template, LogRetentionDays="90")[group]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == "90"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_role_writes_its_own_log_group_and_traces_only(
    template: dict[str, Any], function: str
) -> None:
    role, group = FUNCTIONS[function]
    assert _role_name(template, function) == role
    trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    assert _deployed_policies(template, function)[BASE_POLICY] == [
        {
            "Sid": "WriteOwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"<{group}.Arn>",  # arn:...:log-group:NAME:* (its streams)
        },
        {
            "Sid": "WriteTraces",
            "Effect": "Allow",
            "Action": sorted(RESOURCELESS_ACTIONS),
            "Resource": "*",
        },
    ]


def test_only_resourceless_actions_are_granted_on_every_resource(
    template: dict[str, Any],
) -> None:
    statements = [
        n for n in _walk(template["Resources"]) if isinstance(n, Mapping) and "Effect" in n
    ]
    for statement in statements:
        resources = statement.get("Resource")
        if resources == "*" or (isinstance(resources, list) and "*" in resources):
            assert set(_action_strings(statement["Action"])) <= RESOURCELESS_ACTIONS, statement
        assert "NotResource" not in statement, statement


# --- invoke permissions for the user's APIs ------------------------------------------

API_ID_PARAMETERS = {"RestApiIds": "Rest", "HttpApiIds": "Http", "WebSocketApiIds": "WebSocket"}
API_A, API_B = "a1b2c3d4e5", "f6g7h8i9j0"


def _api_permissions(template: Mapping[str, Any], **params: str) -> dict[str, Any]:
    return {
        name: resource["Properties"]
        for name, resource in _deployed_resources(template, **params).items()
        if resource["Type"] == "AWS::Lambda::Permission"
        and resource["Properties"]["Principal"] == "apigateway.amazonaws.com"
        and name != "BrokerApiInvokePermission"
    }


def _expected_permissions(kind: str, *api_ids: str) -> dict[str, Any]:
    """One permission for the function and one for its alias, per API id."""
    expected: dict[str, Any] = {}
    for api_id in api_ids:
        for target, function in (
            ("", "<AuthorizerFunction.Arn>"),
            ("Alias", "<AuthorizerFunction.Alias>"),
        ):
            expected[f"Authorizer{target}{kind}ApiPermission{api_id}"] = {
                "FunctionName": function,
                "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com",
                "SourceAccount": "123456789012",
                "SourceArn": f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/authorizers/*",
            }
    return expected


def test_no_api_ids_grant_no_invoke_permission(template: dict[str, Any]) -> None:
    assert _api_permissions(template) == {}


@pytest.mark.parametrize("parameter", sorted(API_ID_PARAMETERS))
def test_each_api_id_may_invoke_the_authorizer_from_its_own_authorizers_only(
    template: dict[str, Any], parameter: str
) -> None:
    permissions = _api_permissions(template, **{parameter: f"{API_A},{API_B}"})
    assert permissions == _expected_permissions(API_ID_PARAMETERS[parameter], API_A, API_B)


def test_api_ids_of_every_type_get_their_own_permissions(template: dict[str, Any]) -> None:
    params = {"RestApiIds": API_A, "HttpApiIds": API_B, "WebSocketApiIds": "k1l2m3n4o5"}
    expected = {
        **_expected_permissions("Rest", API_A),
        **_expected_permissions("Http", API_B),
        **_expected_permissions("WebSocket", "k1l2m3n4o5"),
    }
    assert _api_permissions(template, **params) == expected


@pytest.mark.parametrize("mode", ["none", "snapstart", "provisioned"])
def test_switching_the_cold_start_option_keeps_every_permission(
    template: dict[str, Any], mode: str
) -> None:
    # The ARN to attach changes with the option; authorizers still on the other one work.
    params = {"RestApiIds": API_A, "AuthorizerConfigParameter": "/sg/authorizer"}
    permissions = _api_permissions(template, AuthorizerColdStart=mode, **params)
    assert permissions == _expected_permissions("Rest", API_A)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("", True),
        (API_A, True),
        ("abc", False),
        ("A1B2C3D4E5", False),
        ("a1b2c3d4e5f", False),
        ("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5", False),
        ("a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", False),
    ],
)
def test_api_id_pattern(template: dict[str, Any], value: str, valid: bool) -> None:
    # CloudFormation matches a CommaDelimitedList's pattern against each item.
    for parameter in API_ID_PARAMETERS:
        pattern = template["Parameters"][parameter]["AllowedPattern"]
        assert (re.fullmatch(pattern, value) is not None) is valid


# --- the authorizer's cold start option ----------------------------------------------

SSM_CONFIG = {"AuthorizerConfigParameter": "/scopegate/authorizer"}


def _authorizer(template: Mapping[str, Any], **params: str) -> dict[str, Any]:
    properties: dict[str, Any] = _deployed_resources(template, **params)["AuthorizerFunction"][
        "Properties"
    ]
    return properties


def _attached_arn(template: Mapping[str, Any], **params: str) -> Any:
    """What the AuthorizerFunctionArn output tells users to attach."""
    return _Resolver(template, params).resolve(template["Outputs"])["AuthorizerFunctionArn"][
        "Value"
    ]


def test_cold_start_option_is_off_by_default(template: dict[str, Any]) -> None:
    spec = template["Parameters"]["AuthorizerColdStart"]
    assert (spec["Default"], spec["AllowedValues"]) == (
        "none",
        ["none", "snapstart", "provisioned"],
    )
    function = _authorizer(template)
    assert function["SnapStart"] == {"ApplyOn": "None"}
    assert "ProvisionedConcurrencyConfig" not in function
    assert _attached_arn(template) == "<AuthorizerFunction.Arn>"  # $LATEST: always current


def test_snapstart_snapshots_published_versions_and_the_alias_is_attached(
    template: dict[str, Any],
) -> None:
    function = _authorizer(template, AuthorizerColdStart="snapstart", **SSM_CONFIG)
    assert function["AutoPublishAlias"] == "live"
    assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert "ProvisionedConcurrencyConfig" not in function  # Lambda refuses both at once
    assert _attached_arn(template, AuthorizerColdStart="snapstart") == "<AuthorizerFunction.Alias>"


def test_provisioned_concurrency_is_set_on_the_alias_that_is_attached(
    template: dict[str, Any],
) -> None:
    params = {"AuthorizerColdStart": "provisioned", "AuthorizerProvisionedConcurrency": "3"}
    function = _authorizer(template, **params, **SSM_CONFIG)
    # SAM puts ProvisionedConcurrencyConfig on the AutoPublishAlias alias.
    assert function["AutoPublishAlias"] == "live"
    assert function["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": "3"}
    assert function["SnapStart"] == {"ApplyOn": "None"}
    assert _attached_arn(template, **params) == "<AuthorizerFunction.Alias>"


def test_every_property_change_publishes_a_version(template: dict[str, Any]) -> None:
    assert _function(template)["AutoPublishAliasAllProperties"] is True


@pytest.mark.parametrize("mode", ["snapstart", "provisioned"])
def test_cold_start_options_refuse_an_inline_configuration(
    template: dict[str, Any], mode: str
) -> None:
    inline = _Resolver(template, {"AuthorizerColdStart": mode, "AuthorizerConfig": "{}"})
    (violation,) = inline.rule_violations()
    assert "AuthorizerConfigParameter" in violation
    assert _Resolver(template, {"AuthorizerColdStart": mode, **SSM_CONFIG}).rule_violations() == []
    assert _Resolver(template, {"AuthorizerConfig": "{}"}).rule_violations() == []


def _baked_into_a_version(template: Mapping[str, Any], **params: str) -> Any:
    """What a published version keeps: its environment and its SnapStart setting."""
    environment = _deployed_environment(template, **params)
    return sorted(environment.items()), _authorizer(template, **params)["SnapStart"]


def _version_description(template: Mapping[str, Any], **params: str) -> str:
    description: str = _authorizer(template, **params)["VersionDescription"]
    return description


# Values of the parameters that reach the authorizer function, for the grid below. One
# inline document only: with a cold start option an inline document is refused (Rules),
# and without one the alias is not what API Gateway calls.
VERSION_INPUTS = {
    "AuthorizerColdStart": ["none", "snapstart", "provisioned"],
    "AuthorizerProvisionedConcurrency": ["1", "5"],
    "LogLevel": ["INFO", "DEBUG"],
    "MetricsNamespace": ["scopegate", "acme"],
    "AuthorizerConfig": ["", '{"issuers": [], "routes": []}'],
    "AuthorizerConfigParameter": ["", "/scopegate/authorizer", "/scopegate/other"],
    "AuthorizerConfigMaxAge": ["300", "60"],
}


def test_a_new_version_is_published_exactly_when_what_it_keeps_changes(
    template: dict[str, Any],
) -> None:
    """SAM names a new version after the template's text, not the parameter values behind
    it (SAM issue #3820); the version's description, which cannot change in place, carries
    those values instead. It must change when, and only when, the version would differ: a
    change without one would replace a version by an identical one."""
    description_of: dict[Any, str] = {}
    baked_by: dict[str, Any] = {}
    for values in itertools.product(*VERSION_INPUTS.values()):
        params = dict(zip(VERSION_INPUTS, values, strict=True))
        description = _version_description(template, **params)
        baked = repr(_baked_into_a_version(template, **params))
        assert description_of.setdefault(baked, description) == description, params
        assert baked_by.setdefault(description, baked) == baked, params


def test_the_version_description_fits_for_the_longest_allowed_values(
    template: dict[str, Any],
) -> None:
    parameters = template["Parameters"]
    longest = {
        "AuthorizerColdStart": "snapstart",
        "LogLevel": "WARNING",
        "MetricsNamespace": "n" * parameters["MetricsNamespace"]["MaxLength"],
        "AuthorizerConfigParameter": "/"
        + "p" * (parameters["AuthorizerConfigParameter"]["MaxLength"] - 1),
        "AuthorizerConfigMaxAge": str(parameters["AuthorizerConfigMaxAge"]["MaxValue"]),
    }
    for name in ("MetricsNamespace", "AuthorizerConfigParameter"):
        assert re.fullmatch(parameters[name]["AllowedPattern"], longest[name])
    assert len(_version_description(template, **longest)) <= 256  # Lambda's limit


# --- alarms --------------------------------------------------------------------------

ALARMS = ("AuthorizerErrorsAlarm", "BrokerServerErrorsAlarm", "RotationFailuresAlarm")
TOPIC = "arn:aws:sns:us-east-1:123456789012:ops-alerts"


def _alarms(template: Mapping[str, Any], **params: str) -> dict[str, Any]:
    return {
        name: resource["Properties"]
        for name, resource in _deployed_resources(template, **params).items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def _dimensions(metric: Mapping[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in metric["Dimensions"]}


def test_three_alarms_without_notifications_by_default(template: dict[str, Any]) -> None:
    alarms = _alarms(template)
    assert sorted(alarms) == sorted(ALARMS)
    for name, alarm in alarms.items():
        assert "AlarmActions" not in alarm, name
        assert "OKActions" not in alarm, name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
        assert alarm["AlarmName"].startswith("scopegate-"), name
        # The description is what the notification and the console show: say what broke.
        assert "5 minutes" in alarm["AlarmDescription"], name


def test_alarms_notify_the_given_topic_on_alarm_and_back_to_ok(template: dict[str, Any]) -> None:
    for name, alarm in _alarms(template, AlarmTopicArn=TOPIC).items():
        assert alarm["AlarmActions"] == [TOPIC], name
        assert alarm["OKActions"] == [TOPIC], name


def test_authorizer_alarm_counts_failures_not_unauthenticated_requests(
    template: dict[str, Any],
) -> None:
    alarm = _alarms(template, MetricsNamespace="acme")["AuthorizerErrorsAlarm"]
    (expression,) = [m for m in alarm["Metrics"] if "Expression" in m]
    stats = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert expression["ReturnData"] is True
    assert all(m["ReturnData"] is False for m in alarm["Metrics"] if m is not expression)
    # The expression adds up every metric, a missing datapoint counting as zero.
    assert sorted(re.findall(r"FILL\((\w+), 0\)", expression["Expression"])) == sorted(stats)
    assert set(expression["Expression"].replace(" ", "").split("+")) == {
        f"FILL({i},0)" for i in stats
    }
    watched = {
        (
            s["Metric"]["Namespace"],
            s["Metric"]["MetricName"],
            tuple(sorted(_dimensions(s["Metric"]).items())),
        )
        for s in stats.values()
    }
    service = ("service", "scopegate-authorizer")
    assert watched == {
        ("acme", "Deny", (("reason", "config_invalid"), service)),
        ("acme", "Deny", (("reason", "config_unavailable"), service)),
        ("acme", "Unauthenticated", (("reason", "jwks_unavailable"), service)),
        ("AWS/Lambda", "Throttles", (("FunctionName", "<AuthorizerFunction>"),)),
    }
    assert {(s["Period"], s["Stat"]) for s in stats.values()} == {(300, "Sum")}
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (1, 1)


class _UnreachableSsm:
    def get_parameter(self, **kwargs: Any) -> Any:
        raise _ThrottledError()


class _ThrottledError(Exception):
    response: ClassVar[dict[str, Any]] = {"Error": {"Code": "ThrottlingException"}}


def _published_metrics(printed: str) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric, dimensions) of every EMF document in the printed lines."""
    published = set()
    for line in printed.splitlines():
        emf = json.loads(line)
        if "_aws" not in emf:
            continue
        (directive,) = emf["_aws"]["CloudWatchMetrics"]
        (dimension_names,) = directive["Dimensions"]
        dimensions = tuple(sorted((name, emf[name]) for name in dimension_names))
        for metric in directive["Metrics"]:
            published.add((directive["Namespace"], metric["Name"], dimensions))
    return published


def test_authorizer_alarm_watches_the_metrics_the_authorizer_publishes(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fail closed and lose the keys for real, and read the EMF documents it prints."""
    for name, value in _deployed_environment(template, MetricsNamespace="acme").items():
        monkeypatch.setenv(name, value)  # POWERTOOLS_SERVICE_NAME names the service dimension
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    monkeypatch.setattr(handler, "metrics", DecisionMetrics("acme"))
    idp = LocalIssuer()
    idp.down = True  # the issuer's keys cannot be fetched
    issuer = {"issuer": idp.issuer, "audiences": [AUDIENCE]}
    document = json.dumps({"issuers": [issuer], "routes": [{"route": "GET /x", "scopes": ["x"]}]})
    sources = (
        ConfigSource({"AUTHORIZER_CONFIG": "{not json"}),
        ConfigSource({"AUTHORIZER_CONFIG_PARAMETER": "/sg/a"}, ssm_client=_UnreachableSsm()),
        ConfigSource({"AUTHORIZER_CONFIG": document}),
    )
    event = _load_event("authorizer-rest-token.json")
    event["authorizationToken"] = f"Bearer {idp.token()}"
    capsys.readouterr()
    for source in sources:
        with contextlib.suppress(Unauthorized):
            handler.handle(handler.Runtime(source, idp), event)
    handler.metrics.flush()

    published = _published_metrics(capsys.readouterr().out)
    alarm = _alarms(template, MetricsNamespace="acme")["AuthorizerErrorsAlarm"]
    ours = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    for metric in (m for m in ours if m["Namespace"] == "acme"):
        dimensions = tuple(sorted(_dimensions(metric).items()))
        assert ("acme", metric["MetricName"], dimensions) in published, published


def test_broker_alarm_watches_the_broker_api_stage(template: dict[str, Any]) -> None:
    alarm = _alarms(template)["BrokerServerErrorsAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    # REST API metrics are published under the API's name and the stage name.
    api_name = _resource(template, "BrokerApi")["Name"]
    assert _dimensions(alarm) == {"ApiName": api_name, "Stage": "<BrokerStage>"}
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 300, 5)


def test_rotation_alarm_counts_failed_steps(template: dict[str, Any]) -> None:
    alarm = _alarms(template)["RotationFailuresAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert _dimensions(alarm) == {"FunctionName": "<RotationFunction>"}
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 300, 1)


# --- outputs, description and lint ---------------------------------------------------

OUTPUTS = (
    "AuthorizerFunctionArn",
    "BrokerTokenUrl",
    "BrokerInvokePolicyArn",
    "RotationFunctionArn",
)


def test_the_outputs_users_need_are_there_and_described(template: dict[str, Any]) -> None:
    assert sorted(template["Outputs"]) == sorted(OUTPUTS)
    for name, output in template["Outputs"].items():
        assert len(output.get("Description", "")) >= 40, name


def test_authorizer_function_arn_output_says_how_to_let_other_apis_invoke_it(
    template: dict[str, Any],
) -> None:
    description = template["Outputs"]["AuthorizerFunctionArn"]["Description"]
    assert "lambda:InvokeFunction" in description
    assert '"live"' in description


def test_template_description_fits_and_names_the_outputs(template: dict[str, Any]) -> None:
    description = template["Description"]
    assert len(description.encode()) <= 1024  # CloudFormation's limit
    for name in ("AuthorizerFunctionArn", "BrokerTokenUrl", "BrokerInvokePolicyArn"):
        assert name in description


def test_every_parameter_has_a_console_label(template: dict[str, Any]) -> None:
    labels = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterLabels"]
    assert sorted(labels) == sorted(template["Parameters"])


def test_parameters_are_asked_in_the_order_of_their_groups(template: dict[str, Any]) -> None:
    # sam deploy --guided asks in the order of the Parameters section.
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert list(template["Parameters"]) == [name for g in groups for name in g["Parameters"]]


# --- samconfig.toml ------------------------------------------------------------------

SAMCONFIG_PATH = ROOT / "samconfig.toml"


def _samconfig() -> dict[str, Any]:
    with SAMCONFIG_PATH.open("rb") as f:
        return tomllib.load(f)


def test_samconfig_deploys_stack_scopegate_with_the_capabilities_it_needs() -> None:
    default = _samconfig()["default"]
    assert default["global"]["parameters"]["stack_name"] == "scopegate"
    deploy = default["deploy"]["parameters"]
    # Roles and a managed policy, none of them named: CAPABILITY_IAM, not NAMED_IAM.
    assert deploy["capabilities"].split() == ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    assert default["build"]["parameters"] == {"cached": True, "parallel": True}
    assert default["validate"]["parameters"] == {"lint": True}


def test_samconfig_example_overrides_are_valid_parameter_values(template: dict[str, Any]) -> None:
    """The commented parameter_overrides line, uncommented, passes every constraint."""
    (line,) = [
        line.removeprefix("# ")
        for line in SAMCONFIG_PATH.read_text(encoding="utf-8").splitlines()
        if line.startswith("# parameter_overrides = ")
    ]
    overrides = tomllib.loads(line)["parameter_overrides"]
    values = dict(item.split("=", 1) for item in shlex.split(overrides))
    assert len(values) >= 5
    for name, value in values.items():
        spec = template["Parameters"][name]
        items = value.split(",") if spec["Type"] == "CommaDelimitedList" else [value]
        for item in items:
            assert re.fullmatch(spec.get("AllowedPattern", ".*"), item), (name, item)
            if "AllowedValues" in spec:
                assert item in [str(v) for v in spec["AllowedValues"]], (name, item)
    assert _Resolver(template, values).rule_violations() == []


def test_cfn_lint_reports_no_errors_or_warnings() -> None:
    cfnlint_api = pytest.importorskip("cfnlint.api")
    matches = cfnlint_api.lint_file(TEMPLATE_PATH)
    assert [str(match) for match in matches] == []


# --- sample events -------------------------------------------------------------------


def _header(headers: Mapping[str, Any], name: str) -> Any:
    """A header's value (a list in ``multiValueHeaders``): API Gateway keeps the client's
    header case (REST, WebSocket) or lower-cases it (HTTP)."""
    values = [value for key, value in headers.items() if key.lower() == name.lower()]
    assert len(values) <= 1
    return values[0] if values else None


def _check_rest_token(event: dict[str, Any]) -> str:
    assert set(event) == {"type", "authorizationToken", "methodArn"}
    assert event["type"] == "TOKEN"
    assert event["authorizationToken"] == BEARER
    return str(event["methodArn"])


def _check_rest_request(event: dict[str, Any]) -> str:
    assert event["type"] == "REQUEST"
    assert "version" not in event
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/orders/{id}",
        "/orders/42",
        "GET",
    )
    assert _header(event["headers"], "Authorization") == BEARER
    assert _header(event["multiValueHeaders"], "Authorization") == [BEARER]
    assert event["pathParameters"] == {"id": "42"}
    assert isinstance(event["queryStringParameters"], dict)
    assert isinstance(event["stageVariables"], dict)
    context = event["requestContext"]
    assert context["resourcePath"] == "/orders/{id}"
    assert (context["stage"], context["apiId"], context["accountId"]) == (
        "prod",
        "a1b2c3d4e5",
        "123456789012",
    )
    return str(event["methodArn"])


def _check_http_v1(event: dict[str, Any]) -> str:
    assert (event["version"], event["type"]) == ("1.0", "REQUEST")
    assert event["identitySource"] == BEARER
    assert event["authorizationToken"] == BEARER
    assert (event["resource"], event["httpMethod"]) == ("/orders/{id}", "GET")
    assert all(key == key.lower() for key in event["headers"]), "HTTP APIs lower-case headers"
    assert _header(event["headers"], "authorization") == BEARER
    assert event["pathParameters"] == {"id": "42"}
    context = event["requestContext"]
    assert (context["stage"], context["resourceId"]) == ("prod", "GET /orders/{id}")
    return str(event["methodArn"])


def _check_http_v2(event: dict[str, Any]) -> str:
    assert (event["version"], event["type"]) == ("2.0", "REQUEST")
    assert "methodArn" not in event
    assert event["identitySource"] == [BEARER]
    assert event["routeKey"] == "GET /orders/{id}"
    assert event["rawPath"] == "/prod/orders/42"  # a named stage stays in the raw path
    assert isinstance(event["rawQueryString"], str)
    assert all(key == key.lower() for key in event["headers"]), "HTTP APIs lower-case headers"
    assert event["headers"]["authorization"] == BEARER
    assert event["pathParameters"] == {"id": "42"}
    context = event["requestContext"]
    assert (context["http"]["method"], context["http"]["path"]) == ("GET", "/prod/orders/42")
    assert (context["routeKey"], context["stage"]) == ("GET /orders/{id}", "prod")
    return str(event["routeArn"])


def _check_websocket_connect(event: dict[str, Any]) -> str:
    assert event["type"] == "REQUEST"
    assert "pathParameters" not in event
    assert _header(event["headers"], "Authorization") == BEARER
    assert _header(event["multiValueHeaders"], "Authorization") == [BEARER]
    context = event["requestContext"]
    assert (context["routeKey"], context["eventType"]) == ("$connect", "CONNECT")
    assert context["connectionId"]
    assert (context["stage"], context["apiId"]) == ("prod", "a1b2c3d4e5")
    return str(event["methodArn"])


EVENT_CHECKS = {
    "authorizer-rest-token.json": (_check_rest_token, "GET/orders/42"),
    "authorizer-rest-request.json": (_check_rest_request, "GET/orders/42"),
    "authorizer-http-v1.json": (_check_http_v1, "GET/orders/42"),
    "authorizer-http-v2.json": (_check_http_v2, "GET/orders/42"),
    "authorizer-websocket-connect.json": (_check_websocket_connect, "$connect"),
}


def _load_event(name: str) -> dict[str, Any]:
    event = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(event, dict)
    return event


def test_every_authorizer_event_is_checked() -> None:
    assert {path.name for path in EVENTS_DIR.glob("authorizer-*.json")} == set(EVENT_CHECKS)


@pytest.mark.parametrize("path", sorted(EVENTS_DIR.glob("*.json")), ids=lambda p: p.name)
def test_every_event_is_a_json_object(path: Path) -> None:
    assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict)


@pytest.mark.parametrize("name", sorted(EVENT_CHECKS))
def test_authorizer_event_has_the_fields_its_type_needs(name: str) -> None:
    check, route = EVENT_CHECKS[name]
    arn = check(_load_event(name))
    assert arn == ARN_PREFIX + route


@pytest.mark.parametrize("name", sorted(EVENT_CHECKS))
def test_authorizer_event_uses_only_the_token_placeholder(name: str) -> None:
    text = (EVENTS_DIR / name).read_text(encoding="utf-8")
    assert TOKEN_PLACEHOLDER in text
    assert "eyJ" not in text, "a real-looking JWT slipped into a sample event"


def test_events_readme_describes_every_event() -> None:
    readme = (EVENTS_DIR / "README.md").read_text(encoding="utf-8")
    for path in EVENTS_DIR.glob("*.json"):
        assert f"events/{path.name}" in readme, path.name


# --- the token broker ----------------------------------------------------------------

SECRET_A = "arn:aws:secretsmanager:us-east-1:123456789012:secret:scopegate/orders-api-AbC123"
SECRET_B = "arn:aws:secretsmanager:us-east-1:123456789012:secret:scopegate/billing-??????"


def _resource(template: Mapping[str, Any], name: str, **params: str) -> Any:
    resolver = _Resolver(template, params)
    return resolver.resolve(resolver.resources[name]["Properties"])


def test_broker_function_runs_the_broker_handler_on_python313_arm64(
    template: dict[str, Any],
) -> None:
    assert _function_property(template, "Handler", "BrokerFunction") == (
        "token_broker.handler.lambda_handler"
    )
    assert _function_property(template, "Runtime", "BrokerFunction") == "python3.13"
    assert _function_property(template, "Architectures", "BrokerFunction") == ["arm64"]
    assert _function_property(template, "CodeUri", "BrokerFunction") == "src/"
    # The broker promises an answer within 10 s; the function must be allowed that long.
    assert int(_function_property(template, "Timeout", "BrokerFunction")) > 10


def test_broker_config_sources_are_passed_like_the_authorizers(template: dict[str, Any]) -> None:
    inline = _deployed_environment(template, "BrokerFunction", BrokerConfig="{}")
    assert inline["BROKER_CONFIG"] == "{}"
    assert "BROKER_CONFIG_PARAMETER" not in inline
    ssm = _deployed_environment(template, "BrokerFunction", BrokerConfigParameter="/sg/broker")
    assert ssm["BROKER_CONFIG_PARAMETER"] == "/sg/broker"
    assert ssm["BROKER_CONFIG_MAX_AGE"] == "300"
    statements = _deployed_statements(template, "BrokerFunction", BrokerConfigParameter="sg/b")
    assert statements == [
        {
            "Sid": "ReadBrokerConfigParameter",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/sg/b",
        }
    ]


def test_broker_reads_exactly_the_given_secrets(template: dict[str, Any]) -> None:
    assert _deployed_statements(template, "BrokerFunction") == []
    statements = _deployed_statements(
        template, "BrokerFunction", BrokerSecretArns=f"{SECRET_A},{SECRET_B}"
    )
    assert statements == [
        {
            "Sid": "ReadClientSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [SECRET_A, SECRET_B],
            "Condition": {
                "ForAnyValue:StringEquals": {
                    "secretsmanager:VersionStage": ["AWSCURRENT", "AWSPENDING"]
                }
            },
        }
    ]


def test_broker_decrypts_with_a_customer_key_only_through_secrets_manager(
    template: dict[str, Any],
) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    statements = _deployed_statements(template, "BrokerFunction", BrokerSecretsKmsKeyArn=key)
    assert statements == [
        {
            "Sid": "DecryptClientSecretsThroughSecretsManager",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key,
            "Condition": {
                "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
            },
        }
    ]


def test_broker_api_is_regional_and_open_to_iam_by_default(template: dict[str, Any]) -> None:
    api = _resource(template, "BrokerApi")
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert "Policy" not in api
    method = _resource(template, "BrokerTokenMethod")
    assert method["HttpMethod"] == "POST"
    assert method["AuthorizationType"] == "AWS_IAM"
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert _resource(template, "BrokerTokenResource")["PathPart"] == "token"


def test_private_broker_api_refuses_every_other_source(template: dict[str, Any]) -> None:
    endpoints = "vpce-0123456789abcdef0,vpce-0fedcba9876543210"
    api = _resource(template, "BrokerApi", BrokerVpcEndpointIds=endpoints)
    assert api["EndpointConfiguration"] == {
        "Types": ["PRIVATE"],
        "VpcEndpointIds": endpoints.split(","),
    }
    deny, allow = api["Policy"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Resource"] == "execute-api:/*"
    assert deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": endpoints.split(",")}}
    assert allow["Effect"] == "Allow"
    assert allow["Resource"] == "execute-api:/*/POST/token"
    assert allow["Condition"] == {
        "StringEquals": {
            "aws:SourceVpce": endpoints.split(","),
            "aws:PrincipalAccount": "123456789012",  # never another account's principals
        }
    }


def test_the_broker_stage_logs_every_request_as_json_without_headers_or_bodies(
    template: dict[str, Any],
) -> None:
    # Requests API Gateway refuses (no or bad SigV4, a policy denial) never reach the
    # function: the access log is where they are seen.
    stage = _resource(template, "BrokerStage", LogRetentionDays="90")
    assert stage["AccessLogSetting"]["DestinationArn"] == "<BrokerAccessLogGroup.Arn>"
    group = _resource(template, "BrokerAccessLogGroup", LogRetentionDays="90")
    assert group == {
        "LogGroupName": "/aws/apigateway/scopegate-broker-access",
        "RetentionInDays": "90",
    }
    log_format = stage["AccessLogSetting"]["Format"]
    variables = re.findall(r"\$context\.[A-Za-z.]+", log_format)
    line = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", log_format))
    assert set(line.values()) == {"x"}  # every field one $context variable: valid JSON
    assert len(variables) == len(line)
    for needed in ("requestId", "status", "identity.userArn", "error.message", "httpMethod"):
        assert f"$context.{needed}" in variables
    # Never a header, a body or a query (only $context is allowed, and none of these).
    assert not [v for v in variables if re.search(r"header|body|querystring|input", v, re.I)]


def test_only_the_broker_api_may_invoke_the_broker(template: dict[str, Any]) -> None:
    permission = _resource(template, "BrokerApiInvokePermission")
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceAccount"] == "123456789012"
    assert permission["SourceArn"] == (
        "arn:aws:execute-api:us-east-1:123456789012:<BrokerApi>/*/POST/token"
    )


def test_task_policy_allows_post_token_on_this_broker_only(template: dict[str, Any]) -> None:
    policy = _resource(template, "BrokerInvokePolicy")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == (
        "arn:aws:execute-api:us-east-1:123456789012:<BrokerApi>/<BrokerStage>/POST/token"
    )
    outputs = _Resolver(template, {}).resolve(template["Outputs"])
    assert outputs["BrokerInvokePolicyArn"]["Value"] == "<BrokerInvokePolicy>"
    assert outputs["BrokerTokenUrl"]["Value"] == (
        "https://<BrokerApi>.execute-api.us-east-1.amazonaws.com/<BrokerStage>/token"
    )


# --- secret rotation -----------------------------------------------------------------

MANAGEMENT_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:scopegate/okta-??????"
USER_POOL = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEfGhI"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROTATION_SECRET_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
]
COGNITO_SECRET_ACTIONS = [
    "cognito-idp:AddUserPoolClientSecret",
    "cognito-idp:ListUserPoolClientSecrets",
    "cognito-idp:DeleteUserPoolClientSecret",
]
ROTATION_PARAMETERS = (
    "RotationSchedule",
    "RotationRevokeAtFinish",
    "RotationManagementSecretArns",
    "RotationCognitoUserPoolArns",
)


def rotation_secret_statements(secrets: list[str]) -> list[dict[str, Any]]:
    """What the rotation role may do with the broker's secrets: ROTATION_SECRET_ACTIONS,
    each limited to the version stages the rotation steps use."""

    def stages(*names: str) -> dict[str, Any]:
        return {"secretsmanager:VersionStage": list(names) if len(names) > 1 else names[0]}

    statements: list[dict[str, Any]] = [
        {
            "Sid": "DescribeClientSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:DescribeSecret",
            "Resource": secrets,
        },
        {
            "Sid": "ReadStagedClientSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secrets,
            "Condition": {
                "ForAnyValue:StringEquals": stages("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS")
            },
        },
        {
            "Sid": "StagePendingClientSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:PutSecretValue",
            "Resource": secrets,
            "Condition": {
                "ForAnyValue:StringEquals": stages("AWSPENDING"),
                "ForAllValues:StringEquals": stages("AWSPENDING"),
            },
        },
        {
            "Sid": "MoveClientSecretStages",
            "Effect": "Allow",
            "Action": "secretsmanager:UpdateSecretVersionStage",
            "Resource": secrets,
            "Condition": {"ForAnyValue:StringEquals": stages("AWSCURRENT", "AWSPENDING")},
        },
    ]
    assert [s["Action"] for s in statements] == ROTATION_SECRET_ACTIONS
    return statements


def _rotation_schedules(template: Mapping[str, Any], **params: str) -> dict[str, Any]:
    return {
        name: resource
        for name, resource in _deployed_resources(template, **params).items()
        if resource["Type"] == "AWS::SecretsManager::RotationSchedule"
    }


def test_language_extensions_run_before_the_sam_transform(template: dict[str, Any]) -> None:
    # Fn::ForEach needs AWS::LanguageExtensions, and it must expand before SAM translates.
    assert template["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]


def test_rotation_function_runs_the_rotation_handler_on_python313_arm64(
    template: dict[str, Any],
) -> None:
    assert _function_property(template, "Handler", "RotationFunction") == (
        "token_broker.rotation.lambda_handler"
    )
    assert _function_property(template, "Runtime", "RotationFunction") == "python3.13"
    assert _function_property(template, "Architectures", "RotationFunction") == ["arm64"]
    assert _function_property(template, "CodeUri", "RotationFunction") == "src/"
    assert _function_property(template, "Tracing", "RotationFunction") == "Active"
    # testSecret retries the new secret's grant for up to 60 s; the rest is the IdP calls.
    assert _function_property(template, "Timeout", "RotationFunction") == 120


def test_rotation_function_environment(template: dict[str, Any]) -> None:
    environment = _deployed_environment(template, "RotationFunction", LogLevel="DEBUG")
    assert environment == {
        "POWERTOOLS_SERVICE_NAME": "scopegate-rotation",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "POWERTOOLS_METRICS_NAMESPACE": "scopegate",
        "ROTATION_REVOKE_AT_FINISH": "false",
    }


@pytest.mark.parametrize("revoke", ["false", "true"])
def test_rotation_revokes_at_finish_only_when_asked(template: dict[str, Any], revoke: str) -> None:
    environment = _deployed_environment(template, "RotationFunction", RotationRevokeAtFinish=revoke)
    assert environment["ROTATION_REVOKE_AT_FINISH"] == revoke


def test_rotation_keeps_the_previous_secret_by_default(template: dict[str, Any]) -> None:
    spec = template["Parameters"]["RotationRevokeAtFinish"]
    assert spec["Default"] == "false"
    assert spec["AllowedValues"] == ["false", "true"]


def test_rotation_function_reads_the_broker_config_like_the_broker(
    template: dict[str, Any],
) -> None:
    inline = _deployed_environment(template, "RotationFunction", BrokerConfig="{}")
    assert inline["BROKER_CONFIG"] == "{}"
    assert "BROKER_CONFIG_PARAMETER" not in inline
    assert "BROKER_CONFIG_MAX_AGE" not in inline
    ssm = _deployed_environment(
        template, "RotationFunction", BrokerConfigParameter="/sg/broker", BrokerConfigMaxAge="60"
    )
    assert ssm["BROKER_CONFIG_PARAMETER"] == "/sg/broker"
    assert ssm["BROKER_CONFIG_MAX_AGE"] == "60"
    assert "BROKER_CONFIG" not in ssm
    assert _deployed_statements(
        template, "RotationFunction", BrokerConfigParameter="/sg/broker"
    ) == _deployed_statements(template, "BrokerFunction", BrokerConfigParameter="/sg/broker")


def test_rotation_function_gets_nothing_by_default(template: dict[str, Any]) -> None:
    assert _deployed_statements(template, "RotationFunction") == []


def test_rotation_function_permissions_are_exactly_the_scoped_ones(
    template: dict[str, Any],
) -> None:
    statements = _deployed_statements(
        template,
        "RotationFunction",
        BrokerSecretArns=f"{SECRET_A},{SECRET_B}",
        RotationManagementSecretArns=MANAGEMENT_SECRET,
        BrokerSecretsKmsKeyArn=KMS_KEY,
        BrokerConfigParameter="sg/broker",
        RotationCognitoUserPoolArns=USER_POOL,
    )
    assert statements == [
        *rotation_secret_statements([SECRET_A, SECRET_B]),
        {
            "Sid": "ReadIdentityProviderManagementCredentials",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [MANAGEMENT_SECRET],
            "Condition": {
                "ForAnyValue:StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}
            },
        },
        {
            "Sid": "EncryptAndDecryptClientSecretsThroughSecretsManager",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": KMS_KEY,
            "Condition": {
                "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
            },
        },
        {
            "Sid": "ReadBrokerConfigParameter",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/sg/broker",
        },
        {
            "Sid": "RotateCognitoAppClientSecrets",
            "Effect": "Allow",
            "Action": COGNITO_SECRET_ACTIONS,
            "Resource": [USER_POOL],
        },
    ]


def test_rotation_without_cognito_pools_gets_no_cognito_action(template: dict[str, Any]) -> None:
    statements = _deployed_statements(
        template,
        "RotationFunction",
        BrokerSecretArns=SECRET_A,
        RotationManagementSecretArns=MANAGEMENT_SECRET,
    )
    assert [statement["Sid"] for statement in statements] == [
        "DescribeClientSecrets",
        "ReadStagedClientSecrets",
        "StagePendingClientSecrets",
        "MoveClientSecretStages",
        "ReadIdentityProviderManagementCredentials",
    ]
    actions = [action for s in statements for action in _action_strings(s["Action"])]
    assert not [action for action in actions if action.startswith("cognito-idp:")]


def test_management_secrets_are_only_read(template: dict[str, Any]) -> None:
    statements = _deployed_statements(
        template,
        "RotationFunction",
        BrokerSecretArns=SECRET_A,
        RotationManagementSecretArns=MANAGEMENT_SECRET,
    )
    on_management = [s for s in statements if MANAGEMENT_SECRET in _walk(s["Resource"])]
    assert len(on_management) == 1
    assert on_management[0]["Action"] == "secretsmanager:GetSecretValue"
    # ...and the write actions reach the broker's client secrets only.
    (writer,) = [s for s in statements if "secretsmanager:PutSecretValue" in s["Action"]]
    assert writer["Resource"] == [SECRET_A]


def test_cognito_pools_alone_grant_only_the_cognito_secret_actions(
    template: dict[str, Any],
) -> None:
    pools = f"{USER_POOL},{USER_POOL.replace('AbCdEfGhI', 'ZyXwVuT')}"
    statements = _deployed_statements(
        template, "RotationFunction", RotationCognitoUserPoolArns=pools
    )
    assert statements == [
        {
            "Sid": "RotateCognitoAppClientSecrets",
            "Effect": "Allow",
            "Action": COGNITO_SECRET_ACTIONS,
            "Resource": pools.split(","),
        }
    ]


def _rotation_permissions(template: Mapping[str, Any], **params: str) -> dict[str, Any]:
    return {
        name: resource
        for name, resource in _deployed_resources(template, **params).items()
        if resource["Type"] == "AWS::Lambda::Permission"
        and resource["Properties"]["Principal"] == "secretsmanager.amazonaws.com"
    }


def test_secrets_manager_may_invoke_the_rotation_function_for_the_brokers_secrets_only(
    template: dict[str, Any],
) -> None:
    # SourceAccount alone let anyone in the account who may rotate a secret of their own
    # point Secrets Manager at this function (and fire its alarm).
    permissions = _rotation_permissions(template, BrokerSecretArns=f"{SECRET_A},{SECRET_B}")
    by_secret = {p["Properties"]["SourceArn"]: p for p in permissions.values()}
    assert sorted(by_secret) == sorted([SECRET_A, SECRET_B])  # -?????? kept: ArnLike
    for arn, permission in by_secret.items():
        assert permission["Properties"] == {
            "FunctionName": "<RotationFunction.Arn>",
            "Action": "lambda:InvokeFunction",
            "Principal": "secretsmanager.amazonaws.com",
            "SourceAccount": "123456789012",
            "SourceArn": arn,
        }
    letters_and_digits = re.sub(r"[^0-9A-Za-z]", "", SECRET_A)
    assert f"RotationInvokePermission{letters_and_digits}" in permissions


def test_without_broker_secrets_nobody_may_invoke_the_rotation_function(
    template: dict[str, Any],
) -> None:
    assert _rotation_permissions(template) == {}
    assert _rotation_permissions(template, RotationSchedule="rate(30 days)") == {}


def test_one_rotation_schedule_per_broker_secret(template: dict[str, Any]) -> None:
    schedules = _rotation_schedules(
        template, BrokerSecretArns=f"{SECRET_A},{SECRET_B}", RotationSchedule="rate(30 days)"
    )
    assert len(schedules) == 2
    by_secret = {schedule["Properties"]["SecretId"]: schedule for schedule in schedules.values()}
    # The -?????? IAM wildcard is cut off: Secrets Manager finds the secret by partial ARN.
    assert sorted(by_secret) == sorted([SECRET_A, SECRET_B.removesuffix("-??????")])
    params = {"BrokerSecretArns": f"{SECRET_A},{SECRET_B}", "RotationSchedule": "rate(30 days)"}
    permission_of = {
        p["Properties"]["SourceArn"].removesuffix("-??????"): name
        for name, p in _rotation_permissions(template, **params).items()
    }
    expanded = _Resolver(template, params).resources  # the loops unrolled, not yet resolved
    for name, schedule in schedules.items():
        # Each schedule refers to (so waits for) the permission of its own secret.
        arn = expanded[name]["Properties"]["RotationLambdaARN"]
        permission = permission_of[schedule["Properties"]["SecretId"]]
        function = {"Fn::GetAtt": ["RotationFunction", "Arn"]}
        assert arn == {"Fn::Select": [0, [function, {"Fn::Sub": f"${{{permission}}}"}]]}
        assert schedule["Properties"] == {
            "SecretId": schedule["Properties"]["SecretId"],
            "RotationLambdaARN": "<RotationFunction.Arn>",
            "RotationRules": {"ScheduleExpression": "rate(30 days)"},
            "RotateImmediatelyOnUpdate": False,
        }


def test_rotation_schedule_ids_follow_the_secret_not_its_position(
    template: dict[str, Any],
) -> None:
    forward = _rotation_schedules(
        template, BrokerSecretArns=f"{SECRET_A},{SECRET_B}", RotationSchedule="rate(1 day)"
    )
    backward = _rotation_schedules(
        template, BrokerSecretArns=f"{SECRET_B},{SECRET_A}", RotationSchedule="rate(1 day)"
    )
    assert forward == backward
    # The logical id is the secret ARN's letters and digits.
    letters_and_digits = re.sub(r"[^0-9A-Za-z]", "", SECRET_A)
    assert letters_and_digits == (
        "arnawssecretsmanageruseast1123456789012secretscopegateordersapiAbC123"
    )
    assert f"RotationSchedule{letters_and_digits}" in forward


def test_a_cron_schedule_is_passed_as_given(template: dict[str, Any]) -> None:
    cron = "cron(0 4 1 * ? *)"
    (schedule,) = _rotation_schedules(
        template, BrokerSecretArns=SECRET_A, RotationSchedule=cron
    ).values()
    assert schedule["Properties"]["SecretId"] == SECRET_A
    assert schedule["Properties"]["RotationRules"] == {"ScheduleExpression": cron}


@pytest.mark.parametrize(
    "params",
    [
        {"BrokerSecretArns": f"{SECRET_A},{SECRET_B}"},
        {"RotationSchedule": "rate(30 days)"},
        {},
    ],
    ids=["no-schedule", "no-secrets", "defaults"],
)
def test_no_rotation_schedule_without_a_schedule_and_secrets(
    template: dict[str, Any], params: dict[str, str]
) -> None:
    assert _rotation_schedules(template, **params) == {}
    # The function and its log group are there all the same, and so is each broker
    # secret's invoke permission, ready for the schedule to be switched on.
    deployed = _deployed_resources(template, **params)
    assert {"RotationFunction", "RotationLogGroup"} <= set(deployed)
    secrets = [a for a in params.get("BrokerSecretArns", "").split(",") if a]
    assert len(_rotation_permissions(template, **params)) == len(secrets)


@pytest.mark.parametrize(
    ("expression", "valid"),
    [
        ("", True),
        ("rate(30 days)", True),
        ("rate(1 day)", True),
        ("rate(12 hours)", True),
        ("cron(0 4 1 * ? *)", True),
        ("rate(0 days)", False),
        ("rate(30 minutes)", False),
        ("30 days", False),
        ("cron()", False),
        ("rate(30 days) ", False),
    ],
)
def test_rotation_schedule_pattern(template: dict[str, Any], expression: str, valid: bool) -> None:
    pattern = template["Parameters"]["RotationSchedule"]["AllowedPattern"]
    assert (re.fullmatch(pattern, expression) is not None) is valid


@pytest.mark.parametrize(
    ("name", "value", "valid"),
    [
        ("RotationCognitoUserPoolArns", "", True),
        ("RotationCognitoUserPoolArns", USER_POOL, True),
        ("RotationCognitoUserPoolArns", "us-east-1_AbCdEfGhI", False),
        ("RotationManagementSecretArns", "", True),
        ("RotationManagementSecretArns", MANAGEMENT_SECRET, True),
        ("RotationManagementSecretArns", "scopegate/okta-mgmt", False),
    ],
)
def test_rotation_arn_list_patterns(
    template: dict[str, Any], name: str, value: str, valid: bool
) -> None:
    # CloudFormation matches a CommaDelimitedList's pattern against each item.
    pattern = template["Parameters"][name]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is valid


SECRET_ARN_PARAMETERS = ("BrokerSecretArns", "RotationManagementSecretArns")


@pytest.mark.parametrize("name", SECRET_ARN_PARAMETERS)
@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("", True),
        (SECRET_A, True),
        (SECRET_B, True),  # the six random characters Secrets Manager appends, exactly
        ("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:a/b-AbC123", True),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:*", False),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:scopegate/*", False),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:scopegate/orders-*", False),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:scopegate/o?ders-AbC123", False),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:scopegate/orders-?????", False),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:??????", False),
        ("arn:aws:secretsmanager:*:123456789012:secret:scopegate/orders-AbC123", False),
        ("arn:aws:secretsmanager:us-east-1:*:secret:scopegate/orders-AbC123", False),
        ("arn:aws:secretsmanager:us-east-1:123456789012:*", False),
        ("*", False),
        ("scopegate/orders-api", False),
    ],
)
def test_secret_arn_lists_refuse_wildcards(
    template: dict[str, Any], name: str, value: str, valid: bool
) -> None:
    # A wildcard would let the broker read, and the rotation function write, every secret
    # of the account. CloudFormation matches a CommaDelimitedList's pattern against each item.
    pattern = template["Parameters"][name]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("", True),
        ("vpce-0123456789abcdef0", True),
        ("vpce-01234567", True),
        ("vpce-*", False),
        ("*", False),
        ("vpc-0123456789abcdef0", False),
    ],
)
def test_vpc_endpoint_ids_are_endpoint_ids(
    template: dict[str, Any], value: str, valid: bool
) -> None:
    pattern = template["Parameters"]["BrokerVpcEndpointIds"]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is valid


def test_rotation_parameters_have_their_own_console_group(template: dict[str, Any]) -> None:
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    (group,) = [g for g in interface["ParameterGroups"] if "rotation" in g["Label"]["default"]]
    assert group["Parameters"] == list(ROTATION_PARAMETERS)
    for name in ROTATION_PARAMETERS:
        assert interface["ParameterLabels"][name]["default"], name


def test_rotation_function_arn_is_an_output(template: dict[str, Any]) -> None:
    output = template["Outputs"]["RotationFunctionArn"]
    assert output["Value"] == {"Fn::GetAtt": ["RotationFunction", "Arn"]}
    assert "rotate-secret" in output["Description"]
