"""Client assertions signed in KMS (moto signs and verifies with real RSA and P-256 keys).

Each assertion is verified by PyJWT, independently of the broker's code, with the public
key as the identity provider would have it registered (the JWK the broker derives, whose
``kid`` is checked against tools/local/idp/clients.py's own RFC 7638 thumbprint).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from botocore.config import Config
from cryptography.hazmat.primitives.serialization import load_der_public_key
from moto import mock_aws

from token_broker.errors import ConfigError, Unavailable
from token_broker.kms_signer import KmsSigner, kms_assertion, public_jwk
from tools.local.idp import jwk_thumbprint

ENDPOINT = "https://idp.example.com/oauth2/v1/token"


@pytest.fixture
def kms() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


def signing_key(kms: Any, spec: str) -> str:
    key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)["KeyMetadata"]["KeyId"]
    return str(key)


def verified(assertion: str, jwk: dict[str, str], alg: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        assertion, key=jwt.PyJWK(jwk).key, algorithms=[alg], audience=ENDPOINT
    )
    return claims


@pytest.mark.parametrize(
    ("spec", "alg"),
    [("RSA_2048", "RS256"), ("RSA_3072", "RS256"), ("RSA_4096", "RS256"),
     ("ECC_NIST_P256", "ES256")],
)  # fmt: skip
def test_a_kms_key_signs_an_assertion_that_verifies_with_its_public_key(
    kms: Any, spec: str, alg: str
) -> None:
    key = signing_key(kms, spec)
    assertion = kms_assertion(KmsSigner(kms), key, "orders-client", None, ENDPOINT, now=time.time())
    der = kms.get_public_key(KeyId=key)["PublicKey"]
    jwk = public_jwk(load_der_public_key(der)) | {"alg": alg}
    claims = verified(assertion, jwk, alg)
    assert (claims["iss"], claims["sub"], claims["aud"]) == ("orders-client",) * 2 + (ENDPOINT,)
    header = jwt.get_unverified_header(assertion)
    assert header == {"alg": alg, "typ": "JWT", "kid": jwk_thumbprint(jwk)}


def test_es256_signatures_are_raw_r_and_s_not_der(kms: Any) -> None:
    key = signing_key(kms, "ECC_NIST_P256")
    signer = KmsSigner(kms)
    public = signer.public_key(key)
    for _ in range(20):  # DER lengths vary (70 to 72 bytes); the JWS form never does
        assert len(signer.sign(public, b"header.claims")) == 64


def test_the_kid_the_secret_names_wins(kms: Any) -> None:
    key = signing_key(kms, "ECC_NIST_P256")
    assertion = kms_assertion(KmsSigner(kms), key, "c", "ec-2024", ENDPOINT, now=time.time())
    assert jwt.get_unverified_header(assertion)["kid"] == "ec-2024"


def test_an_alias_is_followed_within_max_age_and_kid_always_matches_the_signer(
    kms: Any,
) -> None:
    old, new = signing_key(kms, "RSA_2048"), signing_key(kms, "ECC_NIST_P256")
    kms.create_alias(AliasName="alias/orders-signer", TargetKeyId=old)
    clock = [0.0]
    signer = KmsSigner(kms, max_age=300, clock=lambda: clock[0])
    before = signer.public_key("alias/orders-signer")
    kms.update_alias(AliasName="alias/orders-signer", TargetKeyId=new)
    clock[0] = 299.0
    cached = kms_assertion(signer, "alias/orders-signer", "c", None, ENDPOINT, now=time.time())
    assert verified(cached, before.jwk, "RS256")["sub"] == "c"  # still the old key, whole
    clock[0] = 300.0
    moved = kms_assertion(signer, "alias/orders-signer", "c", None, ENDPOINT, now=time.time())
    after = signer.public_key("alias/orders-signer")
    assert (after.alg, after.kid != before.kid) == ("ES256", True)
    assert jwt.get_unverified_header(moved)["kid"] == after.kid
    assert verified(moved, after.jwk, "ES256")["sub"] == "c"


def test_only_public_metadata_is_cached_and_get_public_key_is_asked_once(kms: Any) -> None:
    key = signing_key(kms, "RSA_2048")
    asked: list[str] = []
    kms.meta.events.register("before-call.kms.*", lambda model, **_: asked.append(model.name))
    signer = KmsSigner(kms)
    for _ in range(3):
        kms_assertion(signer, key, "c", None, ENDPOINT, now=time.time())
    assert asked == ["GetPublicKey", "Sign", "Sign", "Sign"]
    (cached,) = signer._public.values()
    assert set(cached[1].jwk) == {"kty", "n", "e", "kid", "alg", "use"}  # no private member


@pytest.mark.parametrize(
    "make",
    [
        lambda kms: kms.create_key()["KeyMetadata"]["KeyId"],  # symmetric: cannot sign
        lambda kms: signing_key(kms, "ECC_NIST_P384"),  # ES384 is not offered
        lambda kms: "alias/scopegate-missing",
    ],
    ids=["symmetric", "p384", "missing"],
)
def test_a_key_that_cannot_sign_rs256_or_es256_is_a_configuration_error(
    kms: Any, make: Any
) -> None:
    with pytest.raises(ConfigError) as refused:
        KmsSigner(kms).public_key(make(kms))
    assert (refused.value.status, refused.value.reason) == (500, "signing_key_unusable")


def test_kms_unreachable_is_unavailable() -> None:
    nowhere = boto3.client(
        "kms",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=0.5),
    )
    with pytest.raises(Unavailable) as refused:
        KmsSigner(nowhere).public_key("alias/orders-signer")
    assert (refused.value.status, refused.value.reason) == (503, "kms_unavailable")


def test_an_x5t_from_the_secret_goes_in_the_header_for_entra(kms: Any) -> None:
    key = signing_key(kms, "RSA_2048")
    assertion = kms_assertion(
        KmsSigner(kms), key, "c", None, ENDPOINT, now=time.time(), x5t="hOBcHZi846VCHSJbFAs26Go9VTQ"
    )
    header = jwt.get_unverified_header(assertion)
    assert header["x5t"] == "hOBcHZi846VCHSJbFAs26Go9VTQ"
    assert header["alg"] == "RS256"


class _Recording:
    """The identity provider's side of one token request: what it was sent."""

    def __init__(self) -> None:
        self.forms: list[dict[str, list[str]]] = []

    def post_form(self, url: str, body: bytes, headers: Any, timeout: float) -> Any:
        from urllib.parse import parse_qs

        self.forms.append(parse_qs(body.decode()))
        token = {"access_token": "eyJ.a.b", "token_type": "Bearer", "expires_in": 300}
        return 200, {}, json.dumps(token).encode()

    def get(self, url: str, timeout: float) -> Any:
        raise AssertionError("no discovery: the token endpoint is configured")


def test_the_broker_signs_with_the_clients_signing_key_and_the_secrets_kid_and_x5t(
    kms: Any,
) -> None:
    from token_broker.config import ClientConfig
    from token_broker.credentials import parse_secret
    from token_broker.upstream import IdpClient

    key = signing_key(kms, "RSA_2048")
    client = ClientConfig(
        "entra-api", "s", None, ENDPOINT, "private_key_jwt", None, None, signing_key=key
    )
    secret = json.dumps({"client_id": "0b1c2d3e", "kid": "entra-1", "x5t": "hOBcHZi846VC"})
    idp = _Recording()
    IdpClient(idp, signer=KmsSigner(kms)).request_token(
        client, parse_secret(secret, secret="s"), ["x"], deadline=time.time() + 9
    )
    (form,) = idp.forms
    assert "client_secret" not in form
    (assertion,) = form["client_assertion"]
    header = jwt.get_unverified_header(assertion)
    assert (header["kid"], header["x5t"]) == ("entra-1", "hOBcHZi846VC")
    der = kms.get_public_key(KeyId=key)["PublicKey"]
    assert verified(assertion, public_jwk(load_der_public_key(der)), "RS256")["sub"] == "0b1c2d3e"
