"""private_key_jwt with the key in KMS: the real identity provider verifies the assertions.

The client is registered at the test IdP (oidc-provider) with exactly the JWKS that
``python -m token_broker.jwks`` prints for the KMS key, as a user registers it at Okta,
Keycloak or Auth0; its secret in Secrets Manager holds only the client id. KMS (RSA and
P-256 signing keys) and Secrets Manager are moto's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from token_broker.jwks import main as jwks_main
from token_broker.kms_signer import KmsSigner
from tools.local.broker_harness import MULTI, call, put_secret, rest_event, runtime
from tools.local.idp import ORDERS_API, IdentityProvider

ACCOUNT = "123456789012"
SECRET = "scopegate/kms-signer"


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        yield (
            boto3.client("secretsmanager", region_name="us-east-1"),
            boto3.client("kms", region_name="us-east-1"),
        )


def signing_key(kms: Any, spec: str, alias: str) -> str:
    key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key)
    return str(key)


def printed_jwks(kms: Any, capsys: pytest.CaptureFixture[str], *keys: str) -> dict[str, Any]:
    capsys.readouterr()
    assert jwks_main(list(keys), kms) == 0
    printed: dict[str, Any] = json.loads(capsys.readouterr().out)
    return printed


def registered(idp_factory: Callable[..., IdentityProvider], jwks: dict[str, Any]) -> Any:
    client = {
        "client_id": "kms-signer",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": jwks,
        "scope": "orders:read",
    }
    return idp_factory(clients=[client])


def broker(idp: IdentityProvider, secrets: Any, kms: Any, key: str, **signer: Any) -> Any:
    """A runtime signing for ``kms-signer`` with ``key``; every request asks the IdP
    (``min_remaining_seconds`` above the tokens' lifetime), so each one is an assertion."""
    put_secret(secrets, SECRET, {"client_id": "kms-signer"})  # no private key anywhere
    doc = {
        "min_remaining_seconds": 3600,
        "clients": {
            "kms-signer": {
                "secret": SECRET,
                "token_endpoint": idp.token_endpoint,
                "auth_method": "private_key_jwt",
                "signing_key": key,
                "resource": ORDERS_API,
            }
        },
        "grants": [
            {
                "principal": f"arn:aws:iam::{ACCOUNT}:role/multi",
                "client": "kms-signer",
                "scopes": ["orders:read"],
            }
        ],
    }
    return runtime(doc, secrets, signer=KmsSigner(kms, **signer))


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256"])
def test_the_idp_accepts_an_assertion_signed_in_kms(
    idp_factory: Callable[..., IdentityProvider],
    aws: tuple[Any, Any],
    capsys: pytest.CaptureFixture[str],
    spec: str,
) -> None:
    secrets, kms = aws
    signing_key(kms, spec, "alias/scopegate-kms-signer")
    idp = registered(idp_factory, printed_jwks(kms, capsys, "alias/scopegate-kms-signer"))
    state = broker(idp, secrets, kms, "alias/scopegate-kms-signer")
    answer = call(state, rest_event(MULTI, "scope=orders:read"))
    assert answer.status == 200, answer.body
    assert answer.body["scope"] == "orders:read"
    (entry,) = idp.token_log()
    assert (entry["client_id"], entry["auth_method"], entry["status"]) == (
        "kms-signer",
        "private_key_jwt",
        200,
    )


def test_an_assertion_from_a_key_the_idp_does_not_know_is_refused(
    idp_factory: Callable[..., IdentityProvider],
    aws: tuple[Any, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    secrets, kms = aws
    known = signing_key(kms, "ECC_NIST_P256", "alias/registered")
    signing_key(kms, "ECC_NIST_P256", "alias/unregistered")
    idp = registered(idp_factory, printed_jwks(kms, capsys, known))
    answer = call(state := broker(idp, secrets, kms, "alias/unregistered"), rest_event(MULTI, ""))
    assert (answer.status, answer.error) == (502, "upstream_error")
    assert [e["status"] for e in idp.token_log()] == [401]
    assert state.idp.calls == 1  # invalid_client with no other secret version: no retry loop


def test_a_key_rolls_with_no_downtime_publish_switch_withdraw(
    idp_factory: Callable[..., IdentityProvider],
    aws: tuple[Any, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The procedure of docs/broker.md: publish the new key next to the old one, move the alias
    (the broker follows within the signer's max age, here 0), withdraw the old key."""
    secrets, kms = aws
    old = signing_key(kms, "RSA_2048", "alias/scopegate-kms-signer")
    new = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]["KeyId"]
    both = registered(idp_factory, printed_jwks(kms, capsys, old, new))
    state = broker(both, secrets, kms, "alias/scopegate-kms-signer", max_age=0)
    assert call(state, rest_event(MULTI, "scope=orders:read")).status == 200
    kms.update_alias(AliasName="alias/scopegate-kms-signer", TargetKeyId=new)
    assert call(state, rest_event(MULTI, "scope=orders:read")).status == 200
    assert [e["status"] for e in both.token_log()] == [200, 200]
    only_new = registered(idp_factory, printed_jwks(kms, capsys, new))  # old one withdrawn
    after = broker(only_new, secrets, kms, "alias/scopegate-kms-signer", max_age=0)
    assert call(after, rest_event(MULTI, "scope=orders:read")).status == 200


@pytest.mark.parametrize(
    "make",
    [
        lambda kms: "alias/scopegate-missing",
        lambda kms: kms.create_key()["KeyMetadata"]["KeyId"],  # symmetric: cannot sign
    ],
    ids=["missing-key", "symmetric-key"],
)
def test_a_signing_key_kms_will_not_use_is_a_server_error_before_the_idp_is_asked(
    idp_factory: Callable[..., IdentityProvider],
    aws: tuple[Any, Any],
    caplog: pytest.LogCaptureFixture,
    make: Callable[[Any], str],
) -> None:
    secrets, kms = aws
    idp = registered(idp_factory, {"keys": []})
    state = broker(idp, secrets, kms, make(kms))
    with caplog.at_level(logging.INFO):
        answer = call(state, rest_event(MULTI, ""))
    assert (answer.status, answer.error) == (500, "server_error")
    assert idp.token_log() == []
    lines = [r.fields for r in caplog.records if hasattr(r, "fields")]
    (audit,) = [x for x in lines if x.get("event") == "token_refused"]
    assert audit["reason"] == "signing_key_unusable"
