"""Several broker environments as separate processes, sharing one token table.

Lambda runs one execution environment per concurrent request, each a process with its
own memory; the shared cache exists for exactly that. ``Fleet`` starts N processes of
``tools/local/environment.py`` with the environment variables a deployed function gets,
invokes them with API Gateway REST events, reads their log lines and can SIGKILL one.
``create_shared_cache`` makes the table and the KMS key as the template does (in moto),
``moto_process`` runs moto's server with DynamoDB's atomic writes.

    with Fleet(4, env) as fleet:
        answer = fleet[0].invoke(token_event(caller, "scope=orders:read"))
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Self

from tools.local.service import Service

ROOT = Path(__file__).resolve().parents[2]
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 direct
TABLE = "scopegate-broker-tokens"  # what the template names it for the stack "scopegate"
KMS_ALIAS = "alias/scopegate-broker"
# Not passed on to the environments: they get exactly what a deployed function gets.
_INHERITED_PREFIXES = ("AWS_", "BROKER_", "POWERTOOLS_")


class Environment:
    """One broker process: ``invoke`` an event, read its ``logs``, ``kill`` it."""

    def __init__(self, env: dict[str, str], start_timeout: float = 30.0) -> None:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tools.local.environment"],
            cwd=ROOT,
            env=inherited | {"PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"} | env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.port = 0
        assert self._proc.stdout is not None
        self._drain = threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True)
        self._drain.start()
        if not self._ready.wait(start_timeout):
            self.kill()
            raise RuntimeError("a broker environment did not start:\n" + "\n".join(self.lines))

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if not self._ready.is_set() and line.startswith('{"ready"'):
                self.port = int(json.loads(line)["ready"])
                self._ready.set()
                continue
            self.lines.append(line)

    def invoke(self, event: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """The handler's response to ``event`` (a REST proxy response)."""
        return self._post("/invoke", event, timeout)

    def flush_metrics(self) -> None:
        self._post("/flush", {}, 10.0)

    def _post(self, path: str, doc: Any, timeout: float) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(doc).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with OPENER.open(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer

    def logs(self) -> list[dict[str, Any]]:
        """The JSON lines written so far (audit lines, warnings, EMF metrics)."""
        time.sleep(0.05)  # let the drain thread catch up with the last answer's lines
        out = []
        for line in list(self.lines):
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict):
                out.append(doc)
        return out

    def kill(self) -> None:
        """SIGKILL, as Lambda ends an environment that times out or runs out of memory."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
        self._proc.wait(timeout=10)
        self._drain.join(timeout=5)

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None


class Fleet(Service):
    """``n`` environments with the same variables, started when made; stopped (killed) on
    exit."""

    def __init__(self, n: int, env: dict[str, str]) -> None:
        self.environments: list[Environment] = []
        try:
            for _ in range(n):
                self.environments.append(Environment(env))
        except BaseException:
            self.stop()
            raise

    def __getitem__(self, index: int) -> Environment:
        return self.environments[index]

    def __len__(self) -> int:
        return len(self.environments)

    def start(self) -> Self:
        return self  # the environments started when the fleet was made

    def stop(self) -> None:
        for environment in self.environments:
            environment.kill()


@contextlib.contextmanager
def moto_process(start_timeout: float = 30.0) -> Iterator[str]:
    """moto's server in a process of its own on 127.0.0.1, one request at a time so that
    conditional writes are atomic as in DynamoDB (``moto_atomic``); yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.local.moto_atomic", str(port)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def function_env(config: dict[str, Any], aws_url: str, **extra: str) -> dict[str, str]:
    """What a deployed broker function gets, with boto3 pointed at moto's server."""
    return {
        "BROKER_CONFIG": json.dumps(config),
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "scopegate-broker",
        "POWERTOOLS_METRICS_NAMESPACE": "scopegate",
    } | extra


def create_shared_cache(dynamodb: Any, kms: Any, table: str = TABLE) -> tuple[str, str]:
    """The table and the KMS key (with its alias) as ``BrokerSharedCache=dynamodb`` makes
    them; returns the config's ``(table, kms_key)``."""
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
    )
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    key = kms.create_key(Description="scopegate broker token cache")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key)
    kms.create_alias(AliasName=KMS_ALIAS, TargetKeyId=key)
    return table, KMS_ALIAS


def token_event(caller: str, body: str, request_id: str | None = None) -> dict[str, Any]:
    """``POST /token`` as API Gateway (REST, AWS_IAM) delivers it for ``caller``."""
    identity = {"userArn": caller, "accountId": caller.split(":")[4], "sourceIp": "10.0.0.1"}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return {
        "resource": "/token",
        "path": "/token",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/token",
            "httpMethod": "POST",
            "path": "/v1/token",
            "stage": "v1",
            "requestId": request_id or str(uuid.uuid4()),
            "identity": identity,
        },
    }
