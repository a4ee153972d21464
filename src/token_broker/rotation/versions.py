"""One secret's versions in Secrets Manager, as the rotation steps read and move them.

Failures of Secrets Manager itself become ``RotationError`` (with the cause chained);
the step fails and Secrets Manager retries it later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from token_broker.rotation.errors import RotationConfigError, RotationError
from token_broker.rotation.secret import RotatedSecret, parse_management, parse_rotated

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
PREVIOUS = "AWSPREVIOUS"


class SecretVersions:
    def __init__(self, client: Any, secret_id: str) -> None:
        self.client = client
        self.secret_id = secret_id
        self.arn = secret_id
        self.name = secret_id

    def describe(self) -> tuple[bool, dict[str, list[str]]]:
        """Whether rotation is enabled, and each version's stages; also learns ARN and name."""
        answer = self._call("describe_secret", SecretId=self.secret_id)
        self.arn = str(answer.get("ARN", self.arn))
        self.name = str(answer.get("Name", self.name))
        stages = {str(k): list(v) for k, v in answer.get("VersionIdsToStages", {}).items()}
        return bool(answer.get("RotationEnabled")), stages

    def current(self) -> RotatedSecret:
        return self._read(VersionStage=CURRENT)

    def version(self, version_id: str, stage: str) -> RotatedSecret:
        """The version ``version_id``, which holds ``stage``: the function's role may read
        the staged versions only (a ``secretsmanager:VersionStage`` condition)."""
        return self._read(VersionId=version_id, VersionStage=stage)

    def pending(self, token: str) -> RotatedSecret | None:
        """The value staged by createSecret under ``token``; None before it exists."""
        try:
            answer = self.client.get_secret_value(
                SecretId=self.secret_id, VersionId=token, VersionStage=PENDING
            )
        except Exception as e:
            if _code(e) == "ResourceNotFoundException":
                return None
            raise RotationError(f"Secrets Manager get_secret_value: {_code(e)}") from e
        text = answer.get("SecretString")
        if text is None:  # the version RotateSecret announced, with no value yet
            return None
        return parse_rotated(text, name=self.name, version_id=token)

    def stage_pending(self, token: str, text: str) -> None:
        self._call(
            "put_secret_value",
            SecretId=self.secret_id,
            ClientRequestToken=token,
            SecretString=text,
            VersionStages=[PENDING],
        )

    def make_current(self, token: str, current_version: str | None) -> None:
        """Move ``AWSCURRENT`` to ``token`` (the old version becomes ``AWSPREVIOUS``)."""
        params = {"SecretId": self.secret_id, "VersionStage": CURRENT, "MoveToVersionId": token}
        if current_version is not None:
            params["RemoveFromVersionId"] = current_version
        self._call("update_secret_version_stage", **params)

    def clear_pending(self, token: str) -> None:
        self._call(
            "update_secret_version_stage",
            SecretId=self.secret_id,
            VersionStage=PENDING,
            RemoveFromVersionId=token,
        )

    def management(self, name: str) -> Mapping[str, str]:
        """A provider's management credentials, from the secret the client secret names."""
        try:
            answer = self.client.get_secret_value(SecretId=name, VersionStage=CURRENT)
        except Exception as e:
            raise RotationConfigError(
                f"management secret {name!r} cannot be read: {_code(e)}"
            ) from e
        return parse_management(answer.get("SecretString"), name=name)

    def _read(self, **version: str) -> RotatedSecret:
        answer = self._call("get_secret_value", SecretId=self.secret_id, **version)
        return parse_rotated(
            answer.get("SecretString"), name=self.name, version_id=str(answer.get("VersionId"))
        )

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self.client, operation)(**params)
        except Exception as e:
            raise RotationError(f"Secrets Manager {operation}: {_code(e)}") from e
        return answer


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__))
