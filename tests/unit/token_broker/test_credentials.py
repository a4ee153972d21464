"""Client secrets as Secrets Manager holds them (moto), however an operator wrote them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from token_broker.errors import ConfigError
from token_broker.secret_store import SecretStore

NESTED = '{"client_id": "app", "client_secret": ' + "[" * 30_000 + "]" * 30_000 + "}"


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_a_usable_secret_is_read(secrets: Any) -> None:
    value = json.dumps({"client_id": "a", "client_secret": "s"})
    secrets.create_secret(Name="scopegate/app", SecretString=value)
    credentials = SecretStore(secrets).current("scopegate/app")
    assert (credentials.client_id, credentials.client_secret) == ("a", "s")


@pytest.mark.parametrize(
    "value",
    [NESTED, '{"client_id": "app", "client_secret": "s", "n": ' + "9" * 5000 + "}", "[1]"],
    ids=["nested", "huge-int", "not-an-object"],
)
def test_a_secret_value_no_parser_can_read_is_a_configuration_error(
    secrets: Any, value: str
) -> None:
    # 500 server_error with one ERROR line (a ConfigError), not a crash with a traceback.
    secrets.create_secret(Name="scopegate/app", SecretString=value)
    with pytest.raises(ConfigError) as refused:
        SecretStore(secrets).current("scopegate/app")
    assert "scopegate/app" in str(refused.value)
    assert "client_secret" not in str(refused.value)
