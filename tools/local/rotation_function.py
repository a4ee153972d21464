"""The rotation function as Secrets Manager finds it in the local stack: registered in
moto's Lambda, each of its invocations answered in this process.

moto's RotateSecret invokes the four steps through its Lambda backend, which would need
Docker to run code; here ``run_step`` answers them instead. A failed step fails the
RotateSecret call (AWS would run the steps asynchronously and report the failure in the
function's log).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterable
from typing import Any

from tools.local.lambda_proxy import LambdaContext

ROTATION_FUNCTION = "scopegate-rotation"
RunStep = Callable[[dict[str, Any], LambdaContext], object]


class RotationFunction:
    """``register`` creates the function and turns rotation on for ``secrets``."""

    def __init__(self, run_step: RunStep) -> None:
        self.run_step = run_step
        self.arn = ""

    def register(
        self, iam: Any, lambdas: Any, account: str, region: str, secrets: Iterable[str]
    ) -> str:
        """Create the function in moto's Lambda and run its invocations here; returns its ARN."""
        role = iam.create_role(RoleName=ROTATION_FUNCTION, AssumeRolePolicyDocument="{}")
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("README.txt", "runs in process: tools/local/rotation_function.py")
        self.arn = lambdas.create_function(
            FunctionName=ROTATION_FUNCTION,
            Runtime="python3.13",
            Role=role["Role"]["Arn"],
            Handler="token_broker.rotation.lambda_handler",
            Code={"ZipFile": code.getvalue()},
            Timeout=120,
        )["FunctionArn"]
        from moto.awslambda.utils import get_backend
        from moto.secretsmanager.models import FakeSecret, secretsmanager_backends

        # moto would run the function's code in Docker; this answers it in process.
        functions = get_backend(account, region)
        functions.invoke = self._invoke  # type: ignore[method-assign]
        # What the template's RotationSchedule does for each broker secret; moto's API would
        # turn rotation on only by rotating at once.
        backend = secretsmanager_backends[account][region]
        for secret in secrets:
            entry = backend.secrets[secret]
            assert isinstance(entry, FakeSecret)  # not a replica: the stack's region holds it
            entry.rotation_enabled, entry.rotation_lambda_arn = True, self.arn
            entry.auto_rotate_after_days = 30
        return self.arn

    def _invoke(
        self, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        from moto.secretsmanager.exceptions import InvalidRequestException

        event = json.loads(body)
        context = LambdaContext(ROTATION_FUNCTION, self.arn, timeout_seconds=120)
        try:
            self.run_step(event, context)
        except Exception as e:  # the step's log line says why, without values
            step = event.get("Step")
            raise InvalidRequestException(f"the rotation function failed at {step}: {e}") from e
        return b"null"
