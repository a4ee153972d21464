"""Client credentials as stored in Secrets Manager.

Secret value (JSON): ``{"client_id": ..., "client_secret": ...}`` or, for
``private_key_jwt``, ``{"client_id": ..., "private_key": "<PKCS#8 PEM>", "kid": ...}``, or
``{"client_id": ..., "kid": ...}`` when a KMS key signs (the client's ``signing_key``), with
``"x5t"`` for Entra ID, which identifies a certificate credential by its thumbprint.
Whether a secret holds what its client's ``auth_method`` needs is checked where it is
used (``upstream``), since only the client's configuration knows. Rotation adds its own
keys (``provider`` and the provider's secret id), ignored here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from token_broker.errors import ConfigError


@dataclass(frozen=True, slots=True, repr=False)
class Credentials:
    """One version of a client's credentials; ``repr`` never shows the secret or key."""

    client_id: str
    client_secret: str | None = None
    private_key: str | None = None  # PKCS#8 PEM, for private_key_jwt
    kid: str | None = None
    version_id: str = ""
    x5t: str | None = None  # the certificate's SHA-1 thumbprint, base64url (Entra ID)

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, version_id={self.version_id!r})"


def parse_secret(text: str, *, secret: str, version_id: str = "") -> Credentials:
    """The secret's JSON value; ``secret`` names it in errors (the value never appears)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as e:  # RecursionError: nested beyond the parser
        raise ConfigError(f"secret {secret!r} is not a JSON object") from e
    if not isinstance(value, dict):
        raise ConfigError(f"secret {secret!r} is not a JSON object")
    fields = {}
    for key in ("client_id", "client_secret", "private_key", "kid", "x5t"):
        item = value.get(key)
        if item is not None and (not isinstance(item, str) or not item):
            raise ConfigError(f"secret {secret!r}: {key} must be a non-empty string")
        fields[key] = item
    if fields["client_id"] is None:
        raise ConfigError(f"secret {secret!r} has no client_id")
    return Credentials(
        fields["client_id"],
        fields["client_secret"],
        fields["private_key"],
        fields["kid"],
        version_id,
        fields["x5t"],
    )
