"""The document's ``shared_cache``: the DynamoDB table every broker environment shares
tokens through and the KMS key that encrypts them there, or the template's
``BROKER_SHARED_CACHE_*`` variables when the document names none."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from token_broker.client_entries import kms_key
from token_broker.errors import ConfigError

if TYPE_CHECKING:
    from token_broker.config import BrokerConfig

# A DynamoDB table name or table ARN.
TABLE = re.compile(
    r"([A-Za-z0-9_.-]{3,255}|arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255})"
)
# What the template sets when BrokerSharedCache is dynamodb; the document's key wins.
SHARED_CACHE_TABLE_VARIABLE = "BROKER_SHARED_CACHE_TABLE"
SHARED_CACHE_KMS_KEY_VARIABLE = "BROKER_SHARED_CACHE_KMS_KEY"

_SHARED_CACHE_KEYS = frozenset({"table", "kms_key"})


@dataclass(frozen=True, slots=True)
class SharedCacheConfig:
    """The DynamoDB table every broker environment shares tokens through, and the KMS key
    that encrypts them there."""

    table: str
    kms_key: str


def shared_cache_entry(raw: object) -> SharedCacheConfig:
    where = "shared_cache"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping with table and kms_key")
    unknown = set(raw) - _SHARED_CACHE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(map(str, unknown))}")
    table, key = raw.get("table"), raw.get("kms_key")
    if not isinstance(table, str) or not TABLE.fullmatch(table):
        raise ConfigError(f"{where}.table must be a DynamoDB table name or table ARN")
    if not isinstance(key, str):
        raise ConfigError(f"{where}.kms_key must name the KMS key that encrypts the tokens")
    return SharedCacheConfig(table, kms_key(key, f"{where}.kms_key"))


def with_environment_shared_cache(config: BrokerConfig, env: Mapping[str, str]) -> BrokerConfig:
    """The config with the template's shared cache (``BROKER_SHARED_CACHE_TABLE`` and
    ``BROKER_SHARED_CACHE_KMS_KEY``) when the document names none itself."""
    table = env.get(SHARED_CACHE_TABLE_VARIABLE) or None
    key = env.get(SHARED_CACHE_KMS_KEY_VARIABLE) or None
    if config.shared_cache is not None or (table is None and key is None):
        return config
    try:
        shared = shared_cache_entry({"table": table, "kms_key": key})
    except ConfigError as e:
        raise ConfigError(
            f"{SHARED_CACHE_TABLE_VARIABLE} and {SHARED_CACHE_KMS_KEY_VARIABLE}: {e}"
        ) from e
    return replace(config, shared_cache=shared)
