"""A rotated client secret's JSON value, as the broker and the rotation function share it.

The broker reads ``client_id`` and ``client_secret``. Rotation adds what it needs to find
the secret at the identity provider and keeps every other key as it found it::

    {"client_id": "0oa1b2c3", "client_secret": "...",
     "provider": "okta",                      # cognito | okta | entra | keycloak | auth0
     "secret_id": "ocs2xyz",                  # the provider's id of this secret (rotation sets it)
     "management_secret": "scopegate/okta-admin",   # all but cognito: admin credentials
     "user_pool_id": "eu-west-1_AbCdEf"}      # cognito only
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from token_broker.credentials import Credentials
from token_broker.providers import IDP_PROVIDERS
from token_broker.rotation.errors import RotationConfigError

PROVIDERS = IDP_PROVIDERS  # one vocabulary with the broker clients' `provider`
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True, repr=False)
class RotatedSecret:
    """One version of a rotatable client secret; ``repr`` never shows the secret."""

    value: Mapping[str, Any]
    name: str  # the Secrets Manager secret, for messages
    version_id: str = ""

    def __repr__(self) -> str:
        return f"RotatedSecret(name={self.name!r}, version_id={self.version_id!r})"

    @property
    def client_id(self) -> str:
        return str(self.value["client_id"])

    @property
    def client_secret(self) -> str:
        return str(self.value["client_secret"])

    @property
    def provider(self) -> str:
        return str(self.value["provider"])

    @property
    def secret_id(self) -> str | None:
        """The provider's id of this secret; unknown until the first rotation sets it."""
        item = self.value.get("secret_id")
        return item if isinstance(item, str) and item else None

    def setting(self, key: str) -> str:
        """A provider-specific key that must be present (``management_secret``...)."""
        item = self.value.get(key)
        if not isinstance(item, str) or not item:
            raise RotationConfigError(
                f"secret {self.name!r}: provider {self.provider!r} needs {key!r} (a string)"
            )
        return item

    def credentials(self) -> Credentials:
        return Credentials(self.client_id, self.client_secret, version_id=self.version_id)

    def staged(self, secret_id: str, client_secret: str) -> str:
        """The JSON of the next version: the new secret and its id, every other key kept."""
        return json.dumps({**self.value, "client_secret": client_secret, "secret_id": secret_id})


def parse_rotated(text: str | None, *, name: str, version_id: str = "") -> RotatedSecret:
    if text is None:
        raise RotationConfigError(f"secret {name!r} version {version_id!r} has no SecretString")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as e:  # RecursionError: nested beyond the parser
        raise RotationConfigError(f"secret {name!r} is not a JSON object") from e
    if not isinstance(value, dict):
        raise RotationConfigError(f"secret {name!r} is not a JSON object")
    for key in ("client_id", "client_secret", "provider"):
        item = value.get(key)
        if not isinstance(item, str) or not item:
            hint = " (only client secrets rotate; private_key_jwt keys do not)"
            raise RotationConfigError(
                f"secret {name!r} needs {key!r} (a non-empty string)"
                + (hint if key == "client_secret" else "")
            )
    if value["provider"] not in PROVIDERS:
        raise RotationConfigError(
            f"secret {name!r}: provider must be one of {', '.join(PROVIDERS)}"
        )
    return RotatedSecret(value, name, version_id)


def parse_management(text: str | None, *, name: str) -> Mapping[str, str]:
    """A management secret: a JSON object of strings (see each provider's keys)."""
    try:
        value = json.loads(text or "")
    except (ValueError, RecursionError) as e:
        raise RotationConfigError(f"management secret {name!r} is not a JSON object") from e
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise RotationConfigError(f"management secret {name!r} must map names to strings")
    for key, item in value.items():
        # Values go into URLs and headers (``SSWS <api_token>``): a CR or LF there would
        # split the request. The error names the field, never its value.
        if _CONTROL.search(item):
            raise RotationConfigError(
                f"management secret {name!r}: {key!r} holds a control character "
                "(a line break?); store the value without it"
            )
    return value
