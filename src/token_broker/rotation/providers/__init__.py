"""Identity-provider adapters for rotation, chosen by the secret's ``provider`` key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from token_broker.rotation.providers.auth0 import auth0_provider
from token_broker.rotation.providers.base import LiveSecret, NewSecret, SecretProvider
from token_broker.rotation.providers.cognito import cognito_provider
from token_broker.rotation.providers.entra import entra_provider
from token_broker.rotation.providers.keycloak import keycloak_provider
from token_broker.rotation.providers.okta import okta_provider
from token_broker.rotation.secret import RotatedSecret
from token_broker.transport import HttpTransport

__all__ = ["LiveSecret", "NewSecret", "SecretProvider", "provider_for"]

_HTTP_PROVIDERS: dict[
    str, Callable[[RotatedSecret, Mapping[str, str], HttpTransport | None], SecretProvider]
] = {
    "okta": okta_provider,
    "entra": entra_provider,
    "keycloak": keycloak_provider,
    "auth0": auth0_provider,
}


def provider_for(
    secret: RotatedSecret,
    management: Callable[[str], Mapping[str, str]],
    *,
    cognito_client: Any = None,
    transport: HttpTransport | None = None,
) -> SecretProvider:
    """The adapter for ``secret``; ``management`` reads a management secret by name."""
    if secret.provider == "cognito":
        return cognito_provider(secret, cognito_client)
    factory = _HTTP_PROVIDERS[secret.provider]
    return factory(secret, management(secret.setting("management_secret")), transport)
