"""The test identity provider's own endpoints (``/__test/...``), which no real provider has:
rotate its keys, count and log its requests, make its token endpoint fail or stall, show
and reset the client secrets its admin APIs rotate, make the ID token a Cognito sign-in
would return. See tests/idp/server.js."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from tools.local.idp.errors import IdentityProviderError, json_object


class IdpControls:
    """The ``/__test`` endpoints, for ``IdentityProvider`` (which makes the requests)."""

    def _request(self, method: str, path_or_url: str, body: bytes | None = None) -> bytes:
        raise NotImplementedError

    def cognito_id_token(self, tenant: str, client_id: str) -> str:
        """The ID token a user's sign-in at a Cognito app client returns (signed by the
        pool's ID token key); client credentials never return one."""
        body = json.dumps({"tenant": tenant, "client_id": client_id}).encode()
        return str(json_object(self._request("POST", "/__test/id-token", body))["id_token"])

    def rotate_keys(self, keep_old: bool) -> list[str]:
        """New signing keys for every alg; returns their kids (old keys kept in JWKS if asked)."""
        body = json.dumps({"keep_old": keep_old}).encode()
        kids = json_object(self._request("POST", "/__test/rotate-keys", body))["kids"]
        return [str(kid) for kid in kids]

    def stats(self) -> dict[str, int]:
        """Counters of jwks, discovery and token requests since start or reset_stats()."""
        raw = json_object(self._request("GET", "/__test/stats"))
        return {str(k): int(v) for k, v in raw.items()}

    def reset_stats(self) -> None:
        """Zero the counters and empty the token log."""
        self._request("POST", "/__test/reset-stats", b"{}")

    def set_fault(
        self,
        status: int | None = None,
        count: int | None = None,
        retry_after: str | int | None = None,
        body: str | None = None,
        content_type: str | None = None,
        delay_ms: int = 0,
    ) -> None:
        """Make the next ``count`` token requests (all, if None) fail instead of reaching
        the provider.

        With ``status``, they get that status, ``body`` as is (default empty; its
        content type defaults to application/json) and ``Retry-After: retry_after``.
        ``delay_ms`` holds each answer back that long; with a delay and no status, the
        requests reach the provider late. Faulted requests still count in stats() and
        appear in token_log(). Replaces any earlier fault.
        """
        fields: dict[str, Any] = {
            "status": status,
            "count": count,
            "retry_after": retry_after,
            "body": body,
            "content_type": content_type,
        }
        fault = {key: value for key, value in fields.items() if value is not None}
        if delay_ms:
            fault["delay_ms"] = delay_ms
        if not fault:
            raise ValueError("a fault needs a status or a delay_ms; use clear_faults() to clear")
        self._request("POST", "/__test/faults", json.dumps(fault).encode())

    def clear_faults(self) -> None:
        """Token requests reach the provider again."""
        self._request("POST", "/__test/faults", b"{}")

    def token_log(self) -> list[dict[str, Any]]:
        """Every POST /token since start or reset_stats(), oldest first.

        Each entry: ``client_id`` (from the Basic header, the body or the assertion's sub),
        ``auth_method`` (``client_secret_basic``, ``client_secret_post``,
        ``private_key_jwt``, ``client_secret_jwt`` or ``none``), ``status`` (the HTTP
        status sent, None while pending), and the ``scope``, ``resource`` and
        ``audience`` form parameters (None when absent, a list when repeated).
        """
        entries = json.loads(self._request("GET", "/__test/token-log"))
        if not isinstance(entries, list):
            raise IdentityProviderError(f"expected a list, got: {entries!r}")
        return [dict(entry) for entry in entries]

    def secrets(self, client_id: str) -> list[dict[str, Any]]:
        """A client's secret list, oldest first, as the token endpoint sees it now.

        Each entry: ``id`` (``initial`` for the configured secret), ``status`` (``ACTIVE``
        or ``INACTIVE``), ``created`` and ``expires`` (ISO 8601 UTC, ``expires`` None when
        never) and ``sha256``, the hex SHA-256 of the value (never the value itself).
        """
        path = "/__test/secrets/" + urllib.parse.quote(client_id, safe="")
        entries = json.loads(self._request("GET", path))
        if not isinstance(entries, list):
            raise IdentityProviderError(f"expected a list, got: {entries!r}")
        return [dict(entry) for entry in entries]

    def set_secret_propagation(self, delay_ms: int) -> None:
        """Secrets created from now on work at the token endpoint only ``delay_ms`` after
        their creation (Auth0 documents up to 30 s); 0 makes them work at once."""
        if delay_ms < 0:
            raise ValueError("delay_ms must be >= 0")
        body = json.dumps({"delay_ms": delay_ms}).encode()
        self._request("POST", "/__test/secret-propagation", body)

    def reset_secrets(self) -> None:
        """Every client holds only its configured secret again; no propagation delay."""
        self._request("POST", "/__test/reset-secrets", b"{}")
