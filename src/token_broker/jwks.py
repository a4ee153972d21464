"""``python -m token_broker.jwks KEY...``: the public keys to register at the identity
provider for client assertions signed in KMS.

For each KMS key (key id, key ARN, alias name or alias ARN) it reads the public key with
``kms:GetPublicKey`` and prints, by default, a JWK Set: per key ``kty`` and the public
members, ``kid`` (the RFC 7638 thumbprint, which the broker puts in the assertion header
when the client's secret names no ``kid``), ``alg`` (RS256 for RSA keys, ES256 for P-256
keys) and ``use: sig``: what Okta and Keycloak take. ``--pem`` prints each public key as
PEM (SubjectPublicKeyInfo), what Auth0 takes. ``--certificate`` prints a self-signed
certificate per key, signed in KMS (``kms:Sign``), what Microsoft Entra ID takes, and on
stderr its ``x5t`` for the client's secret.

The region is ``--region``, else ``AWS_REGION``, else boto3's default (``AWS_DEFAULT_REGION``
or the profile's); the credentials are boto3's (``AWS_PROFILE``, ...).

Exit status: 0 when everything was printed, 1 when a key cannot be used for signing or KMS
cannot be reached (each key named on stderr, nothing printed), 2 for a usage error or no
AWS region.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from typing import Any

from token_broker.errors import BrokerError
from token_broker.kms_signer import KmsSigner, default_client


def main(argv: list[str] | None = None, client: Any = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m token_broker.jwks",
        description="Print the public keys of KMS signing keys for private_key_jwt.",
    )
    parser.add_argument("keys", nargs="+", metavar="KEY", help="KMS key id, ARN or alias")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--pem", action="store_true", help="PEM public keys (Auth0)")
    shape.add_argument(
        "--certificate", action="store_true", help="self-signed certificates (Entra ID)"
    )
    parser.add_argument("--days", type=int, default=365, help="certificate validity (365)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"), help="KMS region")
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")
    args = parser.parse_args(argv)
    if not 1 <= args.days <= 3650:
        parser.error("--days must be from 1 to 3650")
    if client is None:
        from botocore.exceptions import BotoCoreError

        try:
            client = default_client(args.region)
        except BotoCoreError as e:  # NoRegionError and the like: say what, no traceback
            print(f"error: no KMS client: {e}", file=sys.stderr)
            return 2
    signer = KmsSigner(client)
    printed: list[str] = []
    jwks: list[dict[str, str]] = []
    failed = False
    for key in args.keys:
        try:
            if args.certificate:
                printed.append(_certificate(signer, key, args.days))
            elif args.pem:
                printed.append(_pem(signer, key))
            else:
                jwks.append(signer.public_key(key).jwk)
        except BrokerError as e:
            print(f"{key}: {e}", file=sys.stderr)
            failed = True
    if failed:
        return 1
    if args.pem or args.certificate:
        print("".join(printed), end="")
    else:
        print(json.dumps({"keys": jwks}, indent=args.indent or None))
    return 0


def _pem(signer: KmsSigner, key: str) -> str:
    from cryptography.hazmat.primitives import serialization

    public = serialization.load_der_public_key(signer.public_key(key).spki)
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _certificate(signer: KmsSigner, key: str, days: int) -> str:
    from cryptography.hazmat.primitives import serialization

    from token_broker.kms_certificate import certificate, x5t

    public = signer.public_key(key)
    cert = certificate(
        signer,
        key,
        common_name=f"scopegate {public.key_id.rsplit('/', 1)[-1]}",
        days=days,
        now=datetime.datetime.now(datetime.UTC),
    )
    print(f"{key}: x5t {x5t(cert)}", file=sys.stderr)
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


if __name__ == "__main__":
    sys.exit(main())
