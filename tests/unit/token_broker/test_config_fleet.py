"""Broker configuration at fleet scale: ``shared_cache`` and a client's ``signing_key``,
validated like the rest of the document, and the template's shared cache from the
function's environment."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from token_broker.config import (
    BrokerConfigSource,
    ConfigProblems,
    SharedCacheConfig,
    validate,
)
from token_broker.errors import ConfigError

ROLE = "arn:aws:iam::123456789012:role/orders-worker"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GOOD: dict[str, Any] = {
    "clients": {
        "orders-api": {
            "secret": "scopegate/orders-api",
            "token_endpoint": "https://idp.example.com/token",
            "auth_method": "private_key_jwt",
        }
    },
    "grants": [{"principal": ROLE, "client": "orders-api", "scopes": ["orders:read"]}],
}
SHARED = {"table": "scopegate-broker-tokens", "kms_key": "alias/scopegate-broker"}


def doc(shared: object = None, **client: Any) -> dict[str, Any]:
    out = copy.deepcopy(GOOD)
    out["clients"]["orders-api"].update(client)
    if shared is not None:
        out["shared_cache"] = shared
    return out


def problems(document: object) -> list[str]:
    with pytest.raises(ConfigProblems) as e:
        validate(document)
    return e.value.problems


def test_shared_cache_is_optional_and_off_by_default() -> None:
    assert validate(doc()).shared_cache is None


@pytest.mark.parametrize(
    "shared",
    [
        SHARED,
        {"table": "t.b-1_x", "kms_key": "1234abcd-12ab-34cd-56ef-1234567890ab"},
        {"table": "arn:aws:dynamodb:eu-west-1:123456789012:table/tokens", "kms_key": KEY_ARN},
        {"table": "tok", "kms_key": "arn:aws:kms:us-east-1:123456789012:alias/scopegate-broker"},
    ],
)
def test_shared_cache_takes_a_table_and_a_kms_key(shared: dict[str, str]) -> None:
    assert validate(doc(shared)).shared_cache == SharedCacheConfig(**shared)


@pytest.mark.parametrize(
    ("shared", "words"),
    [
        ({**SHARED, "ttl": 60}, "shared_cache: unknown keys ['ttl']"),
        ({"kms_key": "alias/x"}, "shared_cache.table"),
        ({"table": "tokens"}, "shared_cache.kms_key"),
        ({**SHARED, "table": "no spaces"}, "shared_cache.table"),
        ({**SHARED, "table": "ab"}, "shared_cache.table"),
        ({**SHARED, "kms_key": "scopegate-broker"}, "shared_cache.kms_key"),
        ({**SHARED, "kms_key": "arn:aws:kms:us-east-1:123456789012:key/*"}, "kms_key"),
        ("scopegate-broker-tokens", "shared_cache must be a mapping"),
    ],
)
def test_a_bad_shared_cache_is_a_problem_naming_it(shared: object, words: str) -> None:
    found = problems(doc(shared))
    assert any(words in p for p in found), found


def test_a_bad_shared_cache_is_listed_with_the_documents_other_problems() -> None:
    bad = doc({"table": "ab", "kms_key": "alias/x"})
    bad["min_remaining_seconds"] = -1
    found = problems(bad)
    assert len(found) == 2


@pytest.mark.parametrize(
    "key", ["alias/scopegate-orders-api", KEY_ARN, "mrk-1234abcd12ab34cd56ef1234567890ab"]
)
def test_a_private_key_jwt_client_may_name_a_kms_signing_key(key: str) -> None:
    assert validate(doc(signing_key=key)).clients["orders-api"].signing_key == key


def test_signing_key_needs_private_key_jwt() -> None:
    found = problems(doc(signing_key="alias/x", auth_method="client_secret_basic"))
    assert "clients.orders-api.signing_key needs auth_method private_key_jwt" in found


@pytest.mark.parametrize("key", ["", "scopegate-orders-api", "alias/*", 7])
def test_a_signing_key_that_is_no_kms_key_is_a_problem(key: object) -> None:
    found = problems(doc(signing_key=key))
    assert any(p.startswith("clients.orders-api.signing_key") for p in found), found


# --- from the template ----------------------------------------------------------------


def source(document: dict[str, Any], **env: str) -> BrokerConfigSource:
    return BrokerConfigSource({"BROKER_CONFIG": json.dumps(document), **env})


def test_the_templates_table_and_key_turn_the_shared_cache_on() -> None:
    config = source(
        doc(),
        BROKER_SHARED_CACHE_TABLE="scopegate-broker-tokens",
        BROKER_SHARED_CACHE_KMS_KEY="alias/scopegate-broker",
    ).get()
    assert config.shared_cache == SharedCacheConfig(**SHARED)


def test_the_documents_shared_cache_wins_over_the_templates() -> None:
    mine = {"table": "my-tokens", "kms_key": "alias/mine"}
    config = source(
        doc(mine),
        BROKER_SHARED_CACHE_TABLE="scopegate-broker-tokens",
        BROKER_SHARED_CACHE_KMS_KEY="alias/scopegate-broker",
    ).get()
    assert config.shared_cache == SharedCacheConfig(**mine)


def test_half_a_shared_cache_in_the_environment_fails_closed_naming_the_variables() -> None:
    with pytest.raises(ConfigError) as e:
        source(doc(), BROKER_SHARED_CACHE_TABLE="scopegate-broker-tokens").get()
    assert "BROKER_SHARED_CACHE_KMS_KEY" in str(e.value)
    assert e.value.status == 500
