"""``python -m token_broker.jwks KEY...``: the JWKS to register at the identity provider.

For each KMS key (key id, key ARN, alias name or alias ARN) it reads the public key with
``kms:GetPublicKey`` and prints one JWK: ``kty`` and the public members, ``kid`` (the RFC
7638 thumbprint, which the broker puts in the assertion header when the client's secret
names no ``kid``), ``alg`` (RS256 for RSA keys, ES256 for P-256 keys) and ``use: sig``.
The region is ``--region``, else ``AWS_REGION``, else boto3's default (``AWS_DEFAULT_REGION``
or the profile's); the credentials are boto3's (``AWS_PROFILE``, ...).

Exit status: 0 when every key was printed, 1 when a key cannot be used for signing or KMS
cannot be reached (each key named on stderr), 2 for a usage error or no AWS region.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from token_broker.errors import BrokerError
from token_broker.kms_signer import KmsSigner, default_client


def main(argv: list[str] | None = None, client: Any = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m token_broker.jwks",
        description="Print the JWKS of KMS signing keys for private_key_jwt registration.",
    )
    parser.add_argument("keys", nargs="+", metavar="KEY", help="KMS key id, ARN or alias")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"), help="KMS region")
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")
    args = parser.parse_args(argv)
    if client is None:
        from botocore.exceptions import BotoCoreError

        try:
            client = default_client(args.region)
        except BotoCoreError as e:  # NoRegionError and the like: say what, no traceback
            print(f"error: no KMS client: {e}", file=sys.stderr)
            return 2
    signer = KmsSigner(client)
    printed: list[dict[str, str]] = []
    failed = False
    for key in args.keys:
        try:
            printed.append(signer.public_key(key).jwk)
        except BrokerError as e:
            print(f"{key}: {e}", file=sys.stderr)
            failed = True
    if failed:
        return 1
    print(json.dumps({"keys": printed}, indent=args.indent or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
