"""Configuration: the schema's rules and the three sources, failing closed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from authorizer.config import validate
from authorizer.errors import ConfigError
from authorizer.sources import ConfigSource

ISSUER = {"issuer": "https://idp.example.com/oauth2/default", "audiences": ["api://orders"]}
ROUTES = [{"route": "GET /orders", "scopes": ["orders:read"]}]
GOOD = {"issuers": [ISSUER], "routes": ROUTES}
YAML = """
issuers:
  - issuer: https://idp.example.com/oauth2/default
    audiences: [api://orders]
    algorithms: [RS256, ES256]
routes:
  - route: GET /orders
    scopes: [orders:read]
  - route: ANY /admin/{proxy+}
    all_scopes: [admin, ops]
  - route: $connect
    scopes: [ws:connect]
context_claims: [sub, scope]
http_api_response: iam
"""


def problems(doc: Any) -> str:
    with pytest.raises(ConfigError) as e:
        validate(doc)
    return str(e.value)


def test_yaml_and_json_documents_load_with_defaults() -> None:
    config = ConfigSource({"AUTHORIZER_CONFIG": YAML}).get()
    assert config.issuers[0].algorithms == {"RS256", "ES256"}
    assert config.issuers[0].scope_claims == ("scope", "scp")
    assert [r.key for r in config.routes] == ["GET /orders", "ANY /admin/{proxy+}", "$connect"]
    assert config.http_api_response == "iam"
    defaults = ConfigSource({"AUTHORIZER_CONFIG": json.dumps(GOOD)}).get()
    assert defaults.issuers[0].algorithms == {"RS256"}
    assert defaults.context_claims == ("sub", "client_id", "scope")
    assert defaults.http_api_response == "simple"


@pytest.mark.parametrize(
    ("written", "claims"),
    [("scope scp", ("scope", "scp")), ("permissions", ("permissions",)), (["roles"], ("roles",))],
)
def test_scope_claims_are_a_list_or_one_space_separated_string(
    written: object, claims: tuple[str, ...]
) -> None:
    config = validate({"issuers": [{**ISSUER, "scope_claims": written}], "routes": ROUTES})
    assert config.issuers[0].scope_claims == claims


@pytest.mark.parametrize("written", ["", "  ", [], [""], 7])
def test_scope_claims_that_name_no_claim_are_refused(written: object) -> None:
    assert "scope_claims" in problems(
        {"issuers": [{**ISSUER, "scope_claims": written}], "routes": ROUTES}
    )


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "HS256", "HS512", "RS1"])
def test_none_and_hmac_algorithms_are_refused_at_load(alg: str) -> None:
    assert "refused" in problems({"issuers": [{**ISSUER, "algorithms": [alg]}], "routes": ROUTES})


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"issuer": "http://idp.example.com"}, "https"),
        ({"jwks_uri": "ftp://idp.example.com/keys"}, "https"),
        ({"audiences": []}, "audiences"),
        ({"leeway_seconds": -1}, "leeway"),
        ({"surprise": 1}, "unknown keys"),
    ],
)
def test_issuer_mistakes_are_named(change: dict[str, Any], words: str) -> None:
    assert words in problems({"issuers": [{**ISSUER, **change}], "routes": ROUTES})


def test_http_issuer_is_allowed_on_loopback_only() -> None:
    doc = {"issuers": [{**ISSUER, "issuer": "http://127.0.0.1:9000"}], "routes": ROUTES}
    assert validate(doc).issuers[0].issuer == "http://127.0.0.1:9000"


def test_every_problem_is_listed_at_once() -> None:
    text = problems(
        {
            "issuers": [{**ISSUER, "algorithms": ["HS256"]}],
            "routes": [{"route": "GET /x", "scopes": []}, {"route": "FETCH /y", "scopes": ["a"]}],
            "http_api_response": "maybe",
        }
    )
    for words in ("refused", "scopes must not be empty", "FETCH", "http_api_response"):
        assert words in text


def test_every_problem_of_one_issuer_and_one_route_is_listed() -> None:
    text = problems(
        {
            "issuers": [
                {"issuer": "http://idp.example.com", "audiences": [], "leeway_seconds": -1}
            ],
            "routes": [{"route": "GET /x/", "scopes": "a b", "surprise": 1}],
        }
    )
    for words in ("https", "audiences", "leeway", "unknown keys", "trailing slash", "'a b'"):
        assert words in text


@pytest.mark.parametrize(
    "scopes", [{"scopes": "orders:read orders:write"}, {"all_scopes": ["admin", "ops team"]}]
)
def test_a_scope_with_whitespace_is_an_error_naming_it(scopes: dict[str, Any]) -> None:
    """No token can hold such a scope (RFC 6749 section 3.3: a scope is one token)."""
    text = problems({"issuers": [ISSUER], "routes": [{"route": "GET /x", **scopes}]})
    name = "orders:read orders:write" if "scopes" in scopes else "ops team"
    assert repr(name) in text
    assert "whitespace" in text


def test_an_issuer_listed_twice_is_named() -> None:
    text = problems({"issuers": [ISSUER, ISSUER], "routes": ROUTES})
    assert f"{ISSUER['issuer']!r} is listed twice" in text


def test_an_unknown_algorithm_has_its_own_message() -> None:
    text = problems({"issuers": [{**ISSUER, "algorithms": ["FOO"]}], "routes": ROUTES})
    assert "unknown algorithm 'FOO'" in text
    assert "HS*" not in text
    assert "HS*" in problems({"issuers": [{**ISSUER, "algorithms": ["HS256"]}], "routes": ROUTES})


def test_sibling_path_variables_with_different_names_are_an_error() -> None:
    """API Gateway refuses /orders/{id} next to /orders/{orderId}/items at deploy."""
    routes = [
        {"route": "GET /orders/{id}", "scopes": ["a"]},
        {"route": "GET /orders/{orderId}/items", "scopes": ["a"]},
    ]
    text = problems({"issuers": [ISSUER], "routes": routes})
    assert "{orderId}" in text
    assert "{id}" in text
    same = [routes[0], {"route": "GET /orders/{id}/items", "scopes": ["a"]}]
    assert len(validate({"issuers": [ISSUER], "routes": same}).routes) == 2


def test_repeated_routes_are_refused() -> None:
    routes = [
        {"route": "GET /orders/{id}", "scopes": ["a"]},
        {"route": "GET /orders/{oid}", "scopes": ["b"]},
    ]
    assert "repeats" in problems({"issuers": [ISSUER], "routes": routes})


def test_several_sources_at_once_fail_closed() -> None:
    source = ConfigSource({"AUTHORIZER_CONFIG": YAML, "AUTHORIZER_CONFIG_FILE": "x.yaml"})
    with pytest.raises(ConfigError, match="only one"):
        source.get()
    with pytest.raises(ConfigError, match="only one"):  # every request, same answer
        source.get()


def test_no_source_fails_closed() -> None:
    with pytest.raises(ConfigError, match="no configuration"):
        ConfigSource({}).get()


def test_file_source_resolves_relative_paths_against_the_code_root(tmp_path: Path) -> None:
    (tmp_path / "authorizer.yaml").write_text(YAML)
    config = ConfigSource({"AUTHORIZER_CONFIG_FILE": str(tmp_path / "authorizer.yaml")}).get()
    assert len(config.routes) == 3
    with pytest.raises(ConfigError, match="cannot read"):
        ConfigSource({"AUTHORIZER_CONFIG_FILE": "missing/authorizer.yaml"}).get()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@mock_aws
def test_an_unchanged_ssm_document_keeps_its_config_object() -> None:
    """Caches built on the config (keys, the broker's tokens) survive a re-read."""
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/scopegate/authorizer", Value=json.dumps(GOOD), Type="String")
    clock = Clock()
    env = {"AUTHORIZER_CONFIG_PARAMETER": "/scopegate/authorizer"}
    source = ConfigSource(env, ssm_client=ssm, clock=clock)
    first = source.get()
    clock.now += 301
    assert source.get() is first
    changed = {**GOOD, "routes": [*ROUTES, {"route": "POST /orders", "scopes": ["w"]}]}
    ssm.put_parameter(
        Name="/scopegate/authorizer", Value=json.dumps(changed), Type="String", Overwrite=True
    )
    clock.now += 301
    assert source.get() is not first


@mock_aws
def test_ssm_source_is_reread_after_max_age_and_survives_an_outage() -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/scopegate/authorizer", Value=json.dumps(GOOD), Type="String")
    clock = Clock()
    env = {
        "AUTHORIZER_CONFIG_PARAMETER": "/scopegate/authorizer",
        "AUTHORIZER_CONFIG_MAX_AGE": "60",
    }
    source = ConfigSource(env, ssm_client=ssm, clock=clock)
    assert [r.key for r in source.get().routes] == ["GET /orders"]
    two_routes = {**GOOD, "routes": [*ROUTES, {"route": "POST /orders", "scopes": ["w"]}]}
    ssm.put_parameter(
        Name="/scopegate/authorizer", Value=json.dumps(two_routes), Type="String", Overwrite=True
    )
    clock.now += 30
    assert len(source.get().routes) == 1  # still fresh
    clock.now += 31
    assert len(source.get().routes) == 2  # re-read
    ssm.put_parameter(Name="/scopegate/authorizer", Value="{broken", Type="String", Overwrite=True)
    clock.now += 61
    with pytest.raises(ConfigError):  # an operator's broken document fails closed
        source.get()


def test_ssm_outage_keeps_the_last_good_document() -> None:
    class FlakySsm:
        calls = 0

        def get_parameter(self, **_: Any) -> dict[str, Any]:
            self.calls += 1
            if self.calls > 1:
                raise TimeoutError("endpoint timed out")
            return {"Parameter": {"Value": json.dumps(GOOD)}}

    clock = Clock()
    source = ConfigSource({"AUTHORIZER_CONFIG_PARAMETER": "p"}, ssm_client=FlakySsm(), clock=clock)
    first = source.get()
    clock.now += 301
    assert source.get() is first


@mock_aws
def test_missing_ssm_parameter_fails_closed() -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    with pytest.raises(ConfigError, match="ParameterNotFound"):
        ConfigSource({"AUTHORIZER_CONFIG_PARAMETER": "/nope"}, ssm_client=ssm).get()


@pytest.mark.parametrize(
    ("changes", "got"),
    [
        ({"http_api_response": "maybe"}, "'maybe'"),
        ({"context_claims": [1, "sub"]}, "[1, 'sub']"),
        ({"issuers": [{**ISSUER, "leeway_seconds": 900}]}, "900"),
        ({"issuers": [{**ISSUER, "audiences": [""]}]}, "['']"),
        ({"issuers": [{**ISSUER, "required_claims": ["token_use"]}]}, "['token_use']"),
        ({"issuers": [{**ISSUER, "required_claims": None}]}, "a NoneType"),
        ({"routes": [{"route": 7, "scopes": ["s"]}]}, "7"),
        ({"routes": ["GET /orders"]}, "'GET /orders'"),
    ],
    ids=[
        "mode",
        "context",
        "leeway",
        "audiences",
        "required-claims",
        "required-claims-null",
        "route",
        "route-type",
    ],
)
def test_a_problem_names_the_value_it_got(changes: dict[str, Any], got: str) -> None:
    assert got in problems({**GOOD, **changes})
