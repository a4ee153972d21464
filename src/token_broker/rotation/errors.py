"""The rotation function's exception tree.

Any of these fails the step: Secrets Manager records the failure and keeps ``AWSCURRENT``
where it was, so the broker keeps serving with the secret it has. ``reason`` is the
stable value in the log line and the ``RotationFailed`` metric. No message holds a secret.
"""

from __future__ import annotations


class RotationError(Exception):
    """Root of every rotation failure."""

    reason: str = "rotation_failed"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class StageError(RotationError):
    """The event does not match the secret's versions (rotation off, unknown token...)."""

    reason = "stage_mismatch"


class RotationConfigError(RotationError):
    """The client secret, the management secret or the broker config cannot be used."""

    reason = "rotation_config"


class ProviderError(RotationError):
    """The identity provider's management API refused a call or answered nonsense."""

    reason = "provider_error"


class ProviderUnavailable(ProviderError):
    """The management API could not be reached, or timed out."""

    reason = "provider_unavailable"


class SecretNotAccepted(RotationError):
    """testSecret: the token endpoint did not accept the pending secret in time."""

    reason = "test_failed"
