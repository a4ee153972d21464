"""The demo world the local stack serves: tasks, upstream clients, routes and the backend.

Three ECS task roles, each granted one upstream client of the test identity provider:

    task role       broker client     IdP client   scopes it may ask for
    orders-worker   orders-writer     writer       orders:read orders:write
    reporting       orders-reader     reader       orders:read
    ops-console     orders-admin      admin        admin ops

The client secrets sit in Secrets Manager as docs/broker.md documents them, with the Okta
management API of the test IdP named for rotation, so RotateSecret (with the function's
ARN) against the local stack really replaces the secret at the identity provider. The
authorizer's routes are tools/demo-config.yaml's; the API has one more route,
``GET /reports``, that the config does not mention, so every token is refused there.

The same world can stand at each identity provider users run (``make run
PROVIDER=entra``): provider_worlds.py says how it looks there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from botocore.credentials import Credentials

from tools.local.idp import (
    OKTA_API_TOKEN,
    ORDERS_API,
    IdentityProvider,
    default_clients,
    default_resources,
)
from tools.local.provider_worlds import (
    AUTH0_API,
    ENTRA_API_APP_ID,
    secret_of,
    tenant,
    world_at,
)
from tools.local.sigv4 import SecretEntry

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
AUTHORIZER_PARAMETER = "/scopegate/local/authorizer-config"
BROKER_PARAMETER = "/scopegate/local/broker-config"
MANAGEMENT_SECRET = "scopegate/local/okta-admin"
# Broker client -> (its secret in Secrets Manager, the IdP client it holds, granted role, scopes)
UPSTREAM: dict[str, tuple[str, str, str, list[str]]] = {
    "orders-writer": (
        "scopegate/local/orders-writer",
        "writer",
        "orders-worker",
        ["orders:read", "orders:write"],
    ),
    "orders-reader": ("scopegate/local/orders-reader", "reader", "reporting", ["orders:read"]),
    "orders-admin": ("scopegate/local/orders-admin", "admin", "ops-console", ["admin", "ops"]),
}
EXTRA_ROUTES = ["GET /reports"]  # on the API, in no rule of the authorizer config


@dataclass(frozen=True, slots=True)
class Task:
    """An ECS task: its task role, its id (the role session name) and made-up role keys."""

    role: str
    session: str
    access_key: str

    @property
    def arn(self) -> str:
        """The caller ARN that IAM reports for this task's signed requests."""
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.role}/{self.session}"

    @property
    def secret_key(self) -> str:
        return f"local-demo-secret-for-{self.access_key}"

    @property
    def session_token(self) -> str:
        return f"local-demo-session-for-{self.access_key}"

    @property
    def identity(self) -> SecretEntry:
        """What IAM knows about the keys (the gateway's side of SigV4)."""
        return SecretEntry(self.secret_key, self.arn, self.session_token)

    def credentials(self) -> Credentials:
        return Credentials(self.access_key, self.secret_key, self.session_token)


TASKS = {
    "worker": Task("orders-worker", "task-1", "ASIALOCALWORKER1"),
    "worker-2": Task("orders-worker", "task-2", "ASIALOCALWORKER2"),
    "reporting": Task("reporting", "task-42", "ASIALOCALREPORTING"),
    "ops": Task("ops-console", "task-7", "ASIALOCALOPSCONSOLE"),
    "stranger": Task("stranger", "task-9", "ASIALOCALSTRANGER"),  # signs fine, has no grant
}


def identity_provider(token_ttl: int = 300, *providers: str) -> IdentityProvider:
    """The test IdP with the demo clients, at the generic issuer and at each provider's
    tenant (one IdP can serve several worlds); tokens live ``token_ttl`` seconds."""
    grants = {client: scopes for client, (_, _, _, scopes) in UPSTREAM.items()}
    clients: list[dict[str, str]] = list(default_clients())
    tenants: dict[str, dict[str, Any]] = {}
    for provider in providers:
        if provider == "generic":
            continue
        at = world_at(provider)
        tenants[provider] = tenant(provider, token_ttl)
        scopes = {
            client_id: at.scope(" ".join(grants[name])) for name, client_id in at.clients.items()
        }
        scopes[at.outsider] = at.scope("orders:read") + " invoices:read"
        clients += [
            {
                "client_id": client_id,
                "client_secret": secret_of(client_id),
                "scope": scope,
                "token_endpoint_auth_method": "client_secret_basic",
                "tenant": provider,
            }
            for client_id, scope in scopes.items()
        ]
    return IdentityProvider(clients, default_resources(ttl=token_ttl), tenants=tenants)


def issuer_of(idp: IdentityProvider, provider: str = "generic") -> str:
    return idp.issuer if provider == "generic" else idp.tenant(provider)["issuer"]


def authorizer_config(idp: IdentityProvider, provider: str = "generic") -> dict[str, Any]:
    """tools/demo-config.yaml, with the running IdP (or its provider tenant) as its issuer."""
    text = (ROOT / "tools" / "demo-config.yaml").read_text(encoding="utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    doc["issuers"][0]["issuer"] = issuer_of(idp, provider)
    if provider == "generic":
        return doc
    world = world_at(provider)
    entry: dict[str, Any] = {"issuer": issuer_of(idp, provider), "provider": provider}
    listed = sorted(world.clients.values())
    entry |= {
        "cognito": {"client_ids": listed},
        "entra": {"audiences": [ENTRA_API_APP_ID], "token_types": ["JWT"]},
        "okta": {"audiences": [ORDERS_API], "client_ids": listed},
        "auth0": {"audiences": [AUTH0_API]},
        "keycloak": {"client_ids": listed},
    }[provider]
    doc["issuers"] = [entry]
    for route in doc["routes"]:
        for key in ("scopes", "all_scopes"):
            if key in route:
                route[key] = [world.scope(s) for s in route[key]]
    doc["context_claims"] = ["sub", world.client_claim, *world.scope_claims]
    return doc


def api_routes(config: dict[str, Any]) -> list[str]:
    """The API's routes: every HTTP route of the config, then EXTRA_ROUTES."""
    routes = [str(r["route"]) for r in config["routes"] if " " in str(r["route"])]
    return routes + EXTRA_ROUTES


def broker_config(
    idp: IdentityProvider,
    min_remaining: int | None = None,
    provider: str = "generic",
    shared_cache: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The broker document (docs/broker.md, "Configuration"): one grant per task role, and
    with ``shared_cache`` (table, KMS key) the fleet's token table."""
    world = world_at(provider)
    client: dict[str, Any] = {"issuer": issuer_of(idp, provider), "resource": ORDERS_API}
    if provider != "generic":
        client = {"issuer": issuer_of(idp, provider), "provider": provider}
        client |= {
            "entra": {"resource": ORDERS_API},  # asked for as api://orders/.default
            "auth0": {"audience": AUTH0_API},
        }.get(provider, {})
    doc: dict[str, Any] = {
        "clients": {
            name: {"secret": secret, **client} for name, (secret, _, _, _) in UPSTREAM.items()
        },
        "grants": [
            {
                "principal": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "client": name,
                "scopes": [world.scope(s) for s in scopes],
            }
            for name, (_, _, role, scopes) in UPSTREAM.items()
        ],
    }
    if min_remaining is not None:
        doc["min_remaining_seconds"] = min_remaining
    if shared_cache is not None:
        doc["shared_cache"] = {"table": shared_cache[0], "kms_key": shared_cache[1]}
    return doc


def client_secrets(idp: IdentityProvider, provider: str = "generic") -> dict[str, str]:
    """Secret name -> SecretString for every secret the stack seeds. The default world's
    secrets name the IdP's Okta API for rotation; the provider worlds' hold the client
    credentials only (rotation is shown with the default world)."""
    if provider != "generic":
        world = world_at(provider)
        return {
            secret: json.dumps(
                {"client_id": world.clients[name], "client_secret": secret_of(world.clients[name])}
            )
            for name, (secret, _, _, _) in UPSTREAM.items()
        }
    values = {
        MANAGEMENT_SECRET: {"org_url": idp.issuer, "api_token": OKTA_API_TOKEN},
    } | {
        secret: {
            "client_id": client_id,
            "client_secret": idp.client_secret(client_id),
            "provider": "okta",
            "management_secret": MANAGEMENT_SECRET,
        }
        for secret, client_id, _, _ in UPSTREAM.values()
    }
    return {name: json.dumps(value) for name, value in values.items()}


def backend(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The demo API behind the authorizer: echoes the route and who the authorizer let in.

    Reads the authorizer's context where API Gateway puts it for each payload version.
    """
    request_context = event.get("requestContext") or {}
    authorizer = request_context.get("authorizer") or {}
    if event.get("version") == "2.0":
        route = event.get("routeKey")
        granted = authorizer.get("lambda") or {}
    else:
        route = f"{event.get('httpMethod')} {event.get('resource')}"
        granted = {k: v for k, v in authorizer.items() if k != "integrationLatency"}
    body = {"message": "hello from the orders API", "route": route, "authorizer": granted}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
