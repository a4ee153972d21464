"""A task's view: ``BrokerClient`` signs with SigV4, a local IAM gateway checks the
signature and hands the real handler the event AWS would, and the handler gets tokens
from the real identity provider with secrets from moto."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials
from moto import mock_aws

from tests.integration.test_broker_idp import broker_doc, claims_of, seed
from token_broker.client import BrokerClient, BrokerClientError
from token_broker.handler import handle
from tools.local.broker_gateway import LocalBrokerGateway
from tools.local.broker_harness import REPORTING, WORKER, runtime
from tools.local.idp import IdentityProvider
from tools.local.sigv4 import SecretEntry

WORKER_KEY = Credentials("ASIAWORKEREXAMPLE", "worker-secret-key", "worker-session-token")
REPORTING_KEY = Credentials("ASIAREPORTEXAMPLE", "report-secret-key", "report-session-token")
IDENTITIES = {
    WORKER_KEY.access_key: SecretEntry(WORKER_KEY.secret_key, WORKER, WORKER_KEY.token),
    REPORTING_KEY.access_key: SecretEntry(REPORTING_KEY.secret_key, REPORTING, REPORTING_KEY.token),
}


@pytest.fixture(params=["rest", "function_url"])
def gateway(request: pytest.FixtureRequest, idp: IdentityProvider) -> Iterator[Any]:
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        seed(idp, secrets)
        state = runtime(broker_doc(idp), secrets)
        idp.reset_stats()
        with LocalBrokerGateway(
            lambda event, context: handle(state, event, context),
            IDENTITIES,
            mode=request.param,
        ) as gw:
            yield gw


def client(gateway: Any, credentials: Credentials) -> BrokerClient:
    return BrokerClient(
        gateway.token_url,
        region=gateway.region,
        service=gateway.service,
        credentials_provider=lambda: credentials,
    )


def test_task_client_gets_a_scoped_token_through_sigv4(gateway: Any, idp: IdentityProvider) -> None:
    token = client(gateway, WORKER_KEY).get_token(scopes=["orders:read"])
    claims = claims_of(idp, token)
    assert claims["client_id"] == "writer"
    assert claims["scope"] == "orders:read"


def test_many_threads_of_many_tasks_cause_one_idp_call(gateway: Any, idp: IdentityProvider) -> None:
    tasks = [client(gateway, WORKER_KEY) for _ in range(4)]
    tokens: list[str] = []

    def work(task: BrokerClient) -> None:
        for _ in range(5):
            tokens.append(task.get_token("orders:read"))

    threads = [threading.Thread(target=work, args=(t,)) for t in tasks for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tokens) == 80
    assert len(set(tokens)) == 1
    assert len(gateway.events) == 4  # one per task: each client caches its own
    assert idp.stats()["token_requests"] == 1  # the broker served the other three


def test_task_client_sees_the_brokers_refusal(gateway: Any) -> None:
    with pytest.raises(BrokerClientError) as refused:
        client(gateway, REPORTING_KEY).get_token("orders:write")
    assert (refused.value.status, refused.value.error) == (400, "invalid_scope")
    assert "orders:write" in refused.value.description


def test_a_bad_signature_never_reaches_the_broker(gateway: Any) -> None:
    forged = Credentials(WORKER_KEY.access_key, "not-the-key", WORKER_KEY.token)
    with pytest.raises(BrokerClientError) as refused:
        client(gateway, forged).get_token("orders:read")
    assert refused.value.status == 403
    assert gateway.events == []
