"""Driving a rotation the way Secrets Manager does: RotateSecret enables rotation and
announces a pending version without a value, then the rotation function runs
createSecret, setSecret, testSecret and finishSecret with that version's token.

moto's RotateSecret cannot invoke a function without Docker and, given none, makes the
new empty version current at once; ``start_rotation`` therefore does RotateSecret's
bookkeeping on moto's backend directly, exactly as far as the real service does it
before invoking the function.
"""

from __future__ import annotations

import base64
import json
import secrets as random_secrets
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.secretsmanager.models import FakeSecret, secretsmanager_backends

from token_broker.rotation.handler import STEPS, Runtime, handle


def start_rotation(secrets: Any, secret_id: str) -> str:
    """RotateSecret up to the point where it calls the function; returns the token."""
    backend = secretsmanager_backends[DEFAULT_ACCOUNT_ID][secrets.meta.region_name]
    secret = backend.secrets[secret_id]
    assert isinstance(secret, FakeSecret)  # not a replica: this region holds the secret
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


class FakeCognitoAppClient:
    """One Cognito app client: its secret APIs and a token endpoint accepting live secrets.

    The secret APIs follow the service (two secrets at most, the last one cannot be
    deleted) and the token endpoint, used as an ``IdpClient`` transport, answers a client
    credentials grant exactly when HTTP Basic carries one of the live secrets, so a
    testSecret step really proves the secret it tests.
    """

    def __init__(self, *, pool: str, client_id: str, token_url: str, initial: str) -> None:
        self.pool, self.client_id, self.token_url = pool, client_id, token_url
        self.clock = datetime(2026, 11, 1, tzinfo=UTC)
        self.secrets: dict[str, tuple[str, datetime]] = {"s-initial": (initial, self.clock)}
        self.token_requests: list[dict[str, str]] = []
        self.refuse_tokens = False  # the token endpoint refuses every grant while set

    def secret_value(self) -> dict[str, str]:
        """The value of a Secrets Manager secret holding the app client's first secret."""
        return {
            "client_id": self.client_id,
            "client_secret": self.secrets["s-initial"][0],
            "provider": "cognito",
            "user_pool_id": self.pool,
            "secret_id": "s-initial",
        }

    def accepts(self, secret: str) -> bool:
        return any(value == secret for value, _ in self.secrets.values())

    # the cognito-idp client methods the rotation adapter uses

    def list_user_pool_client_secrets(self, **ids: str) -> dict[str, Any]:
        self._check(ids)
        items = [
            {"ClientSecretId": sid, "ClientSecretCreateDate": created}
            for sid, (_, created) in self.secrets.items()
        ]
        return {"ClientSecrets": items}

    def add_user_pool_client_secret(self, **ids: str) -> dict[str, Any]:
        self._check(ids)
        if len(self.secrets) >= 2:
            raise _client_error("LimitExceededException", "AddUserPoolClientSecret")
        self.clock += timedelta(minutes=1)
        sid, value = f"s-{random_secrets.token_hex(4)}", random_secrets.token_urlsafe(36)
        self.secrets[sid] = (value, self.clock)
        return {"ClientSecretDescriptor": {"ClientSecretId": sid, "ClientSecretValue": value}}

    def delete_user_pool_client_secret(self, ClientSecretId: str, **ids: str) -> dict[str, Any]:
        self._check(ids)
        if ClientSecretId not in self.secrets:
            raise _client_error("ResourceNotFoundException", "DeleteUserPoolClientSecret")
        if len(self.secrets) == 1:
            raise _client_error("InvalidParameterException", "DeleteUserPoolClientSecret")
        del self.secrets[ClientSecretId]
        return {}

    def _check(self, ids: Mapping[str, str]) -> None:
        assert ids == {"UserPoolId": self.pool, "ClientId": self.client_id}

    # the token endpoint (an IdpClient transport)

    def post_form(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        assert url == self.token_url
        scheme, _, encoded = headers["Authorization"].partition(" ")
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        self.token_requests.append({k: v[0] for k, v in parse_qs(body.decode()).items()})
        if scheme != "Basic" or unquote_plus(client_id) != self.client_id:
            return 400, {}, b'{"error": "invalid_client"}'
        if self.refuse_tokens or not self.accepts(unquote_plus(secret)):
            return 400, {}, b'{"error": "invalid_client"}'
        answer = {"access_token": "eyJ.fake.token", "token_type": "Bearer", "expires_in": 3600}
        return 200, {"content-type": "application/json"}, json.dumps(answer).encode()

    def get(self, url: str, timeout: float) -> tuple[int, Mapping[str, str], bytes]:
        raise AssertionError("the token endpoint is configured; no discovery")


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)
