"""Fleet figures for the token broker's shared cache (``make bench``, after the broker's);
exits 1 when a target is missed.

Everything runs on 127.0.0.1: the test identity provider (oidc-provider, node), moto's
threaded server for Secrets Manager, DynamoDB and KMS, and broker environments as
separate processes (``tools/local/environment.py``) that run the real ``lambda_handler``.

1. IdP token requests for 8 broker processes x 200 requests of one grant, all processes
   at once, within one token lifetime: the identity provider's own count. With the shared
   cache the target is exactly 1; the same run without it is shown (each environment asks
   once: 8).
2. Latency of ``Broker.issue`` in one process, rounds interleaved, medians: a memory hit,
   a table hit (data key cached: a GetItem and AES-GCM), a table hit in a new environment
   (GetItem and a KMS Decrypt), that GetItem alone, and a call to the identity provider
   (no cache). The added latency of a table hit over a memory hit is reported against
   the IdP round trip measured in the same run; what the broker adds beyond the GetItem's
   own round trip must stay under ``TARGET_BROKER_OVER_IDP`` of it (moto's server is far
   slower per call than DynamoDB, and the local IdP far faster than a real one).

The table goes to stdout, the figures as JSON on the last line (``--json PATH`` too).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from tools.bench.broker import prepare_environment
from tools.bench.timing import Count, Figure, Row, finish, progress, render

ENVIRONMENTS = 8
REQUESTS = 200  # per environment
ROUNDS = 200  # latency rounds, each contestant once per round
TARGET_IDP_CALLS = 1
# (table hit - memory hit - the GetItem's own round trip) / IdP round trip. The GetItem
# itself is left out of the target: moto's server spends ~9 ms on any DynamoDB call,
# DynamoDB itself single-digit milliseconds; it is reported beside.
TARGET_BROKER_OVER_IDP = 0.3
SECRET = "scopegate/orders-api"
ROLE = "arn:aws:iam::123456789012:role/orders-worker"
CALLER = "arn:aws:sts::123456789012:assumed-role/orders-worker/task-1"
BODY = "client=orders-api&scope=orders:read"
KEYS = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": "us-east-1"}


def config(idp: Any, table: str | None, kms_key: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "clients": {
            "orders-api": {
                "secret": SECRET,
                "token_endpoint": idp.token_endpoint,
                "resource": "api://orders",
            }
        },
        "grants": [
            {"principal": ROLE, "client": "orders-api", "scopes": ["orders:read"]},
            {"principal": ROLE, "client": "warm-up", "scopes": ["orders:read"]},
        ],
    }
    doc["clients"]["warm-up"] = dict(doc["clients"]["orders-api"], audience="warm-up")
    if table is not None:
        doc["shared_cache"] = {"table": table, "kms_key": kms_key}
    return doc


def fleet_calls(idp: Any, aws_url: str, doc: dict[str, Any]) -> int:
    """IdP token requests while ENVIRONMENTS processes each answer REQUESTS requests."""
    from tools.local.fleet import Fleet, function_env, token_event

    with Fleet(ENVIRONMENTS, function_env(doc, aws_url)) as fleet:
        # Warm environments, as a fleet under traffic has: each made its AWS clients and
        # holds a token of another grant. What follows is one grant's next token lifetime.
        for environment in fleet.environments:
            environment.invoke(token_event(CALLER, "client=warm-up"))
        idp.reset_stats()
        start = threading.Barrier(ENVIRONMENTS)
        refused: list[Any] = []

        def run(n: int) -> None:
            start.wait()
            for i in range(REQUESTS):
                answer = fleet[n].invoke(token_event(CALLER, BODY, f"{n}-{i}"))
                if answer["statusCode"] != 200:
                    refused.append(answer)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(ENVIRONMENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if refused:
            raise SystemExit(f"bench fleet: {len(refused)} requests refused: {refused[:2]}")
        warnings = [
            line for environment in fleet.environments for line in environment.logs()
            if line.get("level") != "INFO"
        ]  # fmt: skip
        if warnings:
            raise SystemExit(f"bench fleet: the environments warned: {warnings[:3]}")
        return int(idp.stats()["token_requests"])


def latencies(idp: Any, aws_url: str, table: str, kms_key: str) -> list[Row]:
    import boto3

    from token_broker.broker import Broker, Issued
    from token_broker.config import validate
    from token_broker.envelope import Envelope
    from token_broker.grants import Issue
    from token_broker.secret_store import SecretStore
    from token_broker.shared_cache import SharedCache
    from token_broker.token_cache import TokenCache
    from token_broker.token_table import TokenTable, shared_key
    from token_broker.upstream import IdpClient

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=aws_url, **KEYS)

    secrets, dynamodb, kms = (
        SecretStore(client("secretsmanager")),
        client("dynamodb"),
        client("kms"),
    )
    issue = Issue(validate(config(idp, None, None)).clients["orders-api"], ("orders:read",))

    def shared(envelope: Envelope | None = None) -> SharedCache:
        return SharedCache(TokenTable(table, envelope or Envelope(kms_key, kms), dynamodb))

    memory = Broker(secrets, IdpClient(), min_remaining=60, shared=shared())
    table_hit = Broker(
        secrets, IdpClient(), min_remaining=60, cache=TokenCache(max_entries=0), shared=shared()
    )
    # Above the IdP's 300 s token lifetime, nothing cached is ever good enough.
    idp_call = Broker(secrets, IdpClient(), min_remaining=3600)

    def new_environment() -> Issued:
        fresh = Broker(
            secrets, IdpClient(), min_remaining=60, shared=shared(Envelope(kms_key, kms))
        )
        return fresh.issue(issue, time.time() + 9)

    pk = {"pk": {"S": shared_key(issue.client, issue.scopes).pk}}

    def get_item_alone() -> Issued | None:
        dynamodb.get_item(TableName=table, Key=pk, ConsistentRead=True)
        return None

    contestants: dict[str, Callable[[], Issued | None]] = {
        "memory": lambda: memory.issue(issue, time.time() + 9),
        "table": lambda: table_hit.issue(issue, time.time() + 9),
        "table, new environment": new_environment,
        "get_item": get_item_alone,
        "idp": lambda: idp_call.issue(issue, time.time() + 9),
    }
    for run in contestants.values():  # warm: the token is in the table and in memory
        run()
    calls_before = idp.stats()["token_requests"]
    samples: dict[str, list[float]] = {name: [] for name in contestants}
    for _ in range(ROUNDS):
        for name, run in contestants.items():
            started = time.perf_counter()
            issued = run()
            samples[name].append(time.perf_counter() - started)
            if issued is not None and (issued.cache == "hit") != (name != "idp"):
                raise SystemExit(f"bench fleet: {name} was answered from the wrong place")
    if idp.stats()["token_requests"] - calls_before != ROUNDS:
        raise SystemExit("bench fleet: only the idp contestant may call the identity provider")
    median = {name: statistics.median(values) for name, values in samples.items()}
    added = median["table"] - median["memory"]
    own = added - median["get_item"]
    round_trip = median["idp"]
    return [
        Figure("Broker.issue, memory hit", median["memory"]),
        Figure("Broker.issue, table hit (GetItem, AES-GCM)", median["table"], unit="ms"),
        Figure(
            "Broker.issue, table hit in a new environment (+ KMS Decrypt)",
            median["table, new environment"],
            unit="ms",
        ),
        Figure("  that GetItem alone, boto3 to moto's server", median["get_item"], unit="ms"),
        Figure("Broker.issue, identity provider round trip", round_trip, unit="ms"),
        Figure(
            "table hit over memory hit, vs the IdP round trip",
            added,
            round_trip,
            unit="ms",
        ),
        Figure(
            "  the broker's own part of it (beyond the GetItem), vs the IdP round trip",
            own,
            round_trip,
            TARGET_BROKER_OVER_IDP,
            unit="ms",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args()
    started = time.perf_counter()
    prepare_environment()
    import boto3

    from tools.local import world
    from tools.local.fleet import create_shared_cache, moto_process

    progress("starting the test identity provider and moto's server")
    with world.identity_provider() as idp, moto_process() as aws_url:
        boto3.client("secretsmanager", endpoint_url=aws_url, **KEYS).create_secret(
            Name=SECRET,
            SecretString=json.dumps(
                {"client_id": "reader", "client_secret": idp.client_secret("reader")}
            ),
        )
        table, kms_key = create_shared_cache(
            boto3.client("dynamodb", endpoint_url=aws_url, **KEYS),
            boto3.client("kms", endpoint_url=aws_url, **KEYS),
        )
        progress(f"{ENVIRONMENTS} broker processes x {REQUESTS} requests, shared cache on")
        shared_calls = fleet_calls(idp, aws_url, config(idp, table, kms_key))
        progress(f"{ENVIRONMENTS} broker processes x {REQUESTS} requests, shared cache off")
        own_calls = fleet_calls(idp, aws_url, config(idp, None, None))
        progress(f"latency: {ROUNDS} interleaved rounds of each")
        rows: list[Row] = [
            Count(
                f"IdP token requests, {ENVIRONMENTS} processes x {REQUESTS} requests, shared cache",
                shared_calls,
                TARGET_IDP_CALLS,
            ),
            Count(
                f"  the same without the shared cache (one per environment: {ENVIRONMENTS})",
                own_calls,
                ENVIRONMENTS,
            ),
        ]
        rows += latencies(idp, aws_url, table, kms_key)

    print(render(rows))
    print("latency: medians of interleaved rounds; moto, the IdP and the broker share the cores")
    return finish(rows, started, args.json)


if __name__ == "__main__":
    sys.exit(main())
