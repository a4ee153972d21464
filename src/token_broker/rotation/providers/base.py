"""What rotation needs from an identity provider: add a client secret, list, revoke.

Cognito, Okta and Entra ID keep two live secrets per client, so the broker's current
secret stays valid while a new one is added and until the next rotation. Before adding,
``TwoSecretProvider.add`` makes room by deleting the oldest secret that is not the one
the broker uses, so an interrupted earlier attempt (a secret created but never staged)
is cleaned up rather than piling up. Keycloak (one current, one rotated) and Auth0 (one
secret) follow their own rules in their modules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from scopegate_core.errors import DocumentError
from scopegate_core.urls import check_url
from token_broker.rotation.errors import ProviderError, RotationConfigError
from token_broker.rotation.secret import RotatedSecret


@dataclass(frozen=True, slots=True)
class LiveSecret:
    """A secret the provider holds for the client, as its list shows it (no value)."""

    id: str
    created: datetime | None = None  # None sorts first: oldest
    ours: bool = True  # made by scopegate; only these are deleted to make room


@dataclass(frozen=True, slots=True, repr=False)
class NewSecret:
    """A secret the provider has just created; ``repr`` never shows the value."""

    id: str
    value: str

    def __repr__(self) -> str:
        return f"NewSecret(id={self.id!r})"


class SecretProvider(Protocol):
    name: str

    def add(self, current: RotatedSecret) -> NewSecret:
        """A new live secret; ``current`` (what the broker uses) must stay live."""
        ...

    def live(self) -> list[LiveSecret]:
        """The client's secrets at the provider now."""
        ...

    def revoke(self, secret_id: str) -> None:
        """Stop ``secret_id`` working; done already (or never there) is fine."""
        ...


class TwoSecretProvider(ABC):
    """A provider that holds up to ``limit`` secrets per client and can delete any."""

    name = "two-secret"
    limit = 2

    @abstractmethod
    def live(self) -> list[LiveSecret]: ...

    @abstractmethod
    def _create(self) -> NewSecret: ...

    @abstractmethod
    def _delete(self, secret_id: str) -> None: ...

    def add(self, current: RotatedSecret) -> NewSecret:
        secrets = [s for s in self.live() if s.ours or s.id == current.secret_id]
        excess = len(secrets) - (self.limit - 1)
        if excess > 0 and current.secret_id not in {s.id for s in secrets}:
            raise ProviderError(
                f"client {current.client_id!r} already has {len(secrets)} secrets at "
                f"{self.name} and the 'secret_id' of secret {current.name!r} does not name "
                "one of them, so the one the broker uses is unknown; set it (see docs/rotation.md) "
                "or delete the unused secret by hand",
                reason="secret_in_use_unknown",
            )
        spare = sorted(
            (s for s in secrets if s.id != current.secret_id),
            key=lambda s: (s.created is not None, s.created or datetime.min),
        )
        for victim in spare[: max(excess, 0)]:
            self._delete(victim.id)
        return self._create()

    def revoke(self, secret_id: str) -> None:
        if any(s.id == secret_id for s in self.live()):
            self._delete(secret_id)


def required(management: Mapping[str, str], *keys: str) -> dict[str, str]:
    """The management secret's keys a provider cannot do without."""
    missing = [key for key in keys if not management.get(key)]
    if missing:
        raise RotationConfigError(f"the management secret needs {', '.join(missing)}")
    return {key: management[key] for key in keys}


def url(value: str, what: str) -> str:
    """A management URL: https only (loopback may use http), so credentials never go in
    clear text."""
    try:
        return check_url(value, what)
    except DocumentError as e:
        raise RotationConfigError(str(e)) from e


def field(provider: str, item: Any, key: str) -> str:
    """A string field of a provider's JSON answer, or ``ProviderError``."""
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, str) or not value:
        raise ProviderError(f"{provider}: the answer has no {key!r}")
    return value


def parse_date(value: Any) -> datetime | None:
    """An ISO 8601 date from a provider's answer; None (sorts oldest) when absent or odd."""
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
