"""Lambda entry point: ``token_broker.rotation.lambda_handler``, called by Secrets Manager.

The handler checks the version stages as Secrets Manager's rotation template does
(rotation enabled, the token is a version of the secret, a version already current
returns, otherwise it must be pending), then runs one step. Each step logs one line
(secret name, step, token, outcome: never a value) and counts ``RotationStep`` or
``RotationFailed{reason}``; a failure raises, so Secrets Manager records it and retries,
while ``AWSCURRENT`` stays where it was.

Environment: the broker's config variables (``BROKER_CONFIG``...: testSecret needs the
client's token endpoint), ``ROTATION_REVOKE_AT_FINISH`` (``true`` revokes the previous
secret in finishSecret instead of at the next rotation).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from scopegate_core.function_log import FunctionLog
from token_broker.config import BrokerConfigSource
from token_broker.errors import BrokerError
from token_broker.rotation import steps
from token_broker.rotation.errors import RotationConfigError, RotationError, StageError
from token_broker.rotation.proof import DEFAULT_BUDGET_SECONDS, GrantProof, client_for, scopes_for
from token_broker.rotation.providers import SecretProvider, provider_for
from token_broker.rotation.secret import RotatedSecret
from token_broker.rotation.versions import CURRENT, PENDING, SecretVersions
from token_broker.transport import HttpTransport
from token_broker.upstream import IdpClient

# Every step's failure is logged, a configuration problem included: Secrets Manager runs
# a step a few times at most, and each attempt is one it records.
log = FunctionLog("scopegate-rotation")
SERVICE, logger, metrics = log.service, log.logger, log.metrics

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# Time kept back from the Lambda timeout when testSecret retries.
SAFETY_MARGIN_SECONDS = 10.0


class Runtime:
    """What the steps talk to; every client is injectable and made on first use."""

    def __init__(
        self,
        secrets_client: Any = None,
        *,
        source: BrokerConfigSource | None = None,
        idp: IdpClient | None = None,
        cognito_client: Any = None,
        transport: HttpTransport | None = None,
        revoke_previous: bool | None = None,
        test_budget: float = DEFAULT_BUDGET_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._secrets_client = secrets_client
        self.source = source or BrokerConfigSource()
        self.idp = idp or IdpClient()
        self.cognito_client = cognito_client
        self.transport = transport
        if revoke_previous is None:
            revoke_previous = os.environ.get("ROTATION_REVOKE_AT_FINISH", "false").lower() == "true"
        self.revoke_previous = revoke_previous
        self.test_budget = test_budget
        self.sleep = sleep

    @property
    def secrets_client(self) -> Any:
        if self._secrets_client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard"})
            self._secrets_client = boto3.client("secretsmanager", config=config)
        return self._secrets_client

    def provider_for(self, versions: SecretVersions) -> Callable[[RotatedSecret], SecretProvider]:
        def make(secret: RotatedSecret) -> SecretProvider:
            return provider_for(
                secret,
                versions.management,
                cognito_client=self.cognito_client,
                transport=self.transport,
            )

        return make

    def proof(self, versions: SecretVersions, context: Any) -> GrantProof:
        try:
            config = self.source.get()
        except BrokerError as e:
            raise RotationConfigError(f"the broker config cannot be used: {e}") from e
        client = client_for(config, versions.arn, versions.name)
        budget = self.test_budget
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining):
            budget = min(budget, remaining() / 1000.0 - SAFETY_MARGIN_SECONDS)
        return GrantProof(
            self.idp, client, scopes_for(config, client), budget=budget, sleep=self.sleep
        )


runtime: Runtime | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    global runtime
    if runtime is None:
        runtime = Runtime()
    handle(runtime, event, context)


def handle(state: Runtime, event: object, context: Any = None) -> str:
    """Run one step; returns what it did (also logged)."""
    secret_id, token, step = _parse(event)
    fields: dict[str, Any] = {"secret": secret_id, "step": step, "token": token}
    try:
        outcome = _run(state, secret_id, token, step, context, fields)
    except RotationError as e:
        _failed(fields, e.reason, str(e))
        raise
    except Exception:
        logger.exception("rotation step failed unexpectedly", extra={"fields": fields})
        _failed(fields, "internal_error", None)
        raise
    logger.info("rotation step done", extra={"fields": fields | {"outcome": outcome}})
    metrics.count("RotationStep", step)
    metrics.flush()
    return outcome


def _run(
    state: Runtime,
    secret_id: str,
    token: str,
    step: str,
    context: Any,
    fields: dict[str, Any],
) -> str:
    versions = SecretVersions(state.secrets_client, secret_id)
    enabled, stages = versions.describe()
    fields["secret"] = versions.name
    if not enabled:
        raise StageError(f"secret {versions.name!r} does not have rotation enabled")
    if token not in stages:
        raise StageError(f"version {token} is not a version of secret {versions.name!r}")
    if CURRENT in stages[token] and (step != "finishSecret" or PENDING not in stages[token]):
        return "already current"  # finishSecret goes on only to clear a left AWSPENDING
    if CURRENT not in stages[token] and PENDING not in stages[token]:
        raise StageError(f"version {token} of secret {versions.name!r} is not AWSPENDING")
    providers = state.provider_for(versions)
    if step == "createSecret":
        return steps.create_secret(versions, token, providers)
    if step == "setSecret":
        return steps.set_secret(versions, token, providers, sleep=state.sleep)
    if step == "testSecret":
        return steps.test_secret(versions, token, state.proof(versions, context))
    return steps.finish_secret(
        versions, token, stages, providers, revoke_previous=state.revoke_previous
    )


def _parse(event: object) -> tuple[str, str, str]:
    if not isinstance(event, Mapping):
        raise StageError("the event is not a Secrets Manager rotation event")
    values = [event.get(k) for k in ("SecretId", "ClientRequestToken", "Step")]
    if not all(isinstance(v, str) and v for v in values):
        raise StageError("the event needs SecretId, ClientRequestToken and Step")
    secret_id, token, step = (str(v) for v in values)
    if step not in STEPS:
        raise StageError(f"unknown rotation step {step!r}")
    return secret_id, token, step


def _failed(fields: dict[str, Any], reason: str, problem: str | None) -> None:
    if problem is not None:
        logger.error(
            "rotation step failed",
            extra={"fields": fields | {"reason": reason, "problem": problem}},
        )
    metrics.count("RotationFailed", reason)
    metrics.flush()
