"""Auth0: ``rotate-secret`` on the Management API; one live secret per client only.

Rotating replaces the secret at once: from that moment the old one is refused, and the
new one becomes visible to the broker when createSecret stages it as ``AWSPENDING``
(milliseconds later). A broker instance still holding the old secret gets
``invalid_client``, reads ``AWSPENDING`` and retries with it (waiting briefly once if the
new version is not staged yet), so requests keep succeeding; cached tokens are served
throughout. Auth0 documents up to 30 s before a new secret works everywhere, which is
why testSecret retries with backoff. There is nothing to revoke afterwards.

Management secret: ``{"domain", "client_id", "client_secret"}`` of a machine-to-machine
app authorized for the Management API with ``update:client_keys`` and ``read:client_keys``
(reading the current secret lets a re-run after an interrupted rotation adopt the secret
it created instead of rotating again); optional ``base_url`` (instead of
``https://{domain}``), ``token_url``, ``audience`` (give it when ``base_url`` is a custom
domain: the Management API's audience is the tenant's own domain), ``scope``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import quote

from token_broker.rotation.providers.base import LiveSecret, NewSecret, field, required, url
from token_broker.rotation.providers.http import ManagementApi, bearer
from token_broker.rotation.secret import RotatedSecret
from token_broker.transport import HttpTransport


def secret_id(value: str) -> str:
    """Auth0 secrets have no id: a SHA-256 prefix of the value names one."""
    return "a0-" + hashlib.sha256(value.encode()).hexdigest()[:16]


class Auth0Provider:
    name = "auth0"

    def __init__(self, api: ManagementApi, base_url: str, client_id: str) -> None:
        self.api = api
        self.client = f"{base_url.rstrip('/')}/api/v2/clients/{quote(client_id, safe='')}"

    def add(self, current: RotatedSecret) -> NewSecret:
        now = self._current()
        if now != current.client_secret:
            # Replaced after AWSCURRENT was written: by an attempt that stopped before it
            # staged the value (rotating again would lose it), or by hand. Adopt it.
            return NewSecret(secret_id(now), now)
        answer = self.api.call("POST", f"{self.client}/rotate-secret")
        value = field("auth0", answer, "client_secret")
        return NewSecret(secret_id(value), value)

    def live(self) -> list[LiveSecret]:
        return [LiveSecret(secret_id(self._current()))]

    def _current(self) -> str:
        answer = self.api.call("GET", f"{self.client}?fields=client_id,client_secret")
        return field("auth0", answer, "client_secret")

    def revoke(self, secret: str) -> None:
        """Nothing to do: rotating already replaced the previous secret."""


def auth0_provider(
    secret: RotatedSecret, management: Mapping[str, str], transport: HttpTransport | None = None
) -> Auth0Provider:
    keys = required(management, "client_id", "client_secret")
    base = management.get("base_url") or f"https://{required(management, 'domain')['domain']}"
    base = url(base, "auth0 base_url").rstrip("/")
    token_url = url(management.get("token_url") or f"{base}/oauth/token", "auth0 token_url")
    audience = management.get("audience") or f"{base}/api/v2/"
    extra = {"audience": audience}
    if management.get("scope"):
        extra["scope"] = management["scope"]
    authorization = bearer(
        "auth0", token_url, keys["client_id"], keys["client_secret"], extra=extra,
        transport=transport,
    )  # fmt: skip
    api = ManagementApi("auth0", authorization, transport=transport)
    return Auth0Provider(api, base, secret.client_id)
