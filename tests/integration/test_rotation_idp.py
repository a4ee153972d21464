"""Rotation at each identity provider, end to end against the real test IdP.

The IdP's provider-shaped admin APIs (Okta, Microsoft Graph, Keycloak, Auth0) change the
secrets its real token endpoint accepts, so a rotated secret is proven the way the broker
will use it. Secrets Manager is moto's; the rotation function and the broker are ours,
unchanged. Cognito's adapter is tested with the Stubber (tests/unit), as moto lacks it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.rotation import rotate, run, stages, start_rotation, value
from tests.support.serving import serving
from token_broker.config import BrokerConfigSource
from token_broker.rotation.errors import ProviderError, RotationError, SecretNotAccepted
from token_broker.rotation.handler import Runtime
from tools.local.broker_harness import WORKER, WORKER_ROLE, call, rest_event, runtime
from tools.local.idp import (
    KEYCLOAK_REALM,
    MANAGEMENT_SCOPE,
    MANAGEMENT_SECRET,
    OKTA_API_TOKEN,
    ORDERS_API,
    IdentityProvider,
    TokenRequestError,
    default_clients,
    default_resources,
    management_client,
)

PROVIDERS = ("okta", "entra", "keycloak", "auth0")
TWO_SECRET = ("okta", "entra", "keycloak")
SCOPES = "orders:read orders:write"


def client_id(provider: str) -> str:
    return f"{provider}-app"


def secret_name(provider: str) -> str:
    return f"scopegate/{provider}-app"


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    clients: list[dict[str, Any]] = list(default_clients())
    clients += [
        {
            "client_id": client_id(p),
            "client_secret": f"sg-test-{p}-initial-Q8wL2mX5vR9t",
            "scope": SCOPES,
            # Auth0-style apps often post their secret; the others use Basic.
            "token_endpoint_auth_method": "client_secret_post"
            if p == "auth0"
            else "client_secret_basic",
        }
        for p in PROVIDERS
    ]
    clients.append(management_client(auth="client_secret_post"))
    with serving(IdentityProvider(clients, default_resources())) as provider:
        yield provider


@pytest.fixture
def secrets(idp: IdentityProvider) -> Iterator[Any]:
    idp.reset_secrets()
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        for provider in PROVIDERS:
            client.create_secret(
                Name=f"scopegate/{provider}-admin",
                SecretString=json.dumps(management(idp, provider)),
            )
            client.create_secret(
                Name=secret_name(provider),
                SecretString=json.dumps(
                    {
                        "client_id": client_id(provider),
                        "client_secret": idp.client_secret(client_id(provider)),
                        "provider": provider,
                        "management_secret": f"scopegate/{provider}-admin",
                    }
                ),
            )
        yield client
    idp.reset_secrets()


def management(idp: IdentityProvider, provider: str) -> dict[str, str]:
    """Management credentials as docs/rotation.md documents them, pointed at the test IdP."""
    admin = {"client_id": "admin-api", "client_secret": MANAGEMENT_SECRET}
    if provider == "okta":
        return {"org_url": idp.issuer, "api_token": OKTA_API_TOKEN}
    if provider == "entra":
        tenant = "contoso.onmicrosoft.com"
        return admin | {
            "tenant_id": tenant,
            "graph_url": f"{idp.issuer}/v1.0",
            "token_url": f"{idp.issuer}/{tenant}/oauth2/v2.0/token",
        }
    if provider == "keycloak":
        return admin | {"base_url": idp.issuer, "realm": KEYCLOAK_REALM}
    return admin | {"base_url": idp.issuer, "scope": MANAGEMENT_SCOPE}


def broker_config(idp: IdentityProvider) -> dict[str, Any]:
    return {
        "clients": {
            p: {
                "secret": secret_name(p),
                "token_endpoint": idp.token_endpoint,
                "resource": ORDERS_API,
                "auth_method": "client_secret_post" if p == "auth0" else "client_secret_basic",
            }
            for p in PROVIDERS
        },
        "grants": [
            {"principal": WORKER_ROLE, "client": p, "scopes": SCOPES.split()} for p in PROVIDERS
        ],
        # Above the IdP's 300 s token lifetime: no token is reused, every request reaches
        # the token endpoint with the broker's secret.
        "min_remaining_seconds": 3600,
    }


def rotation(idp: IdentityProvider, secrets: Any, **kwargs: Any) -> Runtime:
    source = BrokerConfigSource({"BROKER_CONFIG": json.dumps(broker_config(idp))})
    kwargs.setdefault("test_budget", 10.0)
    return Runtime(secrets, source=source, **kwargs)


def works(idp: IdentityProvider, provider: str, secret: str) -> bool:
    auth = "client_secret_post" if provider == "auth0" else "client_secret_basic"
    try:
        idp.token_response(client_id(provider), secret, scope="orders:read", auth=auth)
    except TokenRequestError as err:
        refused = err
    else:
        return True
    assert refused.error == "invalid_client", refused.body
    return False


def live_hashes(idp: IdentityProvider, provider: str) -> set[str]:
    return {s["sha256"] for s in idp.secrets(client_id(provider)) if s["status"] == "ACTIVE"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def untouched(idp: IdentityProvider, provider: str) -> set[str]:
    """Secrets rotation leaves alone: Entra apps may hold passwords scopegate did not
    create (here the original one, which has no secret_id), and those are never deleted."""
    return {sha256(idp.client_secret(client_id(provider)))} if provider == "entra" else set()


# --- one rotation at each provider -----------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rotation_makes_a_new_secret_the_token_endpoint_accepts(
    idp: IdentityProvider, secrets: Any, provider: str
) -> None:
    old = value(secrets, secret_name(provider))
    token = rotate(rotation(idp, secrets), secrets, secret_name(provider))

    new = value(secrets, secret_name(provider))
    assert new["client_secret"] != old["client_secret"]
    assert new["secret_id"]
    assert stages(secrets, secret_name(provider))[token] == ["AWSCURRENT"]
    assert works(idp, provider, new["client_secret"])
    # Two-secret providers keep the old one live until the next rotation; Auth0 cannot.
    assert works(idp, provider, old["client_secret"]) is (provider in TWO_SECRET)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_three_rotations_leave_only_the_current_and_previous_secrets_live(
    idp: IdentityProvider, secrets: Any, provider: str
) -> None:
    state = rotation(idp, secrets)
    seen = [value(secrets, secret_name(provider))["client_secret"]]
    for _ in range(3):
        rotate(state, secrets, secret_name(provider))
        seen.append(value(secrets, secret_name(provider))["client_secret"])

    expected = seen[-2:] if provider in TWO_SECRET else seen[-1:]
    assert live_hashes(idp, provider) == {sha256(s) for s in expected} | untouched(idp, provider)
    assert [works(idp, provider, s) for s in seen[1:]] == [s in expected for s in seen[1:]]


@pytest.mark.parametrize("provider", TWO_SECRET)
def test_revoke_at_finish_leaves_only_the_new_secret_live(
    idp: IdentityProvider, secrets: Any, provider: str
) -> None:
    state = rotation(idp, secrets, revoke_previous=True)
    original = value(secrets, secret_name(provider))["client_secret"]
    # The original secret has no secret_id: the first rotation cannot tell it and leaves it.
    rotate(state, secrets, secret_name(provider))
    first = value(secrets, secret_name(provider))["client_secret"]
    assert works(idp, provider, original)
    rotate(state, secrets, secret_name(provider))
    new = value(secrets, secret_name(provider))["client_secret"]
    assert live_hashes(idp, provider) == {sha256(new)} | untouched(idp, provider)
    assert not works(idp, provider, first)


def test_an_interrupted_auth0_create_adopts_the_secret_it_made_instead_of_losing_it(
    idp: IdentityProvider, secrets: Any
) -> None:
    """rotate-secret kills the old secret at once; if staging then fails, the re-run must
    stage the secret Auth0 now has rather than rotate again."""
    state = rotation(idp, secrets)
    token = start_rotation(secrets, secret_name("auth0"))
    real_put = secrets.put_secret_value

    def failing_put(**kwargs: Any) -> Any:
        raise RuntimeError("Secrets Manager is down")

    secrets.put_secret_value = failing_put
    with pytest.raises(RotationError, match="put_secret_value"):
        run(state, secrets, secret_name("auth0"), token, "createSecret")
    secrets.put_secret_value = real_put
    (made,) = live_hashes(idp, "auth0")

    rotate_rest = ("createSecret", "setSecret", "testSecret", "finishSecret")
    for step in rotate_rest:
        run(state, secrets, secret_name("auth0"), token, step)
    current = value(secrets, secret_name("auth0"))["client_secret"]
    assert sha256(current) == made
    assert works(idp, "auth0", current)


# --- testSecret --------------------------------------------------------------------------------


def test_test_secret_retries_until_a_slow_provider_accepts_the_new_secret(
    idp: IdentityProvider, secrets: Any
) -> None:
    idp.set_secret_propagation(1500)  # Auth0 documents up to 30 s
    state = rotation(idp, secrets)
    token = start_rotation(secrets, secret_name("auth0"))
    for step in ("createSecret", "setSecret"):
        run(state, secrets, secret_name("auth0"), token, step)
    outcome = run(state, secrets, secret_name("auth0"), token, "testSecret")
    attempts = int(outcome.rsplit("attempt ", 1)[1].rstrip(")"))
    assert attempts >= 2
    run(state, secrets, secret_name("auth0"), token, "finishSecret")
    assert works(idp, "auth0", value(secrets, secret_name("auth0"))["client_secret"])


def test_a_secret_never_accepted_fails_test_and_leaves_current_untouched(
    idp: IdentityProvider, secrets: Any
) -> None:
    idp.set_secret_propagation(60_000)
    state = rotation(idp, secrets, test_budget=2.0)
    before = value(secrets, secret_name("okta"))
    token = start_rotation(secrets, secret_name("okta"))
    for step in ("createSecret", "setSecret"):
        run(state, secrets, secret_name("okta"), token, step)
    with pytest.raises(SecretNotAccepted):
        run(state, secrets, secret_name("okta"), token, "testSecret")
    assert value(secrets, secret_name("okta")) == before
    assert works(idp, "okta", before["client_secret"])


# --- management credentials ---------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_management_credentials_fail_create_and_change_nothing(
    idp: IdentityProvider, secrets: Any, provider: str
) -> None:
    wrong = management(idp, provider)
    key = "api_token" if provider == "okta" else "client_secret"
    wrong[key] = "not-the-right-one-0000000000"
    secrets.put_secret_value(SecretId=f"scopegate/{provider}-admin", SecretString=json.dumps(wrong))
    before = live_hashes(idp, provider)
    token = start_rotation(secrets, secret_name(provider))
    with pytest.raises(ProviderError) as raised:
        run(rotation(idp, secrets), secrets, secret_name(provider), token, "createSecret")
    assert "401" in str(raised.value) or raised.value.reason == "management_auth"
    assert wrong[key] not in str(raised.value)
    assert live_hashes(idp, provider) == before


# --- zero downtime -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["okta", "auth0"])
def test_the_broker_serves_every_request_while_three_rotations_run(
    idp: IdentityProvider, secrets: Any, provider: str
) -> None:
    """Every request reaches the IdP with the broker's cached secret (held 300 s, as in
    production); rotations replace it under the broker's feet."""
    broker = runtime(broker_config(idp), secrets)
    state = rotation(idp, secrets)
    idp.reset_stats()  # empties the token log
    statuses: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            answer = call(broker, rest_event(WORKER, f"client={provider}&scope=orders:read"))
            statuses.append(answer.status)

    thread = threading.Thread(target=traffic)
    thread.start()
    try:
        seen = [value(secrets, secret_name(provider))["client_secret"]]
        for _ in range(3):
            time.sleep(0.3)
            rotate(state, secrets, secret_name(provider))
            seen.append(value(secrets, secret_name(provider))["client_secret"])
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join()

    failures = [s for s in statuses if s != 200]
    # The broker's secret really died under it (and it recovered through the staged versions).
    refused = [
        entry
        for entry in idp.token_log()
        if entry["client_id"] == client_id(provider) and entry["status"] == 401
    ]
    print(
        f"\nzero downtime ({provider}): {len(statuses)} requests, {len(failures)} failed, "
        f"{len(refused)} refused secrets recovered"
    )
    assert len(statuses) > 20
    assert failures == []
    assert refused
    expected = seen[-2:] if provider in TWO_SECRET else seen[-1:]
    assert live_hashes(idp, provider) == {sha256(s) for s in expected} | untouched(idp, provider)
