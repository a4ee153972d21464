"""The broker's exception tree: one class per OAuth answer the caller acts on.

Each class fixes the HTTP status and the RFC 6749 section 5.2 ``error`` code of its
answer; the message is the public ``error_description`` and so never holds a secret, a
token or an identity provider's own words. ``reason`` is the stable value used in the
audit log and the metrics.
"""

from __future__ import annotations

from scopegate_core.sources import UNAVAILABLE_RETRY_SECONDS


class BrokerError(Exception):
    """Root of every error the broker answers with."""

    status: int = 500
    error: str = "server_error"
    reason: str = "broker_error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def description(self) -> str:
        return str(self)


class ConfigError(BrokerError):
    """The broker's configuration or a client secret is missing or invalid (500)."""

    reason = "config_invalid"


class InvalidRequest(BrokerError):
    """Malformed body, a field of the wrong type, or an ambiguous grant (400)."""

    status = 400
    error = "invalid_request"
    reason = "invalid_request"


class InvalidScope(BrokerError):
    """A requested scope is not granted to the caller (400)."""

    status = 400
    error = "invalid_scope"
    reason = "invalid_scope"


class InvalidTarget(BrokerError):
    """``resource`` or ``audience`` is not the chosen client's (400, RFC 8707)."""

    status = 400
    error = "invalid_target"
    reason = "invalid_target"


class AccessDenied(BrokerError):
    """No caller identity, or no grant for this caller or client (403)."""

    status = 403
    error = "access_denied"
    reason = "access_denied"


class UpstreamError(BrokerError):
    """The identity provider refused the grant or answered nonsense (502)."""

    status = 502
    error = "upstream_error"
    reason = "idp_error"


class InvalidClient(UpstreamError):
    """The identity provider does not accept the client credentials (a rotation race?)."""

    reason = "idp_invalid_client"


class Unavailable(BrokerError):
    """The identity provider or Secrets Manager is unreachable or throttling (503)."""

    status = 503
    error = "temporarily_unavailable"
    reason = "idp_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = max(1, retry_after)


class ConfigUnavailable(Unavailable):
    """The config's SSM parameter could not be read and no document has loaded yet (503):
    an outage, not a broken configuration; the source asks SSM again within seconds."""

    reason = "config_unavailable"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message, retry_after=int(UNAVAILABLE_RETRY_SECONDS), reason=reason)
