"""The test identity provider's provider-shaped admin APIs (Okta, Entra ID, Keycloak, Auth0).

Every secret an admin call creates, deactivates or removes is judged by the real token
endpoint (oidc-provider behind the IdP's front), which is what the rotation adapters rely on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.serving import serving
from tools.local.idp import (
    KEYCLOAK_REALM,
    MANAGEMENT_SCOPE,
    MANAGEMENT_SECRET,
    OKTA_API_TOKEN,
    IdentityProvider,
    IdentityProviderError,
    default_clients,
    default_resources,
    management_client,
)

pytestmark = pytest.mark.integration

ROTATING_SECRET = "sg-test-rotating-Jx4pW8nE2cQ6"
POSTING_SECRET = "sg-test-posting-Lb7tR3mK9vZ5"
ADMIN_POST_SECRET = "sg-test-admin-post-Fh6yT1qN4wS8"
SSWS = f"SSWS {OKTA_API_TOKEN}"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NO_CLIENT = "00000000-0000-4000-8000-000000000000"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str
    json: Any = field(default=None)


def _send(
    url: str, method: str, data: bytes | None, headers: dict[str, str], timeout: float = 10.0
) -> Answer:
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, raw_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        status, raw_headers, raw = err.code, err.headers, err.read()
    text = raw.decode()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return Answer(status, {k.lower(): v for k, v in raw_headers.items()}, text, parsed)


def call(
    idp: IdentityProvider,
    method: str,
    path: str,
    auth: str | None,
    body: dict[str, Any] | None = None,
) -> Answer:
    """An admin API request; ``auth`` is the whole Authorization header (None: none)."""
    headers = {"accept": "application/json"}
    if auth is not None:
        headers["authorization"] = auth
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    elif method == "POST":
        data = b""
    return _send(idp.issuer + path, method, data, headers)


def post_token(
    idp: IdentityProvider,
    client_id: str,
    secret: str,
    *,
    auth: str = "client_secret_basic",
    path: str = "/token",
    **params: str,
) -> Answer:
    """A client credentials grant by hand, at /token or one of its aliases."""
    form = {"grant_type": "client_credentials", **params}
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if auth == "client_secret_basic":
        pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}"
        headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form |= {"client_id": client_id, "client_secret": secret}
    return _send(idp.issuer + path, "POST", urllib.parse.urlencode(form).encode(), headers)


def works(
    idp: IdentityProvider, client_id: str, secret: str, auth: str = "client_secret_basic"
) -> bool:
    """True if the token endpoint issues a token for this secret; False if it refuses the
    client with 401 invalid_client (anything else fails the test)."""
    answer = post_token(idp, client_id, secret, auth=auth)
    if answer.status == 200:
        assert answer.json["access_token"]
        return True
    assert (answer.status, answer.json["error"]) == (401, "invalid_client"), answer.text
    return False


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def token_scopes(token: str) -> list[str]:
    claims = jwt.decode(token, options={"verify_signature": False})
    return str(claims.get("scope", "")).split()


@pytest.fixture(scope="module")
def shared_idp() -> Iterator[IdentityProvider]:
    """One IdP for the module: the default clients, a management client and two clients
    to rotate (one per secret method)."""
    clients: list[dict[str, Any]] = [
        *default_clients(),
        management_client(),
        management_client("admin-post", ADMIN_POST_SECRET, auth="client_secret_post"),
        {
            "client_id": "rotating",
            "client_secret": ROTATING_SECRET,
            "scope": "orders:read",
            "token_endpoint_auth_method": "client_secret_basic",
        },
        {
            "client_id": "posting",
            "client_secret": POSTING_SECRET,
            "scope": "orders:read",
            "token_endpoint_auth_method": "client_secret_post",
        },
    ]
    with serving(IdentityProvider(clients, default_resources())) as provider:
        yield provider


@pytest.fixture
def admin_idp(shared_idp: IdentityProvider) -> Iterator[IdentityProvider]:
    """shared_idp with only the configured secrets, no propagation delay, no faults and an
    empty token log."""
    shared_idp.reset_secrets()
    shared_idp.clear_faults()
    shared_idp.reset_stats()
    try:
        yield shared_idp
    finally:
        shared_idp.reset_secrets()


@pytest.fixture
def bearer(admin_idp: IdentityProvider) -> str:
    """An Authorization header with a management token from the normal token endpoint."""
    token = admin_idp.token("admin-api", MANAGEMENT_SECRET, scope=MANAGEMENT_SCOPE)
    return f"Bearer {token}"


def okta_secrets(appid: str, *rest: str) -> str:
    return "/".join(
        [f"/api/v1/apps/{urllib.parse.quote(appid, safe='')}/credentials/secrets", *rest]
    )


def keycloak_uuid(idp: IdentityProvider, bearer: str, client_id: str) -> str:
    path = f"/admin/realms/{KEYCLOAK_REALM}/clients?clientId={urllib.parse.quote(client_id)}"
    found = call(idp, "GET", path, bearer)
    assert found.status == 200, found.text
    [client] = found.json
    return str(client["id"])


def keycloak_secret(uuid: str, rotated: bool = False) -> str:
    suffix = "/rotated" if rotated else ""
    return f"/admin/realms/{KEYCLOAK_REALM}/clients/{uuid}/client-secret{suffix}"


def without_error_id(body: dict[str, Any]) -> dict[str, Any]:
    assert re.fullmatch(r"oae[A-Za-z0-9]{22}", body["errorId"])
    return {key: value for key, value in body.items() if key != "errorId"}


def okta_400(cause: str) -> dict[str, Any]:
    return {
        "errorCode": "E0000001",
        "errorSummary": "Api validation failed: client_secret",
        "errorLink": "E0000001",
        "errorCauses": [{"errorSummary": cause}],
    }


# -- the secret list and its test-only view -------------------------------------------------


def test_each_secret_client_starts_with_its_configured_secret(admin_idp: IdentityProvider) -> None:
    [initial] = admin_idp.secrets("rotating")

    assert set(initial) == {"id", "status", "created", "expires", "sha256"}
    assert initial["id"] == "initial"
    assert initial["status"] == "ACTIVE"
    assert initial["expires"] is None
    assert initial["sha256"] == sha256_hex(ROTATING_SECRET)
    assert parse_time(initial["created"]).tzinfo is not None
    assert admin_idp.client_secret("rotating") == ROTATING_SECRET
    assert works(admin_idp, "rotating", ROTATING_SECRET)
    assert works(admin_idp, "posting", POSTING_SECRET, auth="client_secret_post")
    assert not works(admin_idp, "rotating", "sg-test-not-a-secret-of-it")
    with pytest.raises(IdentityProviderError, match="404"):
        admin_idp.secrets("nobody")


def test_no_secret_value_reaches_the_view_the_token_log_or_the_output(
    admin_idp: IdentityProvider, bearer: str
) -> None:
    created = call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {})
    added = call(admin_idp, "POST", "/v1.0/applications(appId='writer')/addPassword", bearer, {})
    regenerated = call(
        admin_idp, "POST", keycloak_secret(keycloak_uuid(admin_idp, bearer, "ws")), bearer
    )
    rotated = call(admin_idp, "POST", "/api/v2/clients/posting/rotate-secret", bearer)
    values = [
        created.json["client_secret"],
        added.json["secretText"],
        regenerated.json["value"],
        rotated.json["client_secret"],
    ]
    assert works(admin_idp, "rotating", values[0])
    assert works(admin_idp, "writer", values[1])
    assert works(admin_idp, "ws", values[2])
    assert works(admin_idp, "posting", values[3], auth="client_secret_post")
    assert not works(admin_idp, "rotating", "sg-test-not-a-secret-of-it")

    views = {
        client_id: admin_idp.secrets(client_id)
        for client_id in ("rotating", "writer", "ws", "posting")
    }
    assert [entry["sha256"] for entry in views["rotating"]] == [
        sha256_hex(ROTATING_SECRET),
        sha256_hex(values[0]),
    ]
    assert views["posting"][0]["sha256"] == sha256_hex(values[3])
    seen = json.dumps(views) + json.dumps(admin_idp.token_log()) + admin_idp.output()
    configured = [ROTATING_SECRET, POSTING_SECRET, admin_idp.client_secret("ws"), MANAGEMENT_SECRET]
    for value in [*values, *configured]:
        assert value not in seen
        assert urllib.parse.quote_plus(value) not in seen


def test_secret_changes_keep_the_signing_keys_and_key_rotation_keeps_the_secrets(
    admin_idp: IdentityProvider, bearer: str
) -> None:
    kids = {key["kid"] for key in admin_idp.jwks()["keys"]}
    created = call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {}).json["client_secret"]

    assert {key["kid"] for key in admin_idp.jwks()["keys"]} == kids
    # A management token issued before the provider was rebuilt is still good.
    assert call(admin_idp, "GET", "/api/v2/clients/rotating", bearer).status == 200
    admin_idp.rotate_keys(keep_old=True)
    assert works(admin_idp, "rotating", created)
    assert works(admin_idp, "rotating", ROTATING_SECRET)


# -- Okta ----------------------------------------------------------------------------------


def test_okta_created_secret_gets_a_token_and_the_old_one_still_does(
    admin_idp: IdentityProvider,
) -> None:
    created = call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {})

    assert created.status == 200, created.text
    secret = created.json
    fields = "id status client_secret secret_hash created lastUpdated _links"
    assert set(secret) == set(fields.split())
    assert re.fullmatch(r"ocs[A-Za-z0-9]{17}", secret["id"])
    assert secret["status"] == "ACTIVE"
    value = secret["client_secret"]
    assert len(value) >= 32
    digest = base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest()).rstrip(b"=")
    assert secret["secret_hash"] == digest.decode()
    assert works(admin_idp, "rotating", value)
    assert works(admin_idp, "rotating", ROTATING_SECRET)

    listed = call(admin_idp, "GET", okta_secrets("rotating"), SSWS)
    assert listed.status == 200
    assert [entry["id"] for entry in listed.json] == ["initial", secret["id"]]
    for entry, full in zip(listed.json, (ROTATING_SECRET, value), strict=True):
        assert entry["client_secret"] == full[:4] + "*" * (len(full) - 4)
    assert value not in listed.text
    one = call(admin_idp, "GET", okta_secrets("rotating", secret["id"]), SSWS)
    assert one.json == listed.json[1]
    assert [entry["id"] for entry in admin_idp.secrets("rotating")] == ["initial", secret["id"]]


def test_okta_secret_of_the_callers_choice_is_form_decoded_from_basic(
    admin_idp: IdentityProvider,
) -> None:
    chosen = "rot:ate+me/%&= x9~"
    created = call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {"client_secret": chosen})

    assert (created.status, created.json["client_secret"]) == (200, chosen)
    assert works(admin_idp, "rotating", chosen)
    assert not works(admin_idp, "rotating", chosen.replace("+", " "))
    short = call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {"client_secret": "too-short"})
    assert short.status == 400
    assert short.json["errorCode"] == "E0000001"


def test_okta_post_client_rotates_and_keeps_its_method(admin_idp: IdentityProvider) -> None:
    value = call(admin_idp, "POST", okta_secrets("posting"), SSWS, {}).json["client_secret"]

    assert works(admin_idp, "posting", value, auth="client_secret_post")
    assert works(admin_idp, "posting", POSTING_SECRET, auth="client_secret_post")
    assert not works(admin_idp, "posting", value, auth="client_secret_basic")


def test_okta_allows_two_secrets_per_app(admin_idp: IdentityProvider) -> None:
    assert call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {}).status == 200
    third = call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {})

    assert third.status == 400
    assert without_error_id(third.json) == okta_400(
        "You can't have more than two client secrets per application."
    )
    assert len(admin_idp.secrets("rotating")) == 2


def test_okta_deactivated_secret_is_refused_like_a_wrong_method(
    admin_idp: IdentityProvider,
) -> None:
    value = call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {}).json["client_secret"]
    deactivated = call(
        admin_idp, "POST", okta_secrets("rotating", "initial", "lifecycle", "deactivate"), SSWS
    )

    assert deactivated.status == 200
    assert (deactivated.json["id"], deactivated.json["status"]) == ("initial", "INACTIVE")
    assert ROTATING_SECRET not in deactivated.text
    refused = post_token(admin_idp, "rotating", ROTATING_SECRET)
    wrong_method = post_token(admin_idp, "posting", POSTING_SECRET)  # basic, registered post
    assert refused.status == wrong_method.status == 401
    assert (
        refused.json
        == wrong_method.json
        == {
            "error": "invalid_client",
            "error_description": "client authentication failed",
        }
    )
    for name in ("content-type", "cache-control", "www-authenticate"):
        assert refused.headers[name] == wrong_method.headers[name]
    assert works(admin_idp, "rotating", value)
    assert [entry["status"] for entry in admin_idp.secrets("rotating")] == ["INACTIVE", "ACTIVE"]

    activated = call(
        admin_idp, "POST", okta_secrets("rotating", "initial", "lifecycle", "activate"), SSWS
    )
    assert (activated.status, activated.json["status"]) == (200, "ACTIVE")
    assert works(admin_idp, "rotating", ROTATING_SECRET)


def test_okta_keeps_one_active_secret_and_deletes_only_inactive_ones(
    admin_idp: IdentityProvider,
) -> None:
    last = call(
        admin_idp, "POST", okta_secrets("rotating", "initial", "lifecycle", "deactivate"), SSWS
    )
    assert last.status == 400
    assert without_error_id(last.json) == okta_400(
        "You can't deactivate the last active client secret."
    )
    active = call(admin_idp, "DELETE", okta_secrets("rotating", "initial"), SSWS)
    assert active.status == 400
    assert without_error_id(active.json) == okta_400(
        "You can't delete an active client secret. Deactivate it first."
    )
    assert works(admin_idp, "rotating", ROTATING_SECRET)

    value = call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {}).json["client_secret"]
    call(admin_idp, "POST", okta_secrets("rotating", "initial", "lifecycle", "deactivate"), SSWS)
    deleted = call(admin_idp, "DELETE", okta_secrets("rotating", "initial"), SSWS)

    assert (deleted.status, deleted.text) == (204, "")
    assert [
        entry["id"] for entry in call(admin_idp, "GET", okta_secrets("rotating"), SSWS).json
    ] == [admin_idp.secrets("rotating")[0]["id"]]
    assert not works(admin_idp, "rotating", ROTATING_SECRET)
    assert works(admin_idp, "rotating", value)
    # Room for a second secret again.
    assert call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {}).status == 200


def test_concurrent_okta_creates_respect_the_two_secret_limit(
    admin_idp: IdentityProvider,
) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda _: call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {}), range(4)
            )
        )

    assert sorted(answer.status for answer in answers) == [200, 400, 400, 400]
    [created] = [answer.json["client_secret"] for answer in answers if answer.status == 200]
    assert len(admin_idp.secrets("rotating")) == 2
    assert works(admin_idp, "rotating", created)
    assert works(admin_idp, "rotating", ROTATING_SECRET)


def test_okta_unknown_app_or_secret_is_404(admin_idp: IdentityProvider) -> None:
    app = call(admin_idp, "GET", okta_secrets("nobody"), SSWS)
    secret = call(admin_idp, "DELETE", okta_secrets("rotating", "ocsNOPE"), SSWS)

    assert app.status == secret.status == 404
    assert without_error_id(app.json) == {
        "errorCode": "E0000007",
        "errorSummary": "Not found: Resource not found: nobody (AppInstance)",
        "errorLink": "E0000007",
        "errorCauses": [],
    }
    assert secret.json["errorSummary"] == "Not found: Resource not found: ocsNOPE (ClientSecret)"


# -- Entra ID (Microsoft Graph) ------------------------------------------------------------


def test_entra_application_lists_its_password_credentials(
    admin_idp: IdentityProvider, bearer: str
) -> None:
    app = call(admin_idp, "GET", "/v1.0/applications(appId='rotating')?$select=id", bearer)

    assert app.status == 200, app.text
    assert UUID_RE.fullmatch(app.json["id"])
    assert (app.json["appId"], app.json["displayName"]) == ("rotating", "rotating")
    [credential] = app.json["passwordCredentials"]
    assert UUID_RE.fullmatch(credential["keyId"])
    assert credential["hint"] == ROTATING_SECRET[:3]
    assert credential["secretText"] is None
    assert credential["customKeyIdentifier"] is None
    assert ROTATING_SECRET not in app.text
    # The same application by object id, by filter and with escaped quotes.
    by_id = call(admin_idp, "GET", f"/v1.0/applications/{app.json['id']}", bearer)
    escaped = call(admin_idp, "GET", "/v1.0/applications(appId=%27rotating%27)", bearer)
    query = urllib.parse.urlencode({"$filter": "appId eq 'rotating'"})
    listed = call(admin_idp, "GET", f"/v1.0/applications?{query}", bearer)
    assert by_id.json == escaped.json == app.json
    assert listed.json["value"] == [app.json]


def test_entra_add_password_works_and_remove_password_kills_it(
    admin_idp: IdentityProvider, bearer: str
) -> None:
    base = "/v1.0/applications(appId='rotating')"
    added = call(
        admin_idp,
        "POST",
        f"{base}/addPassword",
        bearer,
        {"passwordCredential": {"displayName": "ci"}},
    )

    assert added.status == 200, added.text
    credential = added.json
    value = credential["secretText"]
    assert len(value) == 40
    assert credential["hint"] == value[:3]
    assert credential["displayName"] == "ci"
    assert UUID_RE.fullmatch(credential["keyId"])
    lifetime = parse_time(credential["endDateTime"]) - parse_time(credential["startDateTime"])
    assert timedelta(days=729) < lifetime < timedelta(days=732)
    assert works(admin_idp, "rotating", value)
    assert works(admin_idp, "rotating", ROTATING_SECRET)
    listed = call(admin_idp, "GET", base, bearer).json["passwordCredentials"]
    assert [c["keyId"] for c in listed][-1] == credential["keyId"]
    assert all(c["secretText"] is None for c in listed)

    removed = call(
        admin_idp, "POST", f"{base}/removePassword", bearer, {"keyId": credential["keyId"]}
    )
    assert (removed.status, removed.text) == (204, "")
    assert not works(admin_idp, "rotating", value)
    assert works(admin_idp, "rotating", ROTATING_SECRET)
    again = call(
        admin_idp, "POST", f"{base}/removePassword", bearer, {"keyId": credential["keyId"]}
    )
    assert again.status == 400
    assert again.json["error"]["code"] == "Request_BadRequest"
    assert again.json["error"]["message"].startswith("No password credential found with keyId")
    # The configured secret has a key id too, and can go.
    [initial] = call(admin_idp, "GET", base, bearer).json["passwordCredentials"]
    gone = call(admin_idp, "POST", f"{base}/removePassword", bearer, {"keyId": initial["keyId"]})
    assert gone.status == 204
    assert not works(admin_idp, "rotating", ROTATING_SECRET)
    assert call(admin_idp, "GET", base, bearer).json["passwordCredentials"] == []


def test_entra_password_past_its_end_date_is_refused(
    admin_idp: IdentityProvider, bearer: str
) -> None:
    base = "/v1.0/applications(appId='rotating')"
    end = datetime.now(UTC) + timedelta(seconds=1)
    added = call(
        admin_idp,
        "POST",
        f"{base}/addPassword",
        bearer,
        {"passwordCredential": {"endDateTime": end.isoformat()}},
    )
    assert added.status == 200, added.text
    value = added.json["secretText"]
    assert works(admin_idp, "rotating", value)

    time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 0.05)
    assert not works(admin_idp, "rotating", value)
    assert works(admin_idp, "rotating", ROTATING_SECRET)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    refused = call(
        admin_idp,
        "POST",
        f"{base}/addPassword",
        bearer,
        {"passwordCredential": {"endDateTime": past}},
    )
    assert (refused.status, refused.json["error"]["code"]) == (400, "Request_BadRequest")


def test_entra_unknown_application_is_404(admin_idp: IdentityProvider, bearer: str) -> None:
    missing = call(admin_idp, "GET", "/v1.0/applications(appId='nobody')", bearer)
    add = call(admin_idp, "POST", f"/v1.0/applications/{NO_CLIENT}/addPassword", bearer, {})

    assert missing.status == add.status == 404
    assert missing.json["error"]["code"] == "Request_ResourceNotFound"
    assert missing.json["error"]["message"].startswith("Resource 'nobody' does not exist")


# -- Keycloak ------------------------------------------------------------------------------


def test_keycloak_finds_clients_by_client_id(admin_idp: IdentityProvider, bearer: str) -> None:
    clients = f"/admin/realms/{KEYCLOAK_REALM}/clients"
    found = call(admin_idp, "GET", f"{clients}?clientId=rotating", bearer)

    assert found.status == 200
    [client] = found.json
    assert UUID_RE.fullmatch(client["id"])
    assert client == {
        "id": client["id"],
        "clientId": "rotating",
        "enabled": True,
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
    }
    assert call(admin_idp, "GET", f"{clients}?clientId=nobody", bearer).json == []
    assert call(admin_idp, "GET", f"{clients}/{client['id']}", bearer).json == client
    other = call(admin_idp, "GET", "/admin/realms/master/clients?clientId=rotating", bearer)
    assert (other.status, other.json) == (404, {"error": "Realm not found."})
    unknown = call(admin_idp, "GET", keycloak_secret(NO_CLIENT), bearer)
    assert (unknown.status, unknown.json) == (404, {"error": "Could not find client"})


def test_keycloak_regenerate_keeps_exactly_one_rotated_secret(
    admin_idp: IdentityProvider, bearer: str
) -> None:
    uuid = keycloak_uuid(admin_idp, bearer, "rotating")
    current = call(admin_idp, "GET", keycloak_secret(uuid), bearer)
    assert (current.status, current.json) == (200, {"type": "secret", "value": ROTATING_SECRET})
    none = call(admin_idp, "GET", keycloak_secret(uuid, rotated=True), bearer)
    assert (none.status, none.json) == (
        404,
        {"errorMessage": "Client does not have a rotated secret"},
    )

    first = call(admin_idp, "POST", keycloak_secret(uuid), bearer)
    assert first.status == 200
    assert first.json["type"] == "secret"
    first_value = first.json["value"]
    assert len(first_value) == 32
    assert works(admin_idp, "rotating", first_value)
    assert works(admin_idp, "rotating", ROTATING_SECRET)  # now the rotated one
    rotated = call(admin_idp, "GET", keycloak_secret(uuid, rotated=True), bearer)
    assert rotated.json == {"type": "secret", "value": ROTATING_SECRET}

    second_value = call(admin_idp, "POST", keycloak_secret(uuid), bearer).json["value"]
    assert not works(admin_idp, "rotating", ROTATING_SECRET)
    assert works(admin_idp, "rotating", first_value)
    assert works(admin_idp, "rotating", second_value)
    assert call(admin_idp, "GET", keycloak_secret(uuid), bearer).json["value"] == second_value
    rotated = call(admin_idp, "GET", keycloak_secret(uuid, rotated=True), bearer)
    assert rotated.json["value"] == first_value

    dropped = call(admin_idp, "DELETE", keycloak_secret(uuid, rotated=True), bearer)
    assert (dropped.status, dropped.text) == (204, "")
    assert not works(admin_idp, "rotating", first_value)
    assert works(admin_idp, "rotating", second_value)
    assert call(admin_idp, "GET", keycloak_secret(uuid, rotated=True), bearer).status == 404
    assert call(admin_idp, "DELETE", keycloak_secret(uuid, rotated=True), bearer).status == 204
    assert len(admin_idp.secrets("rotating")) == 1


# -- Auth0 ---------------------------------------------------------------------------------


def test_auth0_rotate_secret_replaces_the_old_one_at_once(
    admin_idp: IdentityProvider, bearer: str
) -> None:
    before = call(admin_idp, "GET", "/api/v2/clients/rotating", bearer)
    assert before.status == 200
    assert before.json == {
        "client_id": "rotating",
        "name": "rotating",
        "client_secret": ROTATING_SECRET,
        "token_endpoint_auth_method": "client_secret_basic",
        "app_type": "non_interactive",
    }

    rotated = call(admin_idp, "POST", "/api/v2/clients/rotating/rotate-secret", bearer)

    assert rotated.status == 200
    value = rotated.json["client_secret"]
    assert len(value) >= 32
    assert rotated.json == before.json | {"client_secret": value}
    assert not works(admin_idp, "rotating", ROTATING_SECRET)
    assert works(admin_idp, "rotating", value)
    assert call(admin_idp, "GET", "/api/v2/clients/rotating", bearer).json == rotated.json
    posting = call(admin_idp, "GET", "/api/v2/clients/posting", bearer).json
    assert posting["token_endpoint_auth_method"] == "client_secret_post"


def test_auth0_unknown_client_is_404(admin_idp: IdentityProvider, bearer: str) -> None:
    for method, path in (
        ("GET", "/api/v2/clients/nobody"),
        ("POST", "/api/v2/clients/nobody/rotate-secret"),
    ):
        missing = call(admin_idp, method, path, bearer)
        assert (missing.status, missing.json) == (
            404,
            {
                "statusCode": 404,
                "error": "Not Found",
                "message": "The client does not exist",
                "errorCode": "inexistent_client",
            },
        )


# -- propagation ---------------------------------------------------------------------------


def test_new_secret_works_only_after_the_propagation_delay(
    admin_idp: IdentityProvider, bearer: str
) -> None:
    admin_idp.set_secret_propagation(800)
    created = call(admin_idp, "POST", okta_secrets("rotating"), SSWS, {})
    ready_at = parse_time(created.json["created"]) + timedelta(milliseconds=800)

    assert not works(admin_idp, "rotating", created.json["client_secret"])
    assert works(admin_idp, "rotating", ROTATING_SECRET)  # older secrets are unaffected
    time.sleep(max(0.0, (ready_at - datetime.now(UTC)).total_seconds()) + 0.05)
    assert works(admin_idp, "rotating", created.json["client_secret"])

    admin_idp.set_secret_propagation(0)
    rotated = call(admin_idp, "POST", "/api/v2/clients/posting/rotate-secret", bearer)
    assert works(admin_idp, "posting", rotated.json["client_secret"], auth="client_secret_post")


# -- admin authentication ------------------------------------------------------------------

BEARER_ROUTES = [
    ("graph", "GET", "/v1.0/applications(appId='rotating')"),
    ("graph", "GET", "/v1.0/applications?$filter=appId%20eq%20'rotating'"),
    ("graph", "POST", "/v1.0/applications(appId='rotating')/addPassword"),
    ("graph", "POST", "/v1.0/applications(appId='rotating')/removePassword"),
    ("keycloak", "GET", f"/admin/realms/{KEYCLOAK_REALM}/clients?clientId=rotating"),
    ("keycloak", "GET", f"/admin/realms/{KEYCLOAK_REALM}/clients/{NO_CLIENT}"),
    ("keycloak", "GET", keycloak_secret(NO_CLIENT)),
    ("keycloak", "POST", keycloak_secret(NO_CLIENT)),
    ("keycloak", "GET", keycloak_secret(NO_CLIENT, rotated=True)),
    ("keycloak", "DELETE", keycloak_secret(NO_CLIENT, rotated=True)),
    ("auth0", "GET", "/api/v2/clients/rotating"),
    ("auth0", "POST", "/api/v2/clients/rotating/rotate-secret"),
]
OKTA_ROUTES = [
    ("GET", okta_secrets("rotating")),
    ("POST", okta_secrets("rotating")),
    ("GET", okta_secrets("rotating", "initial")),
    ("DELETE", okta_secrets("rotating", "initial")),
    ("POST", okta_secrets("rotating", "initial", "lifecycle", "deactivate")),
    ("POST", okta_secrets("rotating", "initial", "lifecycle", "activate")),
]


def refusal(api: str, status: int, missing: bool) -> dict[str, Any]:
    """The provider's error document, less Graph's innerError."""
    if api == "graph":
        if status == 403:
            code, message = (
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        else:
            code = "InvalidAuthenticationToken"
            message = "Access token is empty." if missing else "Access token validation failure."
        return {"error": {"code": code, "message": message}}
    if api == "keycloak":
        return {"error": "HTTP 403 Forbidden" if status == 403 else "HTTP 401 Unauthorized"}
    if status == 403:
        return {
            "statusCode": 403,
            "error": "Forbidden",
            "message": f"Insufficient scope, expected any of: {MANAGEMENT_SCOPE}",
            "errorCode": "insufficient_scope",
        }
    message = "Missing authentication" if missing else "Invalid token"
    return {"statusCode": 401, "error": "Unauthorized", "message": message}


def forged_token(bearer: str) -> str:
    """The management token's claims and kid, signed with a key the IdP never had."""
    genuine = bearer.removeprefix("Bearer ")
    header = jwt.get_unverified_header(genuine)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(
        claims, key, algorithm="RS256", headers={"kid": header["kid"], "typ": "at+jwt"}
    )


@pytest.mark.parametrize(("api", "method", "path"), BEARER_ROUTES)
def test_bearer_admin_routes_refuse_without_a_management_token(
    admin_idp: IdentityProvider, bearer: str, api: str, method: str, path: str
) -> None:
    reader = admin_idp.token("reader", admin_idp.client_secret("reader"), scope="orders:read")
    attempts = [
        (None, 401, True),
        ("Bearer", 401, True),
        (SSWS, 401, True),
        ("Bearer not-a-jwt", 401, False),
        (f"Bearer {forged_token(bearer)}", 401, False),
        (f"Bearer {reader}", 403, False),
    ]
    for auth, status, missing in attempts:
        answer = call(admin_idp, method, path, auth, {} if method == "POST" else None)
        assert answer.status == status, (auth, answer.text)
        body = answer.json
        if api == "graph":
            inner = body["error"].pop("innerError")
            assert set(inner) == {"date", "request-id", "client-request-id"}
        assert body == refusal(api, status, missing), auth
    assert len(admin_idp.secrets("rotating")) == 1  # nothing changed
    assert works(admin_idp, "rotating", ROTATING_SECRET)


@pytest.mark.parametrize(("method", "path"), OKTA_ROUTES)
def test_okta_routes_refuse_a_missing_or_wrong_api_token(
    admin_idp: IdentityProvider, bearer: str, method: str, path: str
) -> None:
    for auth in (None, "SSWS", f"SSWS {OKTA_API_TOKEN}x", f"ssws {OKTA_API_TOKEN}", bearer):
        answer = call(admin_idp, method, path, auth, {} if method == "POST" else None)
        assert answer.status == 401, (auth, answer.text)
        assert without_error_id(answer.json) == {
            "errorCode": "E0000011",
            "errorSummary": "Invalid token provided",
            "errorLink": "E0000011",
            "errorCauses": [],
        }
    assert [entry["status"] for entry in admin_idp.secrets("rotating")] == ["ACTIVE"]


# -- token endpoint aliases ----------------------------------------------------------------


def test_token_endpoint_aliases_issue_tokens_like_the_token_endpoint(
    admin_idp: IdentityProvider,
) -> None:
    auth0 = post_token(
        admin_idp, "admin-api", MANAGEMENT_SECRET, path="/oauth/token", audience="https://x/api/v2/"
    )
    entra = post_token(
        admin_idp,
        "admin-api",
        MANAGEMENT_SECRET,
        path="/common/oauth2/v2.0/token",
        scope="https://graph.microsoft.com/.default",
    )
    keycloak = post_token(  # as the rotation adapters authenticate: in the body
        admin_idp,
        "admin-post",
        ADMIN_POST_SECRET,
        auth="client_secret_post",
        path=f"/realms/{KEYCLOAK_REALM}/protocol/openid-connect/token",
    )
    reader = post_token(
        admin_idp,
        "posting",
        POSTING_SECRET,
        auth="client_secret_post",
        path=f"/realms/{KEYCLOAK_REALM}/protocol/openid-connect/token",
        scope="orders:read",
    )

    for answer in (auth0, entra, keycloak, reader):
        assert answer.status == 200, answer.text
        assert answer.json["token_type"].lower() == "bearer"
    for answer in (auth0, entra, keycloak):
        assert token_scopes(answer.json["access_token"]) == [MANAGEMENT_SCOPE]
    assert token_scopes(reader.json["access_token"]) == ["orders:read"]
    # Each alias's token opens its provider's admin API.
    tokens = {"auth0": auth0, "entra": entra, "keycloak": keycloak}
    bearer_of = {name: f"Bearer {answer.json['access_token']}" for name, answer in tokens.items()}
    assert call(admin_idp, "GET", "/api/v2/clients/rotating", bearer_of["auth0"]).status == 200
    graph = call(admin_idp, "GET", "/v1.0/applications(appId='rotating')", bearer_of["entra"])
    assert graph.status == 200
    assert keycloak_uuid(admin_idp, bearer_of["keycloak"], "rotating")

    assert admin_idp.stats()["token_requests"] == 4
    log = admin_idp.token_log()
    assert [(entry["client_id"], entry["status"]) for entry in log] == [
        ("admin-api", 200),
        ("admin-api", 200),
        ("admin-post", 200),
        ("posting", 200),
    ]
    assert log[0]["audience"] == "https://x/api/v2/"
    assert log[1]["scope"] == "https://graph.microsoft.com/.default"  # as the client sent it
    assert log[2]["scope"] is None


def test_token_endpoint_aliases_refuse_like_the_token_endpoint(
    admin_idp: IdentityProvider,
) -> None:
    for path in (
        "/oauth/token",
        "/tenant-id/oauth2/v2.0/token",
        f"/realms/{KEYCLOAK_REALM}/protocol/openid-connect/token",
    ):
        wrong = post_token(admin_idp, "rotating", "sg-test-not-a-secret-of-it", path=path)
        assert (wrong.status, wrong.json["error"]) == (401, "invalid_client"), path
        method = post_token(
            admin_idp, "rotating", ROTATING_SECRET, auth="client_secret_post", path=path
        )
        assert (method.status, method.json["error"]) == (401, "invalid_client"), path
    other_realm = post_token(
        admin_idp, "rotating", ROTATING_SECRET, path="/realms/master/protocol/openid-connect/token"
    )
    assert (other_realm.status, other_realm.json) == (404, {"error": "Realm does not exist"})
    assert admin_idp.stats()["token_requests"] == 6
