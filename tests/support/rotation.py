"""Driving a rotation the way Secrets Manager does: RotateSecret enables rotation and
announces a pending version without a value, then the rotation function runs
createSecret, setSecret, testSecret and finishSecret with that version's token.

moto's RotateSecret cannot invoke a function without Docker and, given none, makes the
new empty version current at once; ``start_rotation`` therefore does RotateSecret's
bookkeeping on moto's backend directly, exactly as far as the real service does it
before invoking the function.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.secretsmanager.models import secretsmanager_backends

from token_broker.rotation.handler import STEPS, Runtime, handle


def start_rotation(secrets: Any, secret_id: str) -> str:
    """RotateSecret up to the point where it calls the function; returns the token."""
    backend = secretsmanager_backends[DEFAULT_ACCOUNT_ID][secrets.meta.region_name]
    secret = backend.secrets[secret_id]
    token = str(uuid.uuid4())
    secret.rotation_requested = secret.rotation_enabled = True
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    secret.versions[token] = {
        "createdate": int(time.time()),
        "version_id": token,
        "version_stages": ["AWSPENDING"],
    }
    return token


def event(secrets: Any, secret_id: str, token: str, step: str) -> dict[str, str]:
    arn = secrets.describe_secret(SecretId=secret_id)["ARN"]
    return {"SecretId": arn, "ClientRequestToken": token, "Step": step}


def run(state: Runtime, secrets: Any, secret_id: str, token: str, step: str) -> str:
    return handle(state, event(secrets, secret_id, token, step))


def rotate(state: Runtime, secrets: Any, secret_id: str) -> str:
    """One whole rotation; returns the new version's token."""
    token = start_rotation(secrets, secret_id)
    for step in STEPS:
        run(state, secrets, secret_id, token, step)
    return token


def stages(secrets: Any, secret_id: str) -> dict[str, list[str]]:
    versions = secrets.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
    return {k: sorted(v) for k, v in versions.items()}


def value(secrets: Any, secret_id: str, stage: str = "AWSCURRENT") -> dict[str, Any]:
    answer = secrets.get_secret_value(SecretId=secret_id, VersionStage=stage)
    result: dict[str, Any] = json.loads(answer["SecretString"])
    return result
