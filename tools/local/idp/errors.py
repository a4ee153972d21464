"""What goes wrong with the test identity provider, and reading its JSON answers."""

from __future__ import annotations

import json
from typing import Any


class IdentityProviderError(RuntimeError):
    """The identity provider could not be started or answered unexpectedly."""


class IdentityProviderUnavailableError(IdentityProviderError):
    """node or the installed oidc-provider package is missing (run `make idp`)."""


class TokenRequestError(IdentityProviderError):
    """The token endpoint refused a request; ``body`` is the IdP's error document."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"token request refused by the IdP (HTTP {status}): {body}")
        self.status = status
        self.body = body

    @property
    def error(self) -> str | None:
        """The OAuth ``error`` code from the body, if it is JSON."""
        try:
            value = json.loads(self.body).get("error")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None


def json_object(data: bytes | str) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise IdentityProviderError(f"expected a JSON object, got: {value!r}")
    return value
