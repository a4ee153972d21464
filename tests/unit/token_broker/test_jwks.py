"""``python -m token_broker.jwks KEY...``: the JWKS users register at their identity
provider for KMS-signed client assertions (moto's KMS, in process and as a server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives.serialization import load_der_public_key
from moto import mock_aws

from tests.support.paths import ROOT
from token_broker.jwks import main
from token_broker.kms_signer import public_jwk
from tools.local.idp import jwk_thumbprint
from tools.local.moto_server import moto_server


@pytest.fixture
def kms() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


def test_it_prints_one_public_jwk_per_key_with_kid_alg_and_use(
    kms: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    rsa = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]
    ec = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]
    kms.create_alias(AliasName="alias/orders-signer", TargetKeyId=ec["KeyId"])
    assert main([rsa["Arn"], "alias/orders-signer"], kms) == 0
    keys = json.loads(capsys.readouterr().out)["keys"]
    assert [(k["kty"], k["alg"], k["use"]) for k in keys] == [
        ("RSA", "RS256", "sig"),
        ("EC", "ES256", "sig"),
    ]
    for jwk, key in zip(keys, (rsa, ec), strict=True):
        public = public_jwk(
            load_der_public_key(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
        )
        assert {k: jwk[k] for k in public} == public
        assert jwk["kid"] == jwk_thumbprint(jwk)
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)  # public members only


def test_a_key_that_cannot_sign_is_named_and_nothing_is_printed(
    kms: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    good = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    assert main([good, symmetric], kms) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert symmetric in err
    assert good not in err


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base = {
        "PYTHONPATH": str(ROOT / "src"),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [sys.executable, "-m", "token_broker.jwks", *args],
        env=clean | base | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_module_runs_as_documented_against_kms() -> None:
    with moto_server() as url:
        kms = boto3.client(
            "kms",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]
        done = _run(
            key["Arn"],
            AWS_ENDPOINT_URL=url,
            AWS_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="x",
            AWS_SECRET_ACCESS_KEY="x",
        )
    assert done.returncode == 0, done.stderr
    (jwk,) = json.loads(done.stdout)["keys"]
    assert (jwk["crv"], jwk["alg"]) == ("P-256", "ES256")


def test_no_region_is_a_usage_error_without_a_traceback() -> None:
    done = _run("alias/orders-signer")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "region" in done.stderr


def test_pem_prints_each_public_key_as_subject_public_key_info(
    kms: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.hazmat.primitives import serialization

    key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_3072")["KeyMetadata"]["KeyId"]
    assert main(["--pem", key], kms) == 0
    printed = serialization.load_pem_public_key(capsys.readouterr().out.encode())
    der = kms.get_public_key(KeyId=key)["PublicKey"]
    assert (
        printed.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == der
    )


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256"])
def test_certificate_is_self_signed_in_kms_for_the_kms_public_key(
    kms: Any, capsys: pytest.CaptureFixture[str], spec: str
) -> None:
    """What Entra ID registers: a certificate of the KMS key, signed by it (verified here
    with the key KMS gives out, not with anything of the broker's), and its x5t."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)["KeyMetadata"]["KeyId"]
    assert main(["--certificate", "--days", "30", key], kms) == 0
    out, err = capsys.readouterr()
    cert = x509.load_pem_x509_certificate(out.encode())
    public = load_der_public_key(kms.get_public_key(KeyId=key)["PublicKey"])
    der = serialization.PublicFormat.SubjectPublicKeyInfo
    assert cert.public_key().public_bytes(serialization.Encoding.DER, der) == public.public_bytes(
        serialization.Encoding.DER, der
    )
    if spec == "RSA_2048":
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(
            cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA256()
        )
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    assert cert.issuer == cert.subject
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 30
    digest = hashlib.sha1(
        cert.public_bytes(serialization.Encoding.DER), usedforsecurity=False
    ).digest()
    assert err.strip() == f"{key}: x5t {base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"
