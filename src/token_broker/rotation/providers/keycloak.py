"""Keycloak: the admin REST API's client secret and its rotated secret.

With Keycloak's client secret rotation policy a client has one current secret and at most
one rotated (previous) secret, both accepted. Regenerating (``POST .../client-secret``)
makes a new current secret and turns the old current into the rotated one, dropping any
earlier rotated secret. Keycloak secrets have no ids, so scopegate names each by a
SHA-256 prefix of its value.

``add`` regenerates only when the broker's secret is Keycloak's current one, so it
becomes the rotated one and stays live. When the broker's secret is the rotated one, the
current secret was made by an interrupted earlier attempt and never handed out: it is
adopted rather than regenerated, which would drop the broker's secret.

Management secret: ``{"base_url", "realm", "client_id", "client_secret"}`` of a client in
that realm with the ``realm-management`` role ``manage-clients``; optional ``token_url``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import quote

from token_broker.rotation.errors import ProviderError
from token_broker.rotation.providers.base import LiveSecret, NewSecret, field, required, url
from token_broker.rotation.providers.http import ManagementApi, bearer
from token_broker.rotation.secret import RotatedSecret
from token_broker.transport import HttpTransport


def secret_id(value: str) -> str:
    """Keycloak secrets have no id: a SHA-256 prefix of the value names one."""
    return "kc-" + hashlib.sha256(value.encode()).hexdigest()[:16]


class KeycloakProvider:
    name = "keycloak"

    def __init__(self, api: ManagementApi, base_url: str, realm: str, client_id: str) -> None:
        self.api = api
        self.admin = f"{base_url.rstrip('/')}/admin/realms/{quote(realm, safe='')}"
        self.client_id = client_id
        self._client_url: str | None = None

    def add(self, current: RotatedSecret) -> NewSecret:
        keep = current.secret_id or secret_id(current.client_secret)
        now = self._current()
        if secret_id(now) != keep and self._rotated_id() == keep:
            return NewSecret(secret_id(now), now)  # left by an interrupted attempt: adopt
        value = field("keycloak", self.api.call("POST", self._secret_url()), "value")
        return NewSecret(secret_id(value), value)

    def live(self) -> list[LiveSecret]:
        rotated = self._rotated_id()
        ids = [secret_id(self._current())] + ([rotated] if rotated else [])
        return [LiveSecret(item) for item in ids]

    def revoke(self, secret: str) -> None:
        if self._rotated_id() == secret:
            self.api.call("DELETE", f"{self._secret_url()}/rotated")
        elif secret_id(self._current()) == secret:
            raise ProviderError("keycloak: the current client secret cannot be revoked")

    def _current(self) -> str:
        return field("keycloak", self.api.call("GET", self._secret_url()), "value")

    def _rotated_id(self) -> str | None:
        answer = self.api.call("GET", f"{self._secret_url()}/rotated", missing_ok=True)
        value = answer.get("value") if isinstance(answer, dict) else None
        return secret_id(value) if isinstance(value, str) and value else None

    def _secret_url(self) -> str:
        if self._client_url is None:
            found = self.api.call("GET", f"{self.admin}/clients?clientId={quote(self.client_id)}")
            if not isinstance(found, list) or len(found) != 1:
                raise ProviderError(f"keycloak: no single client with clientId {self.client_id!r}")
            uuid = quote(field("keycloak", found[0], "id"), safe="")
            self._client_url = f"{self.admin}/clients/{uuid}/client-secret"
        return self._client_url


def keycloak_provider(
    secret: RotatedSecret, management: Mapping[str, str], transport: HttpTransport | None = None
) -> KeycloakProvider:
    keys = required(management, "base_url", "realm", "client_id", "client_secret")
    base = url(keys["base_url"], "keycloak base_url").rstrip("/")
    realm = quote(keys["realm"], safe="")
    token_url = url(
        management.get("token_url") or f"{base}/realms/{realm}/protocol/openid-connect/token",
        "keycloak token_url",
    )
    authorization = bearer(
        "keycloak", token_url, keys["client_id"], keys["client_secret"], transport=transport
    )
    api = ManagementApi("keycloak", authorization, transport=transport)
    return KeycloakProvider(api, base, keys["realm"], secret.client_id)
