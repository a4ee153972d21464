"""A rotation triggered through Secrets Manager while tasks call the broker and the API.

The broker runs with min_remaining_seconds above the IdP's token lifetime, so it reuses no
token: every broker request reaches the identity provider with the client secret the
broker holds (cached 300 s, as in Lambda). RotateSecret on moto's server runs the rotation
function's four steps, which replace the secret at the IdP's Okta API; the second rotation
deletes the secret the broker still holds. No request may fail.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import call
from tools.local import world
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration
CLIENT = "orders-writer"
SECRET, IDP_CLIENT = world.UPSTREAM[CLIENT][0], world.UPSTREAM[CLIENT][1]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(cache_ttl=0, min_remaining=3600, log=io.StringIO()) as started:
        yield started


def current_secret(stack: LocalStack) -> str:
    answer = stack.secrets.get_secret_value(SecretId=SECRET, VersionStage="AWSCURRENT")
    value = json.loads(answer["SecretString"])
    return str(value["client_secret"])


def test_three_rotations_through_secrets_manager_fail_no_request(stack: LocalStack) -> None:
    stack.idp.reset_stats()
    outcomes: list[str] = []
    stop = threading.Event()

    def task(name: str) -> None:
        while not stop.is_set():
            # A new client each time: no client-side cache, every call reaches the broker.
            try:
                token = stack.broker_client(name).get_token("orders:read orders:write")
                status = call(stack, "POST", "/orders", token).status
            except Exception as e:  # noqa: BLE001 - counted as a failure below
                outcomes.append(f"{type(e).__name__}: {e}")
                continue
            outcomes.append("ok" if status == 200 else f"API: {status}")

    def traffic_flows(requests: int = 10) -> None:
        """Wait until the tasks have made ``requests`` more requests (not a fixed time)."""
        target = len(outcomes) + requests
        deadline = time.monotonic() + 60
        while len(outcomes) < target and time.monotonic() < deadline:
            time.sleep(0.05)

    threads = [threading.Thread(target=task, args=(name,)) for name in ("worker", "worker-2")]
    for thread in threads:
        thread.start()
    try:
        seen = [current_secret(stack)]
        for _ in range(3):
            traffic_flows()
            stack.rotate(CLIENT)
            seen.append(current_secret(stack))
        traffic_flows()
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    failures = [o for o in outcomes if o != "ok"]
    refused = [
        e for e in stack.idp.token_log() if e["client_id"] == IDP_CLIENT and e["status"] == 401
    ]
    print(
        f"\n{len(outcomes)} task requests during 3 rotations, {len(failures)} failed, "
        f"{len(refused)} refused secrets recovered by the broker"
    )
    assert len(set(seen)) == 4  # each rotation made a new secret
    assert failures == []
    assert len(outcomes) >= 40
    assert refused  # the broker's secret really was deleted under it
    live = {s["sha256"] for s in stack.idp.secrets(IDP_CLIENT) if s["status"] == "ACTIVE"}
    assert live == {hashlib.sha256(s.encode()).hexdigest() for s in seen[-2:]}
    stages = stack.secrets.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    assert sorted(s for v in stages.values() for s in v) == ["AWSCURRENT", "AWSPREVIOUS"]
