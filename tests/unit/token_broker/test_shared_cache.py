"""The shared token cache's protocol against moto's DynamoDB and KMS, in process.

Each ``environment()`` is what one Lambda execution environment holds: its own boto3
clients, envelope (data-key caches) and ``SharedCache``; all of them share one table. The
identity provider here is a counter that mints tokens (tests/integration has the real
one, with broker processes); the clock is a fake where the lease's expiry matters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from token_broker.config import ClientConfig
from token_broker.envelope import Envelope
from token_broker.shared_cache import BYPASS_SECONDS, LEASE_SECONDS, OWN_CALL_RESERVE, SharedCache
from token_broker.token_cache import CachedToken
from token_broker.token_table import SharedCacheError, SharedKey, TokenTable, shared_key
from tools.local.fleet import create_shared_cache, moto_process

REGION = "us-east-1"
CLIENT = ClientConfig(
    "orders-api",
    "scopegate/orders-api",
    None,
    "https://idp.example.com/token",
    "client_secret_basic",
    "api://orders",
    None,
)
KEY = shared_key(CLIENT, ["orders:read"])
MIN_REMAINING = 60


@pytest.fixture
def aws() -> Iterator[tuple[str, str]]:
    with mock_aws():
        yield create_shared_cache(_client("dynamodb"), _client("kms"))


@pytest.fixture(scope="module")
def atomic_aws() -> Iterator[str]:
    """moto's server with DynamoDB's atomic conditional writes (see tools/local/moto_atomic):
    in process, moto may let two concurrent conditional writes both succeed."""
    with moto_process() as url:
        yield url


def _client(service: str, **kwargs: Any) -> Any:
    return boto3.client(service, region_name=REGION, **kwargs)


def _remote(url: str) -> Callable[..., Any]:
    def client(service: str, **kwargs: Any) -> Any:
        keys = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        return _client(service, endpoint_url=url, **keys, **kwargs)

    return client


@dataclass
class Idp:
    """Mints a new token per call; ``delay`` makes a call slow, ``fail`` makes it raise."""

    clock: Callable[[], float] = time.time
    lifetime: float = 300.0
    delay: float = 0.0
    fail: Exception | None = None
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> CachedToken:
        with self._lock:
            self.calls += 1
            n = self.calls
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return CachedToken(f"eyJ.token-{n}.sig", "orders:read", self.clock() + self.lifetime)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def environment(
    table: str,
    kms_key: str,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    dynamodb: Any = None,
    errors: list[SharedCacheError] | None = None,
    client: Callable[..., Any] = _client,
) -> SharedCache:
    envelope = Envelope(kms_key, client("kms"))
    store = TokenTable(table, envelope, dynamodb or client("dynamodb"))
    sink = errors if errors is not None else []
    return SharedCache(store, on_error=sink.append, clock=clock, sleep=sleep)


def fetch(cache: SharedCache, idp: Idp, key: SharedKey = KEY, budget: float = 9.0) -> Any:
    now = cache._clock()
    return cache.fetch(key, MIN_REMAINING, now + budget, idp)


# --- one call for the fleet ----------------------------------------------------------


def test_a_token_one_environment_fetched_is_served_from_the_table_to_another(
    aws: tuple[str, str],
) -> None:
    idp = Idp()
    first, second = environment(*aws), environment(*aws)
    token, source = fetch(first, idp)
    assert source == "idp"
    again, source = fetch(second, idp)
    assert (again, source) == (token, "table")
    assert idp.calls == 1


def test_concurrent_environments_make_one_identity_provider_call(atomic_aws: str) -> None:
    client = _remote(atomic_aws)
    aws = create_shared_cache(client("dynamodb"), client("kms"), table="concurrent")
    idp = Idp(delay=0.3)  # long enough for every environment to find the lease
    environments = [environment(*aws, client=client) for _ in range(8)]
    results: list[Any] = []
    start = threading.Barrier(len(environments))

    def run(cache: SharedCache) -> None:
        start.wait()
        results.append(fetch(cache, idp))

    threads = [threading.Thread(target=run, args=(cache,)) for cache in environments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert idp.calls == 1
    tokens = {token for token, _ in results}
    assert len(tokens) == 1
    assert sorted(source for _, source in results) == ["idp"] + ["table"] * 7


def test_each_grant_has_its_own_token(aws: tuple[str, str]) -> None:
    idp = Idp()
    cache = environment(*aws)
    read, _ = fetch(cache, idp, shared_key(CLIENT, ["orders:read"]))
    write, _ = fetch(cache, idp, shared_key(CLIENT, ["orders:write"]))
    assert read != write
    assert idp.calls == 2


def test_min_remaining_applies_to_table_entries(aws: tuple[str, str]) -> None:
    clock = FakeClock()
    idp = Idp(clock=clock, lifetime=90)
    first = environment(*aws, clock=clock, sleep=clock.sleep)
    second = environment(*aws, clock=clock, sleep=clock.sleep)
    token, _ = fetch(first, idp)
    clock.now += 29  # 61 s left: still served
    assert fetch(second, idp) == (token, "table")
    clock.now += 2  # 59 s left: below min_remaining, so the next one asks the IdP
    fresh, source = fetch(second, idp)
    assert (fresh != token, source) == (True, "idp")
    assert idp.calls == 2
    assert fetch(first, idp) == (fresh, "table")  # and the new token is what others get


# --- leases --------------------------------------------------------------------------


def test_a_dead_lease_holder_is_taken_over_when_the_lease_expires(aws: tuple[str, str]) -> None:
    clock = FakeClock()
    idp = Idp(clock=clock)
    dead = TokenTable(aws[0], Envelope(aws[1], _client("kms")), _client("dynamodb"))
    now = clock()
    assert dead.take_lease(KEY, "dead", now=now, until=now + LEASE_SECONDS, needed=now + 60)
    waiter = environment(*aws, clock=clock, sleep=clock.sleep)
    token, source = fetch(waiter, idp)
    assert source == "idp"
    assert idp.calls == 1
    waited = clock() - now
    assert LEASE_SECONDS <= waited < LEASE_SECONDS + 0.3
    assert fetch(environment(*aws, clock=clock), idp) == (token, "table")


def test_a_live_lease_is_not_taken(aws: tuple[str, str]) -> None:
    table = TokenTable(aws[0], Envelope(aws[1], _client("kms")), _client("dynamodb"))
    now = time.time()
    assert table.take_lease(KEY, "a", now=now, until=now + 4, needed=now + 60)
    assert not table.take_lease(KEY, "b", now=now + 1, until=now + 5, needed=now + 61)
    assert table.read(KEY).lease_holder == "a"


def test_a_lease_is_not_taken_over_a_fresh_token(aws: tuple[str, str]) -> None:
    table = TokenTable(aws[0], Envelope(aws[1], _client("kms")), _client("dynamodb"))
    now = time.time()
    table.store(KEY, CachedToken("eyJ.t.s", "orders:read", now + 300))
    assert not table.take_lease(KEY, "b", now=now, until=now + 4, needed=now + 60)
    # ...but over a token about to expire, it is.
    assert table.take_lease(KEY, "b", now=now + 250, until=now + 254, needed=now + 310)


def test_a_waiter_asks_the_idp_itself_rather_than_miss_the_deadline(
    aws: tuple[str, str],
) -> None:
    clock = FakeClock()
    idp = Idp(clock=clock)
    stuck = TokenTable(aws[0], Envelope(aws[1], _client("kms")), _client("dynamodb"))
    now = clock()
    assert stuck.take_lease(KEY, "stuck", now=now, until=now + 60, needed=now + 60)
    waiter = environment(*aws, clock=clock, sleep=clock.sleep)
    _, source = fetch(waiter, idp, budget=9.0)
    assert (source, idp.calls) == ("idp", 1)
    assert 9.0 - OWN_CALL_RESERVE - 0.3 <= clock() - now <= 9.0 - OWN_CALL_RESERVE


def test_a_holder_whose_idp_call_fails_ends_its_lease_at_once(aws: tuple[str, str]) -> None:
    clock = FakeClock()
    failing = Idp(clock=clock, fail=RuntimeError("idp down"))
    holder = environment(*aws, clock=clock, sleep=clock.sleep)
    with pytest.raises(RuntimeError):
        fetch(holder, failing)
    idp = Idp(clock=clock)
    before = clock()
    _, source = fetch(environment(*aws, clock=clock, sleep=clock.sleep), idp)
    assert (source, idp.calls, clock()) == ("idp", 1, before)  # no wait for the lease


def test_a_holder_that_cannot_write_its_token_ends_its_lease(aws: tuple[str, str]) -> None:
    clock = FakeClock()
    errors: list[SharedCacheError] = []
    refused = environment(aws[0], "alias/scopegate-missing", clock=clock, errors=errors)
    idp = Idp(clock=clock)
    assert fetch(refused, idp)[1] == "idp"
    assert [e.reason for e in errors] == ["kms_error"]
    before = clock()
    _, source = fetch(environment(*aws, clock=clock, sleep=clock.sleep), idp)
    assert (source, idp.calls, clock()) == ("idp", 2, before)  # no wait for a lease


# --- failures never fail a request -----------------------------------------------------


def test_an_unreachable_table_falls_back_to_the_idp_and_is_then_left_alone(
    aws: tuple[str, str],
) -> None:
    clock = FakeClock()
    errors: list[SharedCacheError] = []
    nowhere = _client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=0.5),
    )
    cache = environment(*aws, clock=clock, dynamodb=nowhere, errors=errors)
    idp = Idp(clock=clock)
    assert fetch(cache, idp)[1] == "idp"
    assert [e.reason for e in errors] == ["table_error"]
    clock.now += BYPASS_SECONDS - 1
    assert fetch(cache, idp, shared_key(CLIENT, ["orders:write"]))[1] == "idp"
    assert len(errors) == 1  # bypassed: not asked again yet
    clock.now += 2
    fetch(cache, idp, shared_key(CLIENT, ["admin"]))
    assert len(errors) == 2
    assert idp.calls == 3


def test_kms_refusing_still_serves_the_token(aws: tuple[str, str]) -> None:
    errors: list[SharedCacheError] = []
    cache = environment(aws[0], "alias/scopegate-missing", errors=errors)
    idp = Idp()
    token, source = fetch(cache, idp)
    assert source == "idp"
    assert token.access_token == "eyJ.token-1.sig"
    assert [(e.reason, e.code) for e in errors] == [("kms_error", "NotFoundException")]


# --- what the table holds ----------------------------------------------------------------


def test_the_table_holds_no_token_and_no_grant_detail_in_plain_text(aws: tuple[str, str]) -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzY29wZSI6Im9yZGVyczpyZWFkIn0.c2lnbmF0dXJlLWJ5dGVz"
    table = TokenTable(aws[0], Envelope(aws[1], _client("kms")), _client("dynamodb"))
    table.store(KEY, CachedToken(token, "orders:read", time.time() + 300))
    (item,) = _client("dynamodb").scan(TableName=aws[0])["Items"]
    raw = b"".join(value["B"] if "B" in value else str(value).encode() for value in item.values())
    for needle in (token, *token.split("."), "orders:read", "orders-api", "api://orders"):
        assert needle.encode() not in raw, needle
    assert item["pk"]["S"] == "token#" + KEY.digest
    assert set(item) == {"pk", "expires_at", "valid_until", "data_key", "sealed"}


def test_the_ttl_attribute_is_the_tokens_expiry_in_whole_seconds(aws: tuple[str, str]) -> None:
    table = TokenTable(aws[0], Envelope(aws[1], _client("kms")), _client("dynamodb"))
    table.store(KEY, CachedToken("eyJ.t.s", "orders:read", 1_800_000_300.75))
    (item,) = _client("dynamodb").scan(TableName=aws[0])["Items"]
    assert item["expires_at"] == {"N": "1800000300"}
    ttl = _client("dynamodb").describe_time_to_live(TableName=aws[0])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    assert table.read(KEY).token == CachedToken("eyJ.t.s", "orders:read", 1_800_000_300.75)


@pytest.mark.parametrize("data_key_cached", [True, False], ids=["warm", "cold"])
def test_an_entry_moved_to_another_item_does_not_decrypt(
    aws: tuple[str, str], data_key_cached: bool
) -> None:
    """KMS refuses the data key under the other item's context (cold), and AES-GCM refuses
    the blob under the other item's associated data (warm: the data key is cached)."""
    writer = TokenTable(aws[0], Envelope(aws[1], _client("kms")), _client("dynamodb"))
    other = shared_key(CLIENT, ["orders:write"])
    now = time.time()
    writer.store(KEY, CachedToken("eyJ.read.s", "orders:read", now + 300))
    writer.store(other, CachedToken("eyJ.write.s", "orders:write", now + 300))
    dynamodb = _client("dynamodb")
    moved = dynamodb.get_item(TableName=aws[0], Key={"pk": {"S": KEY.pk}})["Item"]
    dynamodb.put_item(TableName=aws[0], Item=moved | {"pk": {"S": other.pk}})
    reader = (
        writer
        if data_key_cached
        else TokenTable(aws[0], Envelope(aws[1], _client("kms")), dynamodb)
    )
    with pytest.raises(SharedCacheError) as refused:
        reader.read(other)
    assert refused.value.reason == "entry_invalid"
    assert "eyJ" not in str(refused.value)


def test_an_entry_that_does_not_decrypt_is_reported_and_replaced(aws: tuple[str, str]) -> None:
    writer = TokenTable(aws[0], Envelope(aws[1], _client("kms")), _client("dynamodb"))
    writer.store(KEY, CachedToken("eyJ.read.s", "orders:read", time.time() + 300))
    dynamodb = _client("dynamodb")
    item = dynamodb.get_item(TableName=aws[0], Key={"pk": {"S": KEY.pk}})["Item"]
    sealed = bytearray(item["sealed"]["B"])
    sealed[-1] ^= 1  # one bit of the tag
    dynamodb.put_item(TableName=aws[0], Item=item | {"sealed": {"B": bytes(sealed)}})
    errors: list[SharedCacheError] = []
    idp = Idp()
    token, source = fetch(environment(*aws, errors=errors), idp)
    assert (source, [e.reason for e in errors]) == ("idp", ["entry_invalid"])
    assert fetch(environment(*aws), idp) == (token, "table")  # replaced by a good entry
    assert idp.calls == 1


def test_the_cache_key_sorts_scopes_and_follows_the_clients_configuration() -> None:
    assert shared_key(CLIENT, ["b", "a"]) == shared_key(CLIENT, ["a", "b", "a"])
    assert shared_key(CLIENT, ["a"]) != shared_key(CLIENT, ["a", "b"])
    moved = replace(CLIENT, token_endpoint="https://other.example.com/token")
    assert shared_key(moved, ["a"]) != shared_key(CLIENT, ["a"])
    assert shared_key(replace(CLIENT, audience="x"), ["a"]) != shared_key(CLIENT, ["a"])
