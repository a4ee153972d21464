"""The shared token cache across broker *processes*, as Lambda runs its environments.

Each environment is an OS process of its own (``tools/local/environment.py``) running the
real ``lambda_handler`` with the variables a deployed function gets; they share one table
in moto's DynamoDB, encrypted under a key of moto's KMS (moto's server in a process of
its own on 127.0.0.1, reached over HTTP like AWS, serving one request at a time so that
conditional writes are atomic as DynamoDB's are: see tools/local/moto_atomic.py). The
identity provider is the real test IdP, and its own count of token requests is the
witness.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from token_broker.shared_cache import LEASE_SECONDS
from tools.local.fleet import (
    Environment,
    Fleet,
    create_shared_cache,
    function_env,
    moto_process,
    token_event,
)
from tools.local.idp import ORDERS_API, IdentityProvider

ACCOUNT = "123456789012"
WORKER = f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-worker/task-1"
SECRET = "scopegate/orders-api"
KEYS = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": "us-east-1"}
pytestmark = pytest.mark.timeout(180)


@dataclass
class World:
    idp: IdentityProvider
    aws_url: str
    table: str
    kms_key: str

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws_url, **KEYS)

    def config(self, *, shared: bool = True, kms_key: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "clients": {
                "orders-api": {
                    "secret": SECRET,
                    "token_endpoint": self.idp.token_endpoint,
                    "resource": ORDERS_API,
                }
            },
            "grants": [
                {
                    "principal": f"arn:aws:iam::{ACCOUNT}:role/orders-worker",
                    "client": "orders-api",
                    "scopes": ["orders:read", "orders:write"],
                }
            ],
        }
        if shared:
            doc["shared_cache"] = {"table": self.table, "kms_key": kms_key or self.kms_key}
        return doc

    def fleet(self, n: int, doc: dict[str, Any] | None = None, **extra: str) -> Fleet:
        return Fleet(n, function_env(doc or self.config(), self.aws_url, **extra))


@pytest.fixture
def world(idp_factory: Callable[..., IdentityProvider]) -> Iterator[World]:
    idp = idp_factory()
    with moto_process() as url:
        secrets = boto3.client("secretsmanager", endpoint_url=url, **KEYS)
        secrets.create_secret(
            Name=SECRET,
            SecretString=json.dumps(
                {"client_id": "writer", "client_secret": idp.client_secret("writer")}
            ),
        )
        dynamodb, kms = (boto3.client(s, endpoint_url=url, **KEYS) for s in ("dynamodb", "kms"))
        table, key = create_shared_cache(dynamodb, kms)
        idp.reset_stats()
        yield World(idp, url, table, key)


def answer(environment: Environment, scope: str) -> dict[str, Any]:
    response = environment.invoke(token_event(WORKER, f"scope={scope}"))
    assert response["statusCode"] == 200, response
    body: dict[str, Any] = json.loads(response["body"])
    return body


def warm(world: World, fleet: Fleet) -> None:
    """Environments as a fleet under traffic has them: AWS clients made, a token of another
    grant held. Counting at the IdP starts afterwards."""
    for environment in fleet.environments:
        answer(environment, "orders:read orders:write")
    world.idp.reset_stats()


def in_parallel(fleet: Fleet, scopes: list[str], rounds: int) -> list[tuple[int, str, str]]:
    """Every environment asks ``rounds`` times for each scope, all environments at once."""
    results: list[tuple[int, str, str]] = []
    start = threading.Barrier(len(fleet))

    def run(n: int) -> None:
        start.wait()
        for _ in range(rounds):
            for scope in scopes:
                results.append((n, scope, answer(fleet[n], scope)["access_token"]))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(fleet))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_environments_make_one_idp_call_per_grant_per_token_lifetime(world: World) -> None:
    with world.fleet(6) as fleet:
        warm(world, fleet)
        results = in_parallel(fleet, ["orders:read", "orders:write"], rounds=10)
        logs = [line for environment in fleet.environments for line in environment.logs()]
    assert len(results) == 6 * 2 * 10
    assert world.idp.stats()["token_requests"] == 2  # one per grant, for six environments
    for scope in ("orders:read", "orders:write"):
        assert len({token for _, s, token in results if s == scope}) == 1
    issued = [
        line for line in logs
        if line.get("event") == "token_issued" and len(line["scopes"]) == 1  # not warm-ups
    ]  # fmt: skip
    assert len(issued) == 120
    assert sum(line["cache"] == "miss" for line in issued) == 2


def test_without_the_shared_cache_every_environment_asks_for_its_own(world: World) -> None:
    with world.fleet(3, world.config(shared=False)) as fleet:
        warm(world, fleet)
        in_parallel(fleet, ["orders:read"], rounds=5)
    assert world.idp.stats()["token_requests"] == 3


def test_a_table_hit_answers_the_tokens_real_remaining_lifetime(world: World) -> None:
    with world.fleet(2) as fleet:
        first = answer(fleet[0], "orders:read")
        time.sleep(1.1)
        second = answer(fleet[1], "orders:read")
    assert second["access_token"] == first["access_token"]
    assert first["expires_in"] - 3 <= second["expires_in"] <= first["expires_in"] - 1
    assert world.idp.stats()["token_requests"] == 1


def test_a_lease_holder_killed_mid_call_is_taken_over_after_the_lease_expires(
    world: World,
) -> None:
    world.idp.set_fault(delay_ms=60_000, count=1)  # the holder's call hangs at the IdP
    with world.fleet(2) as fleet:
        holder, survivor = fleet[0], fleet[1]
        asked_at = time.monotonic()
        hanging = threading.Thread(target=_swallow, args=(holder, "orders:read"), daemon=True)
        hanging.start()
        _until(lambda: [e["status"] for e in world.idp.token_log()] == [None])
        holder.kill()  # mid-call, holding the lease
        body = answer(survivor, "orders:read")
        answered_at = time.monotonic()
    assert body["token_type"] == "Bearer"
    assert answered_at - asked_at >= LEASE_SECONDS  # it waited for the lease to expire
    assert [e["status"] for e in world.idp.token_log()] == [None, 200]


def test_an_unreachable_table_still_answers_200_with_one_warning_and_the_metric(
    world: World,
) -> None:
    closed = "http://127.0.0.1:9"
    with world.fleet(1, AWS_ENDPOINT_URL_DYNAMODB=closed) as fleet:
        bodies = [answer(fleet[0], s) for s in ("orders:read", "orders:write", "orders:read")]
        fleet[0].flush_metrics()
        logs = fleet[0].logs()
    assert world.idp.stats()["token_requests"] == 2  # its own memory cache still works
    warnings = [line for line in logs if line.get("level") == "WARNING"]
    assert [(w["reason"], w["code"]) for w in warnings] == [
        ("table_error", "EndpointConnectionError")
    ]
    assert _metric(logs, "SharedCacheError") == {"table_error": 1}
    _no_token_in(logs, bodies)


def test_kms_refusing_still_answers_200_from_the_idp(world: World) -> None:
    with world.fleet(2) as fleet:
        first = answer(fleet[0], "orders:read")
        world.client("kms").delete_alias(AliasName=world.kms_key)  # the key is gone for us
        second = answer(fleet[1], "orders:read")
        fleet[1].flush_metrics()
        logs = fleet[1].logs()
    assert second["access_token"] != first["access_token"]  # from the IdP, not the table
    assert world.idp.stats()["token_requests"] == 2
    (warning,) = [line for line in logs if line.get("level") == "WARNING"]
    assert (warning["reason"], warning["code"]) == ("kms_error", "NotFoundException")
    assert _metric(logs, "SharedCacheError") == {"kms_error": 1}
    _no_token_in(logs, [first, second])


def test_the_table_holds_no_token_in_plain_text(world: World) -> None:
    with world.fleet(2) as fleet:
        bodies = [answer(fleet[n], s) for n in (0, 1) for s in ("orders:read", "orders:write")]
    items = world.client("dynamodb").scan(TableName=world.table, ConsistentRead=True)["Items"]
    assert len(items) == 2
    raw = b"".join(
        value["B"] if "B" in value else json.dumps(value).encode()
        for item in items
        for value in item.values()
    )
    for body in bodies:
        token = body["access_token"]
        for part in (token, *token.split(".")):
            assert part.encode() not in raw
    assert b"orders" not in raw
    assert b"writer" not in raw


# --- helpers ---------------------------------------------------------------------------


def _swallow(environment: Environment, scope: str) -> None:
    with contextlib.suppress(OSError):  # the process is killed under the request
        environment.invoke(token_event(WORKER, f"scope={scope}"), timeout=90)


def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _metric(logs: list[dict[str, Any]], name: str) -> dict[str, int]:
    """The EMF documents' counts of ``name`` by ``reason``."""
    counts: dict[str, int] = {}
    for line in logs:
        metrics = line.get("_aws", {}).get("CloudWatchMetrics", [])
        if any(m["Name"] == name for d in metrics for m in d["Metrics"]):
            reason = line.get("reason", "")
            counts[reason] = counts.get(reason, 0) + int(sum(line[name]))
    return counts


def _no_token_in(logs: list[dict[str, Any]], bodies: list[dict[str, Any]]) -> None:
    text = json.dumps(logs)
    for body in bodies:
        assert body["access_token"] not in text
        assert body["access_token"].split(".")[2] not in text
