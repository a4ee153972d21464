"""What a task asks the broker for: checked, normalized, and usable as a cache key."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import urlencode

# RFC 6749 appendix A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


class TokenRequest(NamedTuple):
    """One ``POST /token`` request; equal requests share a cached token."""

    scopes: tuple[str, ...]  # sorted, without duplicates; empty: every granted scope
    client: str | None
    resource: str | None
    audience: str | None

    @classmethod
    def of(
        cls,
        scopes: str | Sequence[str] | None = None,
        *,
        client: str | None = None,
        resource: str | None = None,
        audience: str | None = None,
    ) -> TokenRequest:
        """Checked arguments: ``TypeError`` or ``ValueError`` before anything is sent."""
        return cls(
            scope_list(scopes),
            _optional(client, "client"),
            _optional(resource, "resource"),
            _optional(audience, "audience"),
        )

    def form(self) -> bytes:
        """The form-encoded body; absent fields are left out, as the broker's defaults."""
        fields = [
            (name, value)
            for name, value in (
                ("scope", " ".join(self.scopes)),
                ("client", self.client),
                ("resource", self.resource),
                ("audience", self.audience),
            )
            if value
        ]
        return urlencode(fields).encode("ascii")


def scope_list(scopes: str | Sequence[str] | None) -> tuple[str, ...]:
    """Space separated scopes, or a sequence of them, as a sorted tuple without duplicates."""
    if scopes is None:
        return ()
    items: list[str] = []
    for item in [scopes] if isinstance(scopes, str) else scopes:
        if not isinstance(item, str):
            raise TypeError(f"scopes must be strings, not {type(item).__name__}")
        items += item.split()
    for scope in items:
        if not SCOPE_TOKEN.fullmatch(scope):
            raise ValueError(f"{scope!r} is not a valid OAuth scope")
    return tuple(sorted(set(items)))


def _optional(value: str | None, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what} must be a string")
    return value or None
