"""A function reports a broken configuration once, not once per request, and again when
it breaks anew after a good load: the same rule in the authorizer and the broker."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from scopegate_core.function_log import FunctionLog
from token_broker.config import BrokerConfigSource
from token_broker.handler import Runtime, handle
from token_broker.secret_store import SecretStore
from token_broker.upstream import IdpClient
from tools.local.broker_harness import WORKER, rest_event

GOOD = """
clients:
  orders-api: {secret: scopegate/orders-api, token_endpoint: https://idp.example.com/token}
grants:
  - {principal: "arn:aws:iam::123456789012:role/orders-worker", client: orders-api,
     scopes: [orders:read]}
"""


class Problem(Exception):
    reason = "config_invalid"


def errors(caplog: pytest.LogCaptureFixture) -> list[tuple[str, Any]]:
    return [
        (r.getMessage(), getattr(r, "fields", None))
        for r in caplog.records
        if r.levelno >= logging.ERROR
    ]


def test_a_problem_is_reported_once_until_it_changes_or_is_cleared(
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = FunctionLog("scopegate-test", {}).problem_report("broken: every request fails")
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            report.report(Problem("issuers[0].issuer must use https"))
        report.report(Problem("routes[2] repeats 'GET /orders'"))
        report.report(Problem("routes[2] repeats 'GET /orders'"))
        report.clear()  # a good load came between
        report.report(Problem("routes[2] repeats 'GET /orders'"))
    problem = "broken: every request fails"
    assert errors(caplog) == [
        (problem, {"reason": "config_invalid", "problem": "issuers[0].issuer must use https"}),
        (problem, {"reason": "config_invalid", "problem": "routes[2] repeats 'GET /orders'"}),
        (problem, {"reason": "config_invalid", "problem": "routes[2] repeats 'GET /orders'"}),
    ]
    assert not any(r.exc_info for r in caplog.records)


def test_the_service_and_namespace_come_from_the_powertools_variables() -> None:
    env = {"POWERTOOLS_SERVICE_NAME": "orders-authz", "POWERTOOLS_METRICS_NAMESPACE": "acme"}
    log = FunctionLog("scopegate-authorizer", env)
    assert (log.service, log.metrics.namespace) == ("orders-authz", "acme")
    default = FunctionLog("scopegate-authorizer", {})
    assert (default.service, default.metrics.namespace) == ("scopegate-authorizer", "scopegate")


class Parameters:
    """SSM's GetParameter for one document that the test edits."""

    def __init__(self, text: str) -> None:
        self.text = text

    def get_parameter(self, Name: str, WithDecryption: bool) -> dict[str, Any]:
        return {"Parameter": {"Value": self.text}}


def test_the_broker_reports_a_problem_again_when_it_comes_back_after_a_good_config(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = GOOD.replace("client: orders-api", "client: nope")
    ssm = Parameters(broken)
    env = {"BROKER_CONFIG_PARAMETER": "/scopegate/broker", "BROKER_CONFIG_MAX_AGE": "0"}
    state = Runtime(BrokerConfigSource(env, ssm_client=ssm), SecretStore(object()), IdpClient())
    with caplog.at_level(logging.INFO):
        for _ in range(2):
            assert handle(state, rest_event(WORKER, ""))["statusCode"] == 500
        ssm.text = GOOD
        state.current()  # the next request finds a good document
        ssm.text = broken
        assert handle(state, rest_event(WORKER, ""))["statusCode"] == 500
    found = errors(caplog)
    assert [message for message, _ in found] == [
        "broker misconfigured: requests are answered 500"
    ] * 2
    assert all("'nope' is not one of the clients" in fields["problem"] for _, fields in found)
