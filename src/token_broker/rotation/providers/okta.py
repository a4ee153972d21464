"""Okta: the app's client secrets API, two secrets (active or inactive) per app.

``/api/v1/apps/{appId}/credentials/secrets``: list, create (Okta generates the value),
``lifecycle/deactivate`` then ``DELETE`` (an active secret cannot be deleted). For OAuth
apps the app id is the client id, unless the client secret gives ``app_id``. Management
secret: ``{"org_url", "api_token"}`` (an API token of an admin allowed to manage the app,
sent as ``SSWS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from token_broker.rotation.errors import ProviderError
from token_broker.rotation.providers.base import (
    LiveSecret,
    NewSecret,
    TwoSecretProvider,
    field,
    parse_date,
    required,
    url,
)
from token_broker.rotation.providers.http import ManagementApi
from token_broker.rotation.secret import RotatedSecret
from token_broker.transport import HttpTransport


class OktaProvider(TwoSecretProvider):
    name = "okta"

    def __init__(self, api: ManagementApi, org_url: str, app_id: str) -> None:
        self.api = api
        app = quote(app_id, safe="")
        self.base = f"{org_url.rstrip('/')}/api/v1/apps/{app}/credentials/secrets"

    def live(self) -> list[LiveSecret]:
        items = self.api.call("GET", self.base)
        if not isinstance(items, list):
            raise ProviderError("okta: the secrets list is not a list")
        return [LiveSecret(field("okta", i, "id"), parse_date(i.get("created"))) for i in items]

    def _create(self) -> NewSecret:
        item = self.api.call("POST", self.base, {})
        return NewSecret(field("okta", item, "id"), field("okta", item, "client_secret"))

    def _delete(self, secret_id: str) -> None:
        url = f"{self.base}/{quote(secret_id, safe='')}"
        self.api.call("POST", f"{url}/lifecycle/deactivate", missing_ok=True)
        self.api.call("DELETE", url, missing_ok=True)


def okta_provider(
    secret: RotatedSecret, management: Mapping[str, str], transport: HttpTransport | None = None
) -> OktaProvider:
    keys = required(management, "org_url", "api_token")
    org_url = url(keys["org_url"], "okta org_url")
    api = ManagementApi("okta", lambda: f"SSWS {keys['api_token']}", transport=transport)
    app_id = secret.value.get("app_id")
    return OktaProvider(
        api, org_url, app_id if isinstance(app_id, str) and app_id else secret.client_id
    )
