"""The outbound half of `make demo` (tools/demo.py): tasks get tokens from the broker.

All on 127.0.0.1, with no AWS account: Secrets Manager is moto's, in process, holding the
secrets of the test identity provider's "writer" and "reader" clients; the broker handler
sits behind a local IAM gateway (tools/local/broker_gateway.py) that checks real SigV4
signatures and hands the handler the caller's role ARN, as API Gateway does; each ECS task
is a ``BrokerClient`` signing with made-up task-role keys. Every token the broker issues
is then sent to the authorizer (``authorize``, from demo.py), so one table shows the whole
flow: task, SigV4, broker, identity provider, token, authorizer decision.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.credentials import Credentials
from moto import mock_aws

from token_broker.client import BrokerClient, BrokerClientError
from tools.local.broker_gateway import LocalBrokerGateway
from tools.local.idp import ORDERS_API, IdentityProvider
from tools.local.sigv4 import SecretEntry

REGION = "us-east-1"
ACCOUNT = "123456789012"
# Broker client -> (its Secrets Manager secret, the test IdP client whose credentials it holds)
UPSTREAM = {
    "orders-writer": ("scopegate/demo/orders-writer", "writer"),
    "orders-reader": ("scopegate/demo/orders-reader", "reader"),
}

TITLE = (
    "Token broker: tasks sign POST /token with their task role (SigV4), then call the API\n"
    "with the token they got (API rows: the authorizer's answer to REST REQUEST events)"
)
HEAD = ("step", "task", "request", "outcome", "check")

# (step, task, scopes asked of the broker or "METHOD /path" asked of the API, expected)
FLOW: list[tuple[str, str, str, str]] = [
    ("broker", "worker-1", "orders:read orders:write", "200 orders:read orders:write, IdP +1"),
    ("API", "worker-1", "POST /orders", "200 allow, principalId writer"),
    ("broker", "reporting", "orders:read", "200 orders:read, IdP +1"),
    ("API", "reporting", "POST /orders", "403 deny, principalId reader"),
    ("API", "reporting", "GET /orders", "200 allow, principalId reader"),
    # Another task with the same role: the broker's cache answers, the IdP is not asked.
    ("broker", "worker-2", "orders:read orders:write", "200 same token as task-1, IdP +0"),
    ("broker", "reporting", "orders:write", "400 invalid_scope, IdP +0"),
    ("broker", "stranger", "orders:read", "403 access_denied, IdP +0"),
    ("broker", "forger", "orders:read", "403 signature_mismatch (gateway), IdP +0"),
]


@dataclass(frozen=True, slots=True)
class Task:
    """An ECS task: its task role, its id (the role session name) and its role keys."""

    role: str
    session: str
    access_key: str
    forged: bool = False  # signs with the access key but not its secret key

    @property
    def label(self) -> str:
        return f"{self.role}/{self.session}" + (" forged" if self.forged else "")

    @property
    def arn(self) -> str:
        """The caller ARN that IAM reports for this task's requests."""
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.role}/{self.session}"

    def credentials(self) -> Credentials:
        secret = "not-the-secret-key" if self.forged else self.identity.secret_key
        return Credentials(self.access_key, secret, self.identity.session_token)

    @property
    def identity(self) -> SecretEntry:
        """What IAM knows about the key (the gateway's side)."""
        return SecretEntry(f"{self.access_key}-secret", self.arn, f"{self.access_key}-session")


TASKS = {
    "worker-1": Task("orders-worker", "task-1", "ASIADEMOWORKER1"),
    "worker-2": Task("orders-worker", "task-2", "ASIADEMOWORKER2"),
    "reporting": Task("reporting", "task-42", "ASIADEMOREPORTING"),
    "stranger": Task("stranger", "task-7", "ASIADEMOSTRANGER"),  # a valid signer, no grant
    "forger": Task("orders-worker", "task-1", "ASIADEMOWORKER1", forged=True),
}


@dataclass(frozen=True, slots=True)
class Step:
    """One request of FLOW, to the broker or to the API, and its outcome."""

    step: str
    task: str
    request: str
    expected: str
    outcome: str

    @property
    def ok(self) -> bool:
        return self.outcome == self.expected

    @property
    def cells(self) -> tuple[str, ...]:
        check = "ok" if self.ok else f"EXPECTED {self.expected}"
        request = self.request if self.step == "API" else f"scope {self.request}"
        return (self.step, TASKS[self.task].label, request, self.outcome, check)


def broker_config(idp: IdentityProvider) -> dict[str, Any]:
    """The broker document (docs/broker.md, "Configuration"): one grant per task role."""
    client = {"issuer": idp.issuer, "resource": ORDERS_API}  # token endpoint by discovery
    return {
        "clients": {name: {"secret": secret, **client} for name, (secret, _) in UPSTREAM.items()},
        "grants": [
            {
                "principal": f"arn:aws:iam::{ACCOUNT}:role/orders-worker",
                "client": "orders-writer",
                "scopes": ["orders:read", "orders:write"],
            },
            {
                "principal": f"arn:aws:iam::{ACCOUNT}:role/reporting",
                "client": "orders-reader",
                "scopes": ["orders:read"],
            },
        ],
    }


@contextmanager
def broker_gateway(idp: IdentityProvider) -> Iterator[LocalBrokerGateway]:
    """The broker behind the local IAM gateway, its secrets in moto's Secrets Manager."""
    # The handler's logger reads its level on import: import after demo.py's configure().
    from token_broker.handler import handle
    from tools.local.broker_harness import put_secret, runtime

    # moto answers every AWS call; dummy keys make sure no real account is ever involved.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name=REGION)
        for secret, client_id in UPSTREAM.values():
            value = {"client_id": client_id, "client_secret": idp.client_secret(client_id)}
            put_secret(secrets, secret, value)
        state = runtime(broker_config(idp), secrets)
        with LocalBrokerGateway(
            lambda event, context: handle(state, event, context),
            {t.access_key: t.identity for t in TASKS.values() if not t.forged},
            region=REGION,
            raise_handler_errors=False,  # a crash is a 502 row, not a crashed demo
        ) as gateway:
            yield gateway


def run(idp: IdentityProvider, authorize: Callable[[str, str], tuple[str, str]]) -> list[Step]:
    """Play FLOW; ``authorize(token, "METHOD /path")`` is (outcome, principalId)."""
    steps: list[Step] = []
    with broker_gateway(idp) as gateway:
        tasks = {
            name: BrokerClient(
                gateway.token_url,
                region=gateway.region,
                service=gateway.service,
                credentials_provider=task.credentials,
            )
            for name, task in TASKS.items()
        }
        tokens: dict[str, str] = {}  # task -> the token it got last
        for step, task, request, expected in FLOW:
            if step == "API":
                outcome, principal = authorize(tokens[task], request)
                outcome = f"{outcome}, principalId {principal}"
            else:
                calls = idp.stats()["token_requests"]
                outcome, token = ask(gateway, tasks[task], request)
                if token is not None:
                    owner = next((t for t, seen in tokens.items() if seen == token), None)
                    outcome = f"200 same token as {TASKS[owner].session}" if owner else outcome
                    tokens[task] = token
                outcome += f", IdP +{idp.stats()['token_requests'] - calls}"
            steps.append(Step(step, task, request, expected, outcome))
    return steps


def ask(gateway: LocalBrokerGateway, broker: BrokerClient, scopes: str) -> tuple[str, str | None]:
    """("200 granted scopes", token) or ("status error", None) for one token request."""
    refusals = len(gateway.refusals)
    try:
        token = broker.get_token_response(scopes)
    except BrokerClientError as e:
        if len(gateway.refusals) > refusals:  # refused before the broker ran
            return f"{e.status} {gateway.refusals[-1]} (gateway)", None
        return f"{e.status} {e.error}", None
    return f"200 {token.scope}", token.access_token
