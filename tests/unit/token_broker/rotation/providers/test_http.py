"""The HTTP rotation adapters against hostile management secrets and answers.

Findings of a security review: a management API token holding CR/LF made http.client
raise ``ValueError("Invalid header value b'SSWS <token>\\r\\n...'")`` and the adapter copied
that text into the rotation's ERROR line. Here the rotation function runs its real steps
(moto's Secrets Manager) against a scripted management API on 127.0.0.1, and every log
line and every exception is searched for the secret.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.rotation import run, start_rotation
from token_broker.config import BrokerConfigSource
from token_broker.rotation.errors import ProviderError, RotationConfigError, RotationError
from token_broker.rotation.handler import Runtime

CLIENT_SECRET = "sg-client-secret-Zr4Qk8Wn2Lp6"
LEAK = "sg-leak-7Hq2Vx9Tm4Kc"  # what must never reach a log, whichever field carries it


class ManagementApi:
    """Answers every request with ``(status, body)`` from ``answers`` by path, else 404."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.requests: list[tuple[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                api.requests.append((self.command, path))
                status, body = api.answers.get(path, (404, b'{"errorCode": "E0000007"}'))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def api() -> Iterator[ManagementApi]:
    server = ManagementApi()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def broker_config(token_url: str) -> str:
    return json.dumps(
        {
            "clients": {"app": {"secret": "scopegate/app", "token_endpoint": token_url}},
            "grants": [
                {
                    "principal": "arn:aws:iam::123456789012:role/worker",
                    "client": "app",
                    "scopes": ["orders:read"],
                }
            ],
        }
    )


def setup(secrets: Any, api: ManagementApi, provider: str, management: dict[str, str]) -> str:
    """The client secret and its management secret; returns the pending version's token."""
    secrets.create_secret(Name="scopegate/admin", SecretString=json.dumps(management))
    secrets.create_secret(
        Name="scopegate/app",
        SecretString=json.dumps(
            {
                "client_id": "app-1",
                "client_secret": CLIENT_SECRET,
                "provider": provider,
                "management_secret": "scopegate/admin",
                "secret_id": "sec-1",
            }
        ),
    )
    return start_rotation(secrets, "scopegate/app")


def runtime(secrets: Any, api: ManagementApi) -> Runtime:
    return Runtime(
        secrets,
        source=BrokerConfigSource({"BROKER_CONFIG": broker_config(f"{api.url}/token")}),
        sleep=lambda seconds: None,
    )


def failed_step(
    caplog: pytest.LogCaptureFixture, secrets: Any, api: ManagementApi, token: str
) -> RotationError:
    caplog.set_level(logging.INFO)
    with pytest.raises(RotationError) as e:
        run(runtime(secrets, api), secrets, "scopegate/app", token, "createSecret")
    return e.value


def everything_said(caplog: pytest.LogCaptureFixture, error: BaseException) -> str:
    """Every log record (message and fields) and the whole exception chain, as text."""
    said = [caplog.text, *(json.dumps(r.__dict__, default=str) for r in caplog.records)]
    cause: BaseException | None = error
    while cause is not None:
        said += [str(cause), repr(cause), repr(cause.args)]
        cause = cause.__cause__ or cause.__context__
    return "\n".join(said)


def okta(api: ManagementApi, **changes: str) -> dict[str, str]:
    return {"org_url": api.url, "api_token": f"00{LEAK}"} | changes


def entra(api: ManagementApi, **changes: str) -> dict[str, str]:
    return {
        "tenant_id": "tenant-1",
        "client_id": "mgmt",
        "client_secret": f"mgmt-{LEAK}",
        "token_url": f"{api.url}/mgmt-token",
        "graph_url": f"{api.url}/graph",
    } | changes


@pytest.mark.parametrize("where", ["management secret", "management token answer"])
def test_no_exception_text_that_can_hold_a_header_reaches_the_log(
    caplog: pytest.LogCaptureFixture, secrets: Any, api: ManagementApi, where: str
) -> None:
    # http.client refuses a header value with CR/LF with a ValueError quoting the header.
    if where == "management secret":
        token = setup(secrets, api, "okta", okta(api, api_token=f"00{LEAK}\r\nX-Injected: 1"))
    else:
        answer = {"access_token": f"{LEAK}\r\nX-Injected: 1", "token_type": "Bearer"}
        api.answers["/mgmt-token"] = (200, json.dumps(answer).encode())
        token = setup(secrets, api, "entra", entra(api))
    error = failed_step(caplog, secrets, api, token)
    assert LEAK not in everything_said(caplog, error)


@pytest.mark.parametrize("control", ["\r\n", "\n", "\r", "\x00", "\x7f", "\t"])
def test_a_management_token_with_control_characters_is_refused_naming_the_field(
    caplog: pytest.LogCaptureFixture, secrets: Any, api: ManagementApi, control: str
) -> None:
    management = okta(api, api_token=f"00{LEAK}{control}X-Injected: 1")
    error = failed_step(caplog, secrets, api, setup(secrets, api, "okta", management))
    assert isinstance(error, RotationConfigError)
    assert "api_token" in str(error)
    assert "control character" in str(error)
    assert LEAK not in everything_said(caplog, error)
    assert api.requests == []  # refused before anything was sent


def test_control_characters_are_refused_in_every_management_field(
    caplog: pytest.LogCaptureFixture, secrets: Any, api: ManagementApi
) -> None:
    management = entra(api, client_secret=f"mgmt-{LEAK}\r\n")
    error = failed_step(caplog, secrets, api, setup(secrets, api, "entra", management))
    assert isinstance(error, RotationConfigError)
    assert "client_secret" in str(error)
    assert LEAK not in everything_said(caplog, error)


def test_a_management_token_answer_with_control_characters_is_not_sent_on(
    caplog: pytest.LogCaptureFixture, secrets: Any, api: ManagementApi
) -> None:
    # The management token comes from the provider's answer and goes into a header.
    answer = {"access_token": f"{LEAK}\r\nX-Injected: 1", "token_type": "Bearer"}
    api.answers["/mgmt-token"] = (200, json.dumps(answer).encode())
    error = failed_step(caplog, secrets, api, setup(secrets, api, "entra", entra(api)))
    assert isinstance(error, ProviderError)
    assert "management token" in str(error)
    assert LEAK not in everything_said(caplog, error)
    assert [path for _, path in api.requests] == ["/mgmt-token"]


NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/api/v1/apps/app-1/credentials/secrets", 200, NESTED),
        ("/api/v1/apps/app-1/credentials/secrets", 403, b'{"errorCode": ' + NESTED + b"}"),
        ("/api/v1/apps/app-1/credentials/secrets", 200, b"[" + b"9" * 5000 + b"]"),
        ("/api/v1/apps/app-1/credentials/secrets", 200, b"[" + b" " * (1 << 20) + b"]"),
    ],
    ids=["nested", "nested-error", "huge-int", "over-1-MiB"],
)
def test_an_answer_that_breaks_the_json_parser_fails_the_step_cleanly(
    caplog: pytest.LogCaptureFixture,
    secrets: Any,
    api: ManagementApi,
    path: str,
    status: int,
    body: bytes,
) -> None:
    api.answers[path] = (status, body)
    error = failed_step(caplog, secrets, api, setup(secrets, api, "okta", okta(api)))
    assert type(error) is ProviderError  # the step fails as a provider error, not a crash
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["rotation step failed"]
    assert not any(r.exc_info for r in caplog.records)


def test_a_nested_management_token_answer_fails_the_step_cleanly(
    caplog: pytest.LogCaptureFixture, secrets: Any, api: ManagementApi
) -> None:
    api.answers["/mgmt-token"] = (200, b'{"access_token": ' + NESTED + b"}")
    error = failed_step(caplog, secrets, api, setup(secrets, api, "entra", entra(api)))
    assert type(error) is ProviderError
    assert "management token" in str(error)
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("which", ["client secret", "management secret"])
def test_a_secret_value_nested_beyond_the_parser_is_a_configuration_error(
    caplog: pytest.LogCaptureFixture, secrets: Any, api: ManagementApi, which: str
) -> None:
    token = setup(secrets, api, "okta", okta(api))
    name = "scopegate/app" if which == "client secret" else "scopegate/admin"
    nested = '{"a": ' + "[" * 30_000 + "]" * 30_000 + "}"
    if which == "client secret":
        # The pending version keeps its AWSPENDING stage; AWSCURRENT gets the nested value.
        secrets.put_secret_value(SecretId=name, SecretString=nested, VersionStages=["AWSCURRENT"])
    else:
        secrets.put_secret_value(SecretId=name, SecretString=nested)
    error = failed_step(caplog, secrets, api, token)
    assert isinstance(error, RotationConfigError)
    assert not any(r.exc_info for r in caplog.records)
