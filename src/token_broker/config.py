"""The broker's configuration (schema version 1): parsing and validation.

Validation collects every problem in one document, as the authorizer's does; anything
invalid raises ``ConfigError`` and every request is answered 500 ``server_error``. The
core's ``DocumentError`` (a document that does not parse, a URL that is not https) is
wrapped in ``ConfigError``, which carries the broker's status and OAuth code. A client
entry is read by client_entries.py, the shared cache by shared_cache_entry.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from scopegate_core.documents import got, parse_document
from scopegate_core.errors import DocumentError
from scopegate_core.sources import DocumentSource
from token_broker.client_entries import AuthMethod, ClientConfig, client_entry
from token_broker.errors import ConfigError, ConfigUnavailable
from token_broker.principal import Principal, PrincipalError, parse_grant_principal
from token_broker.providers import grant_problems
from token_broker.shared_cache_entry import (
    SharedCacheConfig,
    shared_cache_entry,
    with_environment_shared_cache,
)

__all__ = [
    "AuthMethod",
    "BrokerConfig",
    "BrokerConfigSource",
    "ClientConfig",
    "ConfigProblems",
    "Grant",
    "SharedCacheConfig",
    "load_text",
    "validate",
]

DEFAULT_MIN_REMAINING = 60
# RFC 6749 appendix A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")

_GRANT_KEYS = frozenset({"principal", "client", "scopes"})
_TOP_KEYS = frozenset({"clients", "grants", "min_remaining_seconds", "shared_cache"})


@dataclass(frozen=True, slots=True)
class Grant:
    """The most one principal may ask for from one client."""

    principal: Principal
    client: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    clients: Mapping[str, ClientConfig]
    grants: tuple[Grant, ...]
    min_remaining_seconds: int
    shared_cache: SharedCacheConfig | None = None

    def grants_for(self, principal: Principal) -> tuple[Grant, ...]:
        return tuple(g for g in self.grants if g.principal == principal)


class ConfigProblems(ConfigError):
    """Every problem found in one document."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid broker configuration: " + "; ".join(problems))
        self.problems = problems


def load_text(text: str) -> BrokerConfig:
    try:
        doc = parse_document(text)
    except DocumentError as e:
        raise ConfigError(str(e)) from e
    return validate(doc)


def _grant(raw: object, n: int, clients: Mapping[str, ClientConfig]) -> Grant:
    where = f"grants[{n}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{where} must be a mapping with principal, client and scopes, not {got(raw)}"
        )
    unknown = set(raw) - _GRANT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(map(str, unknown))}")
    try:
        principal = parse_grant_principal(str(raw.get("principal", "")))
    except PrincipalError as e:
        raise ConfigError(f"{where}.principal: {e}") from e
    client = raw.get("client")
    if not isinstance(client, str) or client not in clients:
        raise ConfigError(f"{where}.client {client!r} is not one of the clients")
    scopes = raw.get("scopes")
    if not isinstance(scopes, list) or not scopes:
        raise ConfigError(
            f"{where}.scopes must be a non-empty list of OAuth scope tokens, not {got(scopes)}"
        )
    bad = [s for s in scopes if not isinstance(s, str) or not SCOPE_TOKEN.fullmatch(s)]
    if bad:
        raise ConfigError(f"{where}.scopes: {got(bad)} are not OAuth scope tokens")
    problems = grant_problems(clients[client].provider, scopes)
    if problems:
        raise ConfigError(f"{where}.scopes: {'; '.join(problems)}")
    return Grant(principal, client, frozenset(scopes))


def validate(doc: object) -> BrokerConfig:
    """Turn a parsed document into a config, or raise ``ConfigProblems`` listing every fault."""
    if not isinstance(doc, Mapping):
        raise ConfigProblems(["the document must be a mapping with 'clients' and 'grants'"])
    problems: list[str] = []
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        problems.append(f"unknown top-level keys {sorted(map(str, unknown))}")
    raw_clients = doc.get("clients")
    if not isinstance(raw_clients, Mapping) or not raw_clients:
        problems.append("'clients' must be a non-empty mapping")
        raw_clients = {}
    clients: dict[str, ClientConfig] = {}
    for name, raw in raw_clients.items():
        try:
            clients[name] = client_entry(name, raw)
        except ConfigError as e:
            problems.append(str(e))
    raw_grants = doc.get("grants")
    if not isinstance(raw_grants, list) or not raw_grants:
        problems.append("'grants' must be a non-empty list")
        raw_grants = []
    grants: list[Grant] = []
    for n, raw in enumerate(raw_grants):
        try:
            grant = _grant(raw, n, clients)
        except ConfigError as e:
            problems.append(str(e))
            continue
        if any(g.principal == grant.principal and g.client == grant.client for g in grants):
            problems.append(f"grants[{n}] repeats {grant.principal.arn} for {grant.client!r}")
        grants.append(grant)
    minimum = doc.get("min_remaining_seconds", DEFAULT_MIN_REMAINING)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or not 0 <= minimum <= 3600:
        problems.append(
            f"min_remaining_seconds must be an integer from 0 to 3600, not {got(minimum)}"
        )
        minimum = DEFAULT_MIN_REMAINING
    shared: SharedCacheConfig | None = None
    if "shared_cache" in doc:
        try:
            shared = shared_cache_entry(doc["shared_cache"])
        except ConfigError as e:
            problems.append(str(e))
    if problems:
        raise ConfigProblems(problems)
    return BrokerConfig(clients, tuple(grants), minimum, shared)


class BrokerConfigSource(DocumentSource[BrokerConfig]):
    """``BROKER_CONFIG``, ``BROKER_CONFIG_FILE`` or ``BROKER_CONFIG_PARAMETER`` (SSM,
    re-read after ``BROKER_CONFIG_MAX_AGE`` seconds, default 300)."""

    prefix = "BROKER_CONFIG"
    error = ConfigError
    unavailable = ConfigUnavailable  # 503: the broker answers an SSM outage as one

    def parse(self, text: str) -> BrokerConfig:
        return with_environment_shared_cache(load_text(text), self._env)
