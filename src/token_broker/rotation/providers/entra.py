"""Microsoft Entra ID: password credentials of the app registration, via Microsoft Graph.

``addPassword`` (Entra generates the value, shown once) and ``removePassword`` on
``/applications(appId='{client_id}')``, so the object id is not needed. Entra allows more
than two passwords; scopegate keeps two of its own (named ``scopegate ...``), as for
Cognito and Okta, and never deletes a password it did not create. Each new password
expires after ``secret_lifetime_days`` (default 180), longer than any sane schedule.

Management secret: ``{"tenant_id", "client_id", "client_secret"}`` of an app allowed
``Application.ReadWrite.OwnedBy`` (or ``Application.ReadWrite.All``); optional
``graph_url``, ``token_url``, ``scope`` and ``secret_lifetime_days``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from token_broker.rotation.errors import ProviderError, RotationConfigError
from token_broker.rotation.providers.base import (
    LiveSecret,
    NewSecret,
    TwoSecretProvider,
    field,
    parse_date,
    required,
    url,
)
from token_broker.rotation.providers.http import ManagementApi, bearer
from token_broker.rotation.secret import RotatedSecret
from token_broker.transport import HttpTransport

GRAPH_URL = "https://graph.microsoft.com/v1.0"
LOGIN_URL = "https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DEFAULT_LIFETIME_DAYS = 180
MAX_LIFETIME_DAYS = 3650
DISPLAY_NAME = "scopegate"


class EntraProvider(TwoSecretProvider):
    name = "entra"

    def __init__(
        self,
        api: ManagementApi,
        graph_url: str,
        app_id: str,
        *,
        lifetime: timedelta = timedelta(days=DEFAULT_LIFETIME_DAYS),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api = api
        self.app = f"{graph_url.rstrip('/')}/applications(appId='{quote(app_id, safe='')}')"
        self.lifetime = lifetime
        self.now = now

    def live(self) -> list[LiveSecret]:
        app = self.api.call("GET", f"{self.app}?$select=id,passwordCredentials")
        items = app.get("passwordCredentials") if isinstance(app, dict) else None
        if not isinstance(items, list):
            raise ProviderError("entra: the application has no passwordCredentials list")
        return [
            LiveSecret(
                field("entra", i, "keyId"),
                parse_date(i.get("startDateTime")),
                ours=str(i.get("displayName") or "").startswith(DISPLAY_NAME),
            )
            for i in items
        ]

    def _create(self) -> NewSecret:
        now = self.now()
        credential = {
            "displayName": f"{DISPLAY_NAME} {now:%Y-%m-%d}",
            "endDateTime": (now + self.lifetime).isoformat().replace("+00:00", "Z"),
        }
        item = self.api.call("POST", f"{self.app}/addPassword", {"passwordCredential": credential})
        return NewSecret(field("entra", item, "keyId"), field("entra", item, "secretText"))

    def _delete(self, secret_id: str) -> None:
        self.api.call("POST", f"{self.app}/removePassword", {"keyId": secret_id})


def entra_provider(
    secret: RotatedSecret, management: Mapping[str, str], transport: HttpTransport | None = None
) -> EntraProvider:
    keys = required(management, "tenant_id", "client_id", "client_secret")
    token_url = url(
        management.get("token_url")
        or LOGIN_URL.format(tenant_id=quote(keys["tenant_id"], safe="")),
        "entra token_url",
    )
    scope = management.get("scope") or GRAPH_SCOPE
    try:
        days = int(management.get("secret_lifetime_days") or DEFAULT_LIFETIME_DAYS)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        raise RotationConfigError(
            f"entra: secret_lifetime_days must be an integer from 1 to {MAX_LIFETIME_DAYS}"
        )

    authorization = bearer(
        "entra",
        token_url,
        keys["client_id"],
        keys["client_secret"],
        extra={"scope": scope},
        transport=transport,
    )
    api = ManagementApi("entra", authorization, transport=transport)
    graph_url = url(management.get("graph_url") or GRAPH_URL, "entra graph_url")
    return EntraProvider(api, graph_url, secret.client_id, lifetime=timedelta(days=days))
