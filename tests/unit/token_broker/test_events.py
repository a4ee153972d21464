"""Invocation events: REST proxy and function URL shapes, reduced to plain values, never raising."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from token_broker.events import HttpRequest, parse_event

CALLER = "arn:aws:sts::123456789012:assumed-role/orders-worker/0f1e2d3c4b5a6978"

REST: dict[str, Any] = {
    "resource": "/token",
    "path": "/prod/token",
    "httpMethod": "POST",
    "headers": {"Content-Type": "application/x-www-form-urlencoded", "Host": "x"},
    "multiValueHeaders": {"Content-Type": ["application/x-www-form-urlencoded"]},
    "requestContext": {
        "resourcePath": "/token",
        "httpMethod": "POST",
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "stage": "prod",
        "identity": {"userArn": CALLER, "caller": "AROAEXAMPLE:0f1e2d3c4b5a6978"},
    },
    "body": "scope=orders%3Aread",
    "isBase64Encoded": False,
}

FUNCTION_URL: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/token",
    "rawQueryString": "",
    "headers": {"content-type": "application/json", "host": "abc.lambda-url.us-east-1.on.aws"},
    "requestContext": {
        "requestId": "b2d1c3e4-0000-4a5b-8c9d-0123456789ab",
        "authorizer": {"iam": {"userArn": CALLER, "accountId": "123456789012"}},
        "http": {"method": "POST", "path": "/token", "sourceIp": "10.0.0.1"},
    },
    "body": "eyJzY29wZSI6ICJvcmRlcnM6cmVhZCJ9",
    "isBase64Encoded": True,
}


def without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    copied = copy.deepcopy(event)
    node = copied
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return copied


def test_rest_proxy_event_is_read() -> None:
    assert parse_event(REST) == HttpRequest(
        method="POST",
        path="/token",
        caller_arn=CALLER,
        body="scope=orders%3Aread",
        base64_encoded=False,
        content_type="application/x-www-form-urlencoded",
        request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    )


def test_function_url_event_is_read() -> None:
    assert parse_event(FUNCTION_URL) == HttpRequest(
        method="POST",
        path="/token",
        caller_arn=CALLER,
        body="eyJzY29wZSI6ICJvcmRlcnM6cmVhZCJ9",
        base64_encoded=True,
        content_type="application/json",
        request_id="b2d1c3e4-0000-4a5b-8c9d-0123456789ab",
    )


def test_rest_path_is_the_resource_path_not_the_stage_path() -> None:
    event = copy.deepcopy(REST)
    event["path"] = "/v1/custom-base/token"
    assert parse_event(event).path == "/token"


def test_rest_path_falls_back_to_resource_then_path() -> None:
    no_resource_path = without(REST, "requestContext", "resourcePath")
    assert parse_event(no_resource_path).path == "/token"
    assert parse_event(without(no_resource_path, "resource")).path == "/prod/token"


def test_function_url_caller_is_not_read_from_the_rest_identity() -> None:
    event = without(FUNCTION_URL, "requestContext", "authorizer")
    event["requestContext"]["identity"] = {"userArn": CALLER}
    assert parse_event(event).caller_arn is None


def test_rest_caller_is_not_read_from_the_function_url_authorizer() -> None:
    event = without(REST, "requestContext", "identity")
    event["requestContext"]["authorizer"] = {"iam": {"userArn": CALLER}}
    assert parse_event(event).caller_arn is None


@pytest.mark.parametrize("name", ["content-type", "Content-Type", "CONTENT-TYPE", "cOnTeNt-TyPe"])
def test_content_type_header_is_found_in_any_case(name: str) -> None:
    event = {**REST, "headers": {"Accept": "*/*", name: "application/json; charset=utf-8"}}
    assert parse_event(event).content_type == "application/json; charset=utf-8"


def test_non_text_header_values_are_skipped() -> None:
    event = {**REST, "headers": {"content-type": ["application/json"]}}
    assert parse_event(event).content_type is None


@pytest.mark.parametrize(
    ("event", "field", "expected"),
    [
        pytest.param(without(REST, "requestContext", "identity"), "caller_arn", None, id="rest-id"),
        pytest.param(
            without(REST, "requestContext", "identity", "userArn"), "caller_arn", None, id="arn"
        ),
        pytest.param(
            without(FUNCTION_URL, "requestContext", "authorizer", "iam"),
            "caller_arn",
            None,
            id="url-iam",
        ),
        pytest.param(without(REST, "httpMethod"), "method", "", id="rest-method"),
        pytest.param(
            without(FUNCTION_URL, "requestContext", "http"), "method", "", id="url-method"
        ),
        pytest.param(without(FUNCTION_URL, "rawPath"), "path", "", id="url-path"),
        pytest.param(without(REST, "body"), "body", None, id="body"),
        pytest.param(without(REST, "headers"), "content_type", None, id="headers"),
        pytest.param(without(REST, "requestContext", "requestId"), "request_id", "", id="req-id"),
        pytest.param(without(REST, "requestContext"), "caller_arn", None, id="no-context"),
    ],
)
def test_missing_pieces_become_none_or_empty(
    event: dict[str, Any], field: str, expected: object
) -> None:
    assert getattr(parse_event(event), field) == expected


@pytest.mark.parametrize("arn", ["", None, 42, ["arn"], {"arn": CALLER}])
def test_empty_or_non_text_caller_is_no_caller(arn: object) -> None:
    event = copy.deepcopy(REST)
    event["requestContext"]["identity"]["userArn"] = arn
    assert parse_event(event).caller_arn is None


@pytest.mark.parametrize("flag", ["true", 1, "True", None])
def test_only_a_true_is_base64_encoded_flag_counts(flag: object) -> None:
    assert parse_event({**FUNCTION_URL, "isBase64Encoded": flag}).base64_encoded is False


@pytest.mark.parametrize("event", [None, [], "POST /token", 42, {}, {"requestContext": "x"}])
def test_events_that_are_not_events_give_an_empty_request(event: object) -> None:
    assert parse_event(event) == HttpRequest(
        method="",
        path="",
        caller_arn=None,
        body=None,
        base64_encoded=False,
        content_type=None,
        request_id="",
    )


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["2.0", "POST", "/token", CALLER, "content-type"])
)
keys = st.sampled_from(
    [
        "version",
        "httpMethod",
        "resource",
        "path",
        "rawPath",
        "body",
        "isBase64Encoded",
        "headers",
        "requestContext",
        "identity",
        "userArn",
        "authorizer",
        "iam",
        "http",
        "method",
        "resourcePath",
        "requestId",
        "Content-Type",
    ]
) | st.text(max_size=8)
jsonish = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=30,
)


def assert_plain(request: HttpRequest) -> None:
    assert isinstance(request.method, str)
    assert isinstance(request.path, str)
    assert request.caller_arn is None or (
        isinstance(request.caller_arn, str) and request.caller_arn
    )
    assert request.body is None or isinstance(request.body, str)
    assert isinstance(request.base64_encoded, bool)
    assert request.content_type is None or isinstance(request.content_type, str)
    assert isinstance(request.request_id, str)


@settings(max_examples=300)
@given(jsonish)
def test_any_json_value_parses_without_raising(event: object) -> None:
    assert_plain(parse_event(event))


@settings(max_examples=200)
@given(
    shape=st.sampled_from([REST, FUNCTION_URL]),
    replacements=st.dictionaries(
        st.sampled_from(["requestContext", "headers", "body", "version", "rawPath", "httpMethod"]),
        jsonish,
        max_size=3,
    ),
)
def test_any_damaged_event_parses_without_raising(
    shape: dict[str, Any], replacements: dict[str, Any]
) -> None:
    assert_plain(parse_event({**shape, **replacements}))
