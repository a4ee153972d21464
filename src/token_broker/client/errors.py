"""Why the broker handed out no token: one root, and the subclass worth retrying later."""

from __future__ import annotations


class BrokerClientError(Exception):
    """The broker handed out no token.

    ``error`` is the broker's RFC 6749 error code (``invalid_scope``, ``access_denied``,
    ...) or one of ours: ``connection_error``, ``tls_error``, ``no_credentials``,
    ``invalid_response`` (a success answer that is not a usable token), ``http_error``
    (an answer without an OAuth error, such as API Gateway's own 403). ``status`` is the
    HTTP status, None when no answer came. Messages never hold a token or a secret.
    """

    def __init__(self, error: str, description: str, *, status: int | None = None) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    @property
    def reason(self) -> str:
        """The stable, machine-readable cause (the same as ``error``), for logs and metrics."""
        return self.error


class BrokerUnavailable(BrokerClientError):
    """Worth retrying later: the broker, or its identity provider, is unreachable or busy.

    ``retry_after`` is the broker's ``Retry-After`` in seconds, None when it sent none.
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(error, description, status=status)
        self.retry_after = retry_after
