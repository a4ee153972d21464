"""The test identity provider harness issues real, verifiable JWT access tokens."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.serving import serving
from tools.local.idp import (
    IdentityProvider,
    IdentityProviderError,
    TokenRequestError,
    default_clients,
    default_resources,
    private_key_jwt_client,
    sign_client_assertion,
)

pytestmark = pytest.mark.integration

POSTER_SECRET = "sg-test-poster-Zr8wK2nQ5vX1"
# RFC 6749 section 2.3.1 form-encodes both parts of Basic credentials; these need it.
ODD_ID = "svc:orders reader+1"
ODD_SECRET = "s3cret:+/%&= x"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def signing_keys() -> dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
    """The private_key_jwt clients' keys: one RSA (RS256), one P-256 (ES256)."""
    return {
        "rsa-signer": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec-signer": ec.generate_private_key(ec.SECP256R1()),
    }


@pytest.fixture(scope="module")
def auth_idp(
    signing_keys: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey],
) -> Iterator[IdentityProvider]:
    """One IdP with a client per authentication method, shared by this module."""
    clients: list[dict[str, Any]] = [
        *default_clients(),
        {
            "client_id": "poster",
            "client_secret": POSTER_SECRET,
            "scope": "orders:read",
            "token_endpoint_auth_method": "client_secret_post",
        },
        {"client_id": ODD_ID, "client_secret": ODD_SECRET, "scope": "orders:read"},
        private_key_jwt_client("rsa-signer", signing_keys["rsa-signer"], "orders:read"),
        private_key_jwt_client("ec-signer", signing_keys["ec-signer"], "orders:write", kid="ec-1"),
    ]
    with serving(IdentityProvider(clients, default_resources())) as provider:
        yield provider


@pytest.fixture
def clean_idp(auth_idp: IdentityProvider) -> Iterator[IdentityProvider]:
    """auth_idp without faults, with an empty token log and zero counters."""
    auth_idp.clear_faults()
    auth_idp.reset_stats()
    try:
        yield auth_idp
    finally:
        auth_idp.clear_faults()


def _refused(call: Callable[[], object]) -> TokenRequestError:
    with pytest.raises(TokenRequestError) as refused:
        call()
    return refused.value


def _logged_refusal(idp: IdentityProvider, reason: str, call: Callable[[], object]) -> None:
    """The call gets 401 invalid_client, and the IdP's log says it was for ``reason``."""
    before = idp.output().count(reason)
    refused = _refused(call)
    assert (refused.status, refused.error) == (401, "invalid_client")
    deadline = time.monotonic() + 3.0
    while idp.output().count(reason) == before:  # stderr is read by a thread
        assert time.monotonic() < deadline, f"no refusal for {reason!r} in:\n{idp.output()}"
        time.sleep(0.02)


def _post_token(
    idp: IdentityProvider, client_id: str, timeout: float = 10.0
) -> tuple[int, dict[str, str], str]:
    """A client_secret_basic grant by hand: status, headers (lower-case names) and body."""
    secret = idp.client_secret(client_id)
    pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}"
    request = urllib.request.Request(
        idp.token_endpoint,
        data=b"grant_type=client_credentials",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
        },
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        status, headers, body = err.code, err.headers, err.read()
    return status, {k.lower(): v for k, v in headers.items()}, body.decode()


def _verify(idp: IdentityProvider, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header = jwt.get_unverified_header(token)
    keys = {key["kid"]: key for key in idp.jwks()["keys"]}
    assert header["kid"] in keys
    key = jwt.PyJWK.from_dict(keys[header["kid"]])
    claims = jwt.decode(
        token, key=key, algorithms=[header["alg"]], audience="api://orders", issuer=idp.issuer
    )
    return header, claims


def test_client_credentials_token_is_a_signed_jwt(idp: IdentityProvider) -> None:
    token = idp.token("writer", idp.client_secret("writer"), scope="orders:read orders:write")

    header, claims = _verify(idp, token)

    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == "api://orders"
    assert claims["sub"] == "writer"
    assert claims["client_id"] == "writer"
    assert claims["scope"] == "orders:read orders:write"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]


def test_explicit_resource_and_post_auth(clean_idp: IdentityProvider) -> None:
    token = clean_idp.token(
        "poster",
        POSTER_SECRET,
        scope="orders:read",
        resource="api://orders",
        auth="client_secret_post",
    )
    _, claims = _verify(clean_idp, token)
    assert claims["scope"] == "orders:read"
    assert claims["client_id"] == "poster"


def test_scope_the_client_lacks_is_refused(idp: IdentityProvider) -> None:
    with pytest.raises(TokenRequestError) as refused:
        idp.token("reader", idp.client_secret("reader"), scope="orders:read orders:write")
    assert refused.value.error == "invalid_scope"
    assert refused.value.status == 400


def test_wrong_secret_and_unknown_resource_are_refused(idp: IdentityProvider) -> None:
    with pytest.raises(TokenRequestError) as bad_secret:
        idp.token("reader", "not-the-secret", scope="orders:read")
    assert bad_secret.value.error == "invalid_client"
    with pytest.raises(TokenRequestError) as bad_resource:
        idp.token("reader", idp.client_secret("reader"), resource="api://elsewhere")
    assert bad_resource.value.error == "invalid_target"


def test_rotate_keys_changes_the_signing_kid(
    idp_factory: Callable[..., IdentityProvider],
) -> None:
    idp = idp_factory()
    secret = idp.client_secret("all")
    before = jwt.get_unverified_header(idp.token("all", secret, scope="admin"))["kid"]

    kept = idp.rotate_keys(keep_old=True)
    after = jwt.get_unverified_header(idp.token("all", secret, scope="admin"))["kid"]
    published = {key["kid"] for key in idp.jwks()["keys"]}
    assert after in kept
    assert after != before
    assert {before, after} <= published

    dropped = idp.rotate_keys(keep_old=False)
    latest = idp.token("all", secret, scope="admin")
    published = {key["kid"] for key in idp.jwks()["keys"]}
    assert published == set(dropped)
    assert before not in published
    _verify(idp, latest)


def test_stats_count_requests(idp: IdentityProvider) -> None:
    idp.reset_stats()
    assert idp.stats() == {"jwks_requests": 0, "discovery_requests": 0, "token_requests": 0}

    idp.token("ws", idp.client_secret("ws"), scope="ws:connect")
    idp.token("ws", idp.client_secret("ws"), scope="ws:connect")
    idp.jwks()
    idp.discovery()

    assert idp.stats() == {"jwks_requests": 1, "discovery_requests": 1, "token_requests": 2}


def test_resource_alg_selects_the_signing_key(idp_factory: Callable[..., IdentityProvider]) -> None:
    idp = idp_factory(resources=default_resources(alg="EdDSA"), signing_algs=["EdDSA", "ES256"])
    token = idp.token("reader", idp.client_secret("reader"), scope="orders:read")
    header, claims = _verify(idp, token)
    assert header["alg"] == "EdDSA"
    assert claims["sub"] == "reader"


def test_failed_start_reports_the_idp_output() -> None:
    broken = IdentityProvider(resources=default_resources(alg="ES256"), signing_algs=["RS256"])
    with pytest.raises(IdentityProviderError, match="not in signing_algs"):
        broken.start()
    assert not broken.running


# -- client authentication as registered ----------------------------------------------------


def test_basic_client_sending_its_secret_in_the_body_is_refused(
    clean_idp: IdentityProvider,
) -> None:
    secret = clean_idp.client_secret("reader")
    _logged_refusal(
        clean_idp,
        "reader is registered for client_secret_basic but used client_secret_post",
        lambda: clean_idp.token("reader", secret, scope="orders:read", auth="client_secret_post"),
    )
    clean_idp.token("reader", secret, scope="orders:read", auth="client_secret_basic")


def test_post_client_using_the_basic_header_is_refused(clean_idp: IdentityProvider) -> None:
    _logged_refusal(
        clean_idp,
        "poster is registered for client_secret_post but used client_secret_basic",
        lambda: clean_idp.token("poster", POSTER_SECRET, auth="client_secret_basic"),
    )
    status, headers, _ = _post_token(clean_idp, "poster")
    assert status == 401
    assert 'error="invalid_client"' in headers["www-authenticate"]
    clean_idp.token("poster", POSTER_SECRET, auth="client_secret_post")


def test_basic_credentials_are_form_decoded(clean_idp: IdentityProvider) -> None:
    token = clean_idp.token(ODD_ID, ODD_SECRET, scope="orders:read")

    assert _verify(clean_idp, token)[1]["client_id"] == ODD_ID
    assert clean_idp.token_log()[-1]["client_id"] == ODD_ID
    _logged_refusal(
        clean_idp,
        "invalid secret provided",
        lambda: clean_idp.token(ODD_ID, ODD_SECRET.replace("+", " "), scope="orders:read"),
    )


def test_wrong_secret_for_a_post_client_is_refused(clean_idp: IdentityProvider) -> None:
    _logged_refusal(
        clean_idp,
        "invalid secret provided",
        lambda: clean_idp.token("poster", "not-the-secret", auth="client_secret_post"),
    )


# -- private_key_jwt (RFC 7523) -------------------------------------------------------------


@pytest.mark.parametrize(("client_id", "alg"), [("rsa-signer", "RS256"), ("ec-signer", "ES256")])
def test_private_key_jwt_client_gets_a_token(
    clean_idp: IdentityProvider,
    signing_keys: dict[str, Any],
    client_id: str,
    alg: str,
) -> None:
    key = signing_keys[client_id]
    kid = "ec-1" if client_id == "ec-signer" else None
    assertion = sign_client_assertion(client_id, key, clean_idp.token_endpoint, kid=kid)
    assert jwt.get_unverified_header(assertion)["alg"] == alg

    token = clean_idp.token(client_id, auth="private_key_jwt", client_assertion=assertion)
    again = clean_idp.token(client_id, auth="private_key_jwt", private_key=key, kid=kid)

    for issued in (token, again):
        assert _verify(clean_idp, issued)[1]["client_id"] == client_id
    methods = [(entry["client_id"], entry["auth_method"]) for entry in clean_idp.token_log()]
    assert methods == [(client_id, "private_key_jwt")] * 2


def test_private_key_jwt_client_publishes_only_the_public_key(
    signing_keys: dict[str, Any],
) -> None:
    entry = private_key_jwt_client("ec-signer", signing_keys["ec-signer"], "orders:write")
    (jwk,) = entry["jwks"]["keys"]
    assert "d" not in jwk
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("EC", "P-256", "ES256")
    assert jwt.PyJWK.from_dict(jwk).key_id == jwk["kid"]


def _assertion_refusals(idp: IdentityProvider, keys: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """name -> (assertion, why the IdP refuses it)"""
    key = keys["rsa-signer"]
    (client,) = (c for c in idp.clients if c["client_id"] == "rsa-signer")
    registered_kid = client["jwks"]["keys"][0]["kid"]
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    return {
        "wrong key": (
            sign_client_assertion("rsa-signer", other_key, idp.token_endpoint, kid=registered_kid),
            "signature verification failed",
        ),
        "another client's key": (
            sign_client_assertion("rsa-signer", keys["ec-signer"], idp.token_endpoint, kid="ec-1"),
            "no applicable key found",
        ),
        "wrong aud": (
            sign_client_assertion("rsa-signer", key, "http://127.0.0.1:9/token"),
            "audience (aud) must equal",
        ),
        "issuer as aud": (
            sign_client_assertion("rsa-signer", key, idp.issuer),
            "aud (JWT audience) must be the token endpoint URL",
        ),
        "expired": (
            sign_client_assertion("rsa-signer", key, idp.token_endpoint, issued_at=now - 600),
            "jwt expired",
        ),
    }


@pytest.mark.parametrize(
    "attack", ["wrong key", "another client's key", "wrong aud", "issuer as aud", "expired"]
)
def test_bad_client_assertion_is_refused(
    clean_idp: IdentityProvider, signing_keys: dict[str, Any], attack: str
) -> None:
    assertion, reason = _assertion_refusals(clean_idp, signing_keys)[attack]
    _logged_refusal(
        clean_idp,
        reason,
        lambda: clean_idp.token("rsa-signer", auth="private_key_jwt", client_assertion=assertion),
    )


def test_replayed_client_assertion_is_refused(
    clean_idp: IdentityProvider, signing_keys: dict[str, Any]
) -> None:
    assertion = sign_client_assertion(
        "rsa-signer", signing_keys["rsa-signer"], clean_idp.token_endpoint
    )
    clean_idp.token("rsa-signer", auth="private_key_jwt", client_assertion=assertion)
    _logged_refusal(
        clean_idp,
        "client assertion tokens must only be used once",
        lambda: clean_idp.token("rsa-signer", auth="private_key_jwt", client_assertion=assertion),
    )


def test_secret_methods_are_refused_for_a_private_key_jwt_client(
    clean_idp: IdentityProvider,
) -> None:
    _logged_refusal(
        clean_idp,
        "does not match the registered client authentication method",
        lambda: clean_idp.token("rsa-signer", "guess", auth="client_secret_basic"),
    )


def test_unknown_audience_parameter_is_ignored(clean_idp: IdentityProvider) -> None:
    token = clean_idp.token(
        "reader",
        clean_idp.client_secret("reader"),
        scope="orders:read",
        audience="https://orders.example.com",
    )
    assert _verify(clean_idp, token)[1]["aud"] == "api://orders"
    assert clean_idp.token_log()[-1]["audience"] == "https://orders.example.com"


# -- fault injection ------------------------------------------------------------------------


def test_fault_answers_with_status_and_retry_after_until_count_is_spent(
    clean_idp: IdentityProvider,
) -> None:
    body = '{"error":"temporarily_unavailable"}'
    clean_idp.set_fault(status=503, count=2, retry_after="7", body=body)

    answers = [_post_token(clean_idp, "reader") for _ in range(3)]

    for status, headers, text in answers[:2]:
        assert (status, text) == (503, body)
        assert headers["retry-after"] == "7"
        assert headers["content-type"] == "application/json"
    assert answers[2][0] == 200
    assert "access_token" in json.loads(answers[2][2])
    assert clean_idp.stats()["token_requests"] == 3
    assert [entry["status"] for entry in clean_idp.token_log()] == [503, 503, 200]


def test_fault_without_count_lasts_until_cleared(clean_idp: IdentityProvider) -> None:
    clean_idp.set_fault(status=502, body="<html>bad gateway</html>", content_type="text/html")

    for _ in range(3):
        status, headers, text = _post_token(clean_idp, "reader")
        assert (status, text, headers["content-type"]) == (
            502,
            "<html>bad gateway</html>",
            "text/html",
        )
        assert "retry-after" not in headers
    clean_idp.clear_faults()

    assert _post_token(clean_idp, "reader")[0] == 200


def test_delayed_fault_outlasts_a_client_timeout(clean_idp: IdentityProvider) -> None:
    clean_idp.set_fault(status=503, count=1, delay_ms=1500)
    started = time.monotonic()
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        _post_token(clean_idp, "reader", timeout=0.3)
    assert time.monotonic() - started < 1.0

    assert _post_token(clean_idp, "reader")[0] == 200  # the fault's one request is spent


def test_delay_alone_holds_back_the_real_answer(clean_idp: IdentityProvider) -> None:
    clean_idp.set_fault(delay_ms=600, count=1)
    started = time.monotonic()
    status, _, text = _post_token(clean_idp, "reader")
    assert time.monotonic() - started >= 0.6
    assert status == 200
    assert "access_token" in json.loads(text)


def test_malformed_fault_is_rejected(clean_idp: IdentityProvider) -> None:
    with pytest.raises(IdentityProviderError, match="needs a status or delay_ms"):
        clean_idp.set_fault(count=2)
    with pytest.raises(IdentityProviderError, match="HTTP status code"):
        clean_idp.set_fault(status=99)
    with pytest.raises(ValueError, match="clear_faults"):
        clean_idp.set_fault()
    assert _post_token(clean_idp, "reader")[0] == 200


# -- the token log --------------------------------------------------------------------------


def test_token_log_shows_what_each_request_carried(
    clean_idp: IdentityProvider, signing_keys: dict[str, Any]
) -> None:
    reader = clean_idp.client_secret("reader")
    clean_idp.token("reader", reader, scope="orders:read", resource="api://orders")
    clean_idp.token("poster", POSTER_SECRET, auth="client_secret_post", audience="aud-x")
    clean_idp.token(
        "ec-signer", auth="private_key_jwt", private_key=signing_keys["ec-signer"], kid="ec-1"
    )
    _refused(lambda: clean_idp.token("reader", "not-the-secret", scope="admin"))
    clean_idp.set_fault(status=429, count=1, retry_after="3")
    _refused(lambda: clean_idp.token("writer", clean_idp.client_secret("writer")))

    log = clean_idp.token_log()

    entry = {"status": 200, "scope": None, "resource": None, "audience": None}
    assert log == [
        entry
        | {
            "client_id": "reader",
            "auth_method": "client_secret_basic",
            "scope": "orders:read",
            "resource": "api://orders",
        },
        entry | {"client_id": "poster", "auth_method": "client_secret_post", "audience": "aud-x"},
        entry | {"client_id": "ec-signer", "auth_method": "private_key_jwt"},
        entry
        | {
            "client_id": "reader",
            "auth_method": "client_secret_basic",
            "status": 401,
            "scope": "admin",
        },
        entry | {"client_id": "writer", "auth_method": "client_secret_basic", "status": 429},
    ]
    assert reader not in json.dumps(log)
    assert POSTER_SECRET not in json.dumps(log)
    clean_idp.reset_stats()
    assert clean_idp.token_log() == []
