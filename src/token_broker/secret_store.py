"""Client credentials from Secrets Manager, cached for a bounded age.

``current`` serves the ``AWSCURRENT`` version (or the version that last worked, see
``remember``) for at most ``max_age`` seconds. ``alternate`` is the rotation escape hatch:
after the identity provider answers ``invalid_client``, it offers ``AWSPENDING`` when a
pending version exists, else a freshly read ``AWSCURRENT``, and ``None`` when neither
differs from the credentials that just failed.

Errors: a secret that does not exist, cannot be decrypted or may not be read is the
operator's misconfiguration (``ConfigError``, 500); throttling and outages are
``Unavailable`` (503).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from scopegate_core.aws import request_client
from token_broker.credentials import Credentials, parse_secret
from token_broker.errors import ConfigError, Unavailable

DEFAULT_MAX_AGE = 300.0
_MISCONFIGURED = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "DecryptionFailure",
        "InvalidRequestException",
        "InvalidParameterException",
        "ValidationException",
    }
)


class SecretStore:
    def __init__(
        self,
        client: Any = None,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.max_age = max_age
        self._clock = clock
        self._cache: dict[str, tuple[float, Credentials]] = {}
        self._lock = threading.Lock()
        self.reads = 0  # GetSecretValue calls, for tests and metrics

    def current(self, secret_id: str) -> Credentials:
        with self._lock:
            cached = self._cache.get(secret_id)
        if cached is not None and self._clock() - cached[0] < self.max_age:
            return cached[1]
        credentials = self._read(secret_id, "AWSCURRENT")
        assert credentials is not None
        self.remember(secret_id, credentials)
        return credentials

    def alternate(self, secret_id: str, failed: Credentials) -> Credentials | None:
        """Another staged version to try after ``failed`` was refused as ``invalid_client``."""
        pending = self._read(secret_id, "AWSPENDING", missing_ok=True)
        if pending is not None and pending.version_id != failed.version_id:
            return pending
        current = self._read(secret_id, "AWSCURRENT")
        if current is not None and current.version_id != failed.version_id:
            return current
        return None

    def remember(self, secret_id: str, credentials: Credentials) -> None:
        """Serve ``credentials`` for this secret until they are ``max_age`` old."""
        with self._lock:
            self._cache[secret_id] = (self._clock(), credentials)

    def _read(self, secret_id: str, stage: str, *, missing_ok: bool = False) -> Credentials | None:
        if self._client is None:
            self._client = _default_client()
        self.reads += 1
        try:
            answer = self._client.get_secret_value(SecretId=secret_id, VersionStage=stage)
        except Exception as e:
            code = getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)
            if missing_ok and code == "ResourceNotFoundException":
                return None  # no version holds this stage
            if code in _MISCONFIGURED:
                raise ConfigError(
                    f"secret {secret_id!r} cannot be read: {code}", reason="secret_unreadable"
                ) from e
            raise Unavailable(
                f"Secrets Manager is unavailable: {code}", reason="secrets_unavailable"
            ) from e
        text = answer.get("SecretString")
        if missing_ok and text is None:
            return None  # a rotation has begun but createSecret has not staged a value yet
        if not isinstance(text, str):
            raise ConfigError(f"secret {secret_id!r} has no SecretString", reason="secret_invalid")
        return parse_secret(text, secret=secret_id, version_id=str(answer.get("VersionId", "")))


def _default_client() -> Any:
    return request_client("secretsmanager")
