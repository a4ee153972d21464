"""One entry of the document's ``clients``: an upstream OAuth client, where its secret
lives, how the broker finds its token endpoint and authenticates, and how its identity
provider is asked (``provider``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

from scopegate_core.documents import got
from scopegate_core.errors import DocumentError
from scopegate_core.urls import check_url
from token_broker.errors import ConfigError
from token_broker.providers import PROVIDERS, Provider, client_problems

AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
AUTH_METHODS: tuple[AuthMethod, ...] = (
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
)
# A KMS key as KMS's KeyId takes it: key id, key ARN, alias name or alias ARN.
KMS_KEY = re.compile(
    r"(alias/[A-Za-z0-9/_-]{1,250}|(mrk-)?[0-9a-f-]{32,36}"
    r"|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/(mrk-)?[0-9a-f-]{32,36}|alias/[A-Za-z0-9/_-]{1,250}))"
)
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


def optional_str(raw: Mapping[str, object], key: str, where: str) -> str | None:
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


def client_entry(name: object, raw: object) -> ClientConfig:
    where = f"clients.{name}"
    if not isinstance(name, str) or not name:
        raise ConfigError("client names must be non-empty strings")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping, not {got(raw)}")
    unknown = set(raw) - _CLIENT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(map(str, unknown))}")
    secret = optional_str(raw, "secret", where)
    if secret is None:
        raise ConfigError(f"{where}.secret must name the Secrets Manager secret")
    issuer = _url(optional_str(raw, "issuer", where), f"{where}.issuer")
    endpoint = _url(optional_str(raw, "token_endpoint", where), f"{where}.token_endpoint")
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
    resource = optional_str(raw, "resource", where)
    audience = optional_str(raw, "audience", where)
    problems = client_problems(
        provider, issuer=issuer, token_endpoint=endpoint, resource=resource, audience=audience
    )
    if problems:
        raise ConfigError(f"{where}: {'; '.join(problems)}")
    signing_key = optional_str(raw, "signing_key", where)
    if signing_key is not None:
        if method != "private_key_jwt":
            raise ConfigError(f"{where}.signing_key needs auth_method private_key_jwt")
        kms_key(signing_key, f"{where}.signing_key")
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


def kms_key(value: str, what: str) -> str:
    if not KMS_KEY.fullmatch(value):
        raise ConfigError(
            f"{what} must be a KMS key id, key ARN, alias name (alias/...) or alias ARN"
        )
    return value
