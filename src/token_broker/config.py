"""The broker's configuration (schema version 1): parsing and validation.

Validation collects every problem in one document, as the authorizer's does; anything
invalid raises ``ConfigError`` and every request is answered 500 ``server_error``. The
core's ``DocumentError`` (a document that does not parse, a URL that is not https) is
wrapped in ``ConfigError``, which carries the broker's status and OAuth code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, cast

from scopegate_core.documents import got, parse_document
from scopegate_core.errors import DocumentError
from scopegate_core.sources import DocumentSource
from scopegate_core.urls import check_url
from token_broker.errors import ConfigError
from token_broker.principal import Principal, PrincipalError, parse_grant_principal
from token_broker.providers import PROVIDERS, Provider, client_problems, grant_problems

AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
AUTH_METHODS: tuple[AuthMethod, ...] = (
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
)
DEFAULT_MIN_REMAINING = 60
# RFC 6749 appendix A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")

# A KMS key as KMS's KeyId takes it: key id, key ARN, alias name or alias ARN.
KMS_KEY = re.compile(
    r"(alias/[A-Za-z0-9/_-]{1,250}|(mrk-)?[0-9a-f-]{32,36}"
    r"|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/(mrk-)?[0-9a-f-]{32,36}|alias/[A-Za-z0-9/_-]{1,250}))"
)
# A DynamoDB table name or table ARN.
TABLE = re.compile(
    r"([A-Za-z0-9_.-]{3,255}|arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255})"
)
# What the template sets when BrokerSharedCache is dynamodb; the document's key wins.
SHARED_CACHE_TABLE_VARIABLE = "BROKER_SHARED_CACHE_TABLE"
SHARED_CACHE_KMS_KEY_VARIABLE = "BROKER_SHARED_CACHE_KMS_KEY"

_CLIENT_KEYS = frozenset(
    {
        "secret",
        "issuer",
        "token_endpoint",
        "auth_method",
        "resource",
        "audience",
        "provider",
        "signing_key",
    }
)
_GRANT_KEYS = frozenset({"principal", "client", "scopes"})
_SHARED_CACHE_KEYS = frozenset({"table", "kms_key"})
_TOP_KEYS = frozenset({"clients", "grants", "min_remaining_seconds", "shared_cache"})


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """One upstream OAuth client and where its credentials live."""

    name: str
    secret: str  # Secrets Manager name or ARN
    issuer: str | None
    token_endpoint: str | None  # wins over discovery from ``issuer``
    auth_method: AuthMethod
    resource: str | None
    audience: str | None
    provider: Provider = "generic"  # how tokens are requested (token_broker.providers)
    signing_key: str | None = None  # a KMS key that signs the private_key_jwt assertion


@dataclass(frozen=True, slots=True)
class SharedCacheConfig:
    """The DynamoDB table every broker environment shares tokens through, and the KMS key
    that encrypts them there."""

    table: str
    kms_key: str


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


def _optional_str(raw: Mapping[str, object], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{where}.{key} must be a non-empty string, not {got(value)}")
    return value


def _url(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    try:
        return check_url(value, what)
    except DocumentError as e:
        raise ConfigError(str(e)) from e


def _client(name: object, raw: object) -> ClientConfig:
    where = f"clients.{name}"
    if not isinstance(name, str) or not name:
        raise ConfigError("client names must be non-empty strings")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping, not {got(raw)}")
    unknown = set(raw) - _CLIENT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(map(str, unknown))}")
    secret = _optional_str(raw, "secret", where)
    if secret is None:
        raise ConfigError(f"{where}.secret must name the Secrets Manager secret")
    issuer = _url(_optional_str(raw, "issuer", where), f"{where}.issuer")
    endpoint = _url(_optional_str(raw, "token_endpoint", where), f"{where}.token_endpoint")
    if issuer is None and endpoint is None:
        raise ConfigError(f"{where}: give 'token_endpoint' or 'issuer' (OIDC discovery)")
    method = raw.get("auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise ConfigError(
            f"{where}.auth_method must be one of {', '.join(AUTH_METHODS)}, not {got(method)}"
        )
    provider = raw.get("provider", "generic")
    if provider not in PROVIDERS:
        raise ConfigError(
            f"{where}.provider {provider!r} is not a known provider; choose one of "
            f"{', '.join(PROVIDERS)}"
        )
    resource = _optional_str(raw, "resource", where)
    audience = _optional_str(raw, "audience", where)
    problems = client_problems(
        provider, issuer=issuer, token_endpoint=endpoint, resource=resource, audience=audience
    )
    if problems:
        raise ConfigError(f"{where}: {'; '.join(problems)}")
    signing_key = _optional_str(raw, "signing_key", where)
    if signing_key is not None:
        if method != "private_key_jwt":
            raise ConfigError(f"{where}.signing_key needs auth_method private_key_jwt")
        _kms_key(signing_key, f"{where}.signing_key")
    return ClientConfig(
        name,
        secret,
        issuer,
        endpoint,
        cast(AuthMethod, method),
        resource,
        audience,
        cast(Provider, provider),
        signing_key,
    )


def _kms_key(value: str, what: str) -> str:
    if not KMS_KEY.fullmatch(value):
        raise ConfigError(
            f"{what} must be a KMS key id, key ARN, alias name (alias/...) or alias ARN"
        )
    return value


def _shared_cache(raw: object) -> SharedCacheConfig:
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
    return SharedCacheConfig(table, _kms_key(key, f"{where}.kms_key"))


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
            clients[name] = _client(name, raw)
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
            shared = _shared_cache(doc["shared_cache"])
        except ConfigError as e:
            problems.append(str(e))
    if problems:
        raise ConfigProblems(problems)
    return BrokerConfig(clients, tuple(grants), minimum, shared)


def with_environment_shared_cache(config: BrokerConfig, env: Mapping[str, str]) -> BrokerConfig:
    """The config with the template's shared cache (``BROKER_SHARED_CACHE_TABLE`` and
    ``BROKER_SHARED_CACHE_KMS_KEY``) when the document names none itself."""
    table = env.get(SHARED_CACHE_TABLE_VARIABLE) or None
    key = env.get(SHARED_CACHE_KMS_KEY_VARIABLE) or None
    if config.shared_cache is not None or (table is None and key is None):
        return config
    try:
        shared = _shared_cache({"table": table, "kms_key": key})
    except ConfigError as e:
        raise ConfigError(
            f"{SHARED_CACHE_TABLE_VARIABLE} and {SHARED_CACHE_KMS_KEY_VARIABLE}: {e}"
        ) from e
    return replace(config, shared_cache=shared)


class BrokerConfigSource(DocumentSource[BrokerConfig]):
    """``BROKER_CONFIG``, ``BROKER_CONFIG_FILE`` or ``BROKER_CONFIG_PARAMETER`` (SSM,
    re-read after ``BROKER_CONFIG_MAX_AGE`` seconds, default 300)."""

    prefix = "BROKER_CONFIG"
    error = ConfigError

    def parse(self, text: str) -> BrokerConfig:
        return with_environment_shared_cache(load_text(text), self._env)
