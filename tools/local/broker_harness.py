"""Building blocks for broker tests: events as API Gateway sends them, a runtime wired to
moto's Secrets Manager and a real identity provider, and answers decoded for asserts."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from token_broker.config import BrokerConfigSource
from token_broker.handler import Runtime, handle
from token_broker.secret_store import SecretStore
from token_broker.upstream import IdpClient

ACCOUNT = "123456789012"
WORKER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders-worker"
WORKER = f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-worker/3f1c0d9e8b7a4c2fa1b2c3d4e5f60718"
REPORTING = f"arn:aws:sts::{ACCOUNT}:assumed-role/reporting/task-42"
MULTI = f"arn:aws:sts::{ACCOUNT}:assumed-role/multi/task-7"
STRANGER = f"arn:aws:sts::{ACCOUNT}:assumed-role/stranger/task-1"


def rest_event(
    caller: str | None,
    body: str | None = None,
    *,
    content_type: str | None = "application/x-www-form-urlencoded",
    method: str = "POST",
    path: str = "/token",
    base64_encoded: bool = False,
    request_id: str = "req-1",
) -> dict[str, Any]:
    """An API Gateway REST proxy event for an AWS_IAM-authorized method."""
    if base64_encoded and body is not None:
        body = base64.b64encode(body.encode()).decode()
    headers = {"Content-Type": content_type} if content_type else {}
    identity: dict[str, Any] = {"sourceIp": "10.0.1.23", "userArn": caller}
    if caller is not None:
        identity |= {"accountId": ACCOUNT, "caller": "AROAEXAMPLE:task", "accessKey": "ASIAX"}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "body": body,
        "isBase64Encoded": base64_encoded,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": request_id,
            "identity": identity,
        },
    }


def url_event(caller: str | None, body: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """A Lambda function URL event (payload 2.0) with AWS_IAM auth."""
    content_type = kwargs.get("content_type", "application/x-www-form-urlencoded")
    iam = {"userArn": caller, "accountId": ACCOUNT} if caller else None
    return {
        "version": "2.0",
        "rawPath": kwargs.get("path", "/token"),
        "rawQueryString": "",
        "headers": {"content-type": content_type},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {
            "http": {"method": kwargs.get("method", "POST"), "path": "/token"},
            "requestId": "url-req-1",
            "authorizer": {"iam": iam} if iam else None,
        },
    }


def runtime(doc: Mapping[str, Any] | str, secrets_client: Any, **idp_kwargs: Any) -> Runtime:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    return Runtime(
        BrokerConfigSource({"BROKER_CONFIG": text}),
        SecretStore(secrets_client),
        IdpClient(**idp_kwargs),
    )


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def error(self) -> str | None:
        value = self.body.get("error")
        return value if isinstance(value, str) else None


def call(state: Runtime, event: Mapping[str, Any]) -> Answer:
    response = handle(state, dict(event))
    return Answer(response["statusCode"], response["headers"], json.loads(response["body"]))


def put_secret(client: Any, name: str, value: Mapping[str, Any]) -> str:
    """Create the secret (or a new AWSCURRENT version of it); returns the version id."""
    try:
        answer = client.create_secret(Name=name, SecretString=json.dumps(value))
    except client.exceptions.ResourceExistsException:
        answer = client.put_secret_value(SecretId=name, SecretString=json.dumps(value))
    return str(answer["VersionId"])
