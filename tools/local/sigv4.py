"""An independent AWS Signature Version 4 verifier, for the local gateways and tests: how
API Gateway (``AWS_IAM``) and Lambda function URLs judge a signed request.

Written from the published algorithm with hashlib and hmac only, never botocore, so that
a signing mistake in the client cannot hide behind the same mistake in the check:
canonical request, string to sign, signing key derivation, constant-time comparison, and
the checks around them (credential scope, a clock skew of at most five minutes, the
signed headers, the body hash, the session token).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 300
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 +Credential=(?P<credential>[^,\s]+), *"
    r"SignedHeaders=(?P<signed>[^,\s]+), *Signature=(?P<signature>[0-9a-f]{64})"
)


class SecretEntry(NamedTuple):
    """What the verifier knows about one access key."""

    secret_key: str
    principal_arn: str  # the caller, as the service would report it
    session_token: str | None = None  # required (and must match) when set


class SignatureError(Exception):
    """The request is not validly signed; ``reason`` is a stable code, the text says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def verify(
    method: str,
    url_path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    credentials: Mapping[str, SecretEntry],
    region: str,
    service: str,
    now: float | None = None,
) -> str:
    """The principal ARN of the key that signed this request, or ``SignatureError``.

    ``url_path`` and ``query`` are as received (still percent-encoded); ``headers`` holds
    one value per name (repeated headers joined with commas).
    """
    lower = {name.lower(): value for name, value in headers.items()}
    authorization = lower.get("authorization")
    if authorization is None:
        raise SignatureError("missing_authentication", "Missing Authentication Token")
    match = _AUTHORIZATION.fullmatch(authorization.strip())
    if match is None:
        raise SignatureError("malformed_authorization", "the Authorization header is malformed")
    scope_parts = match["credential"].split("/")
    if len(scope_parts) != 5:
        raise SignatureError("malformed_authorization", "the credential scope is malformed")
    access_key, date, scope_region, scope_service, terminator = scope_parts
    entry = credentials.get(access_key)
    if entry is None:
        raise SignatureError("unknown_access_key", "The security token included is invalid.")

    amz_date = lower.get("x-amz-date")
    if amz_date is None:
        raise SignatureError("missing_date", "the request has no X-Amz-Date header")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as e:
        raise SignatureError("malformed_date", f"X-Amz-Date {amz_date!r} is malformed") from e
    current = time.time() if now is None else now
    if abs(signed_at.timestamp() - current) > MAX_SKEW_SECONDS:
        raise SignatureError("expired", f"Signature expired: {amz_date} is too far from now")
    if date != amz_date[:8]:
        raise SignatureError("wrong_date", "the credential scope's date is not X-Amz-Date's")
    if scope_region != region:
        raise SignatureError("wrong_region", f"credential scope region should be {region!r}")
    if scope_service != service:
        raise SignatureError("wrong_service", f"credential scope service should be {service!r}")
    if terminator != "aws4_request":
        raise SignatureError(
            "malformed_authorization", "the credential scope must end aws4_request"
        )

    signed = match["signed"].split(";")
    if signed != sorted(set(signed)) or any(name != name.lower() for name in signed):
        raise SignatureError("malformed_authorization", "SignedHeaders is not sorted lower case")
    for required in ("host", "x-amz-date"):
        if required not in signed:
            raise SignatureError("unsigned_header", f"{required} must be signed")
    for name in signed:
        if name not in lower:
            raise SignatureError("missing_signed_header", f"signed header {name} is missing")

    token = lower.get("x-amz-security-token")
    if entry.session_token is not None:
        if token is None or not hmac.compare_digest(token.encode(), entry.session_token.encode()):
            raise SignatureError("invalid_token", "The security token included is invalid.")
    elif token is not None:
        raise SignatureError("invalid_token", "a security token was sent for long-term keys")

    payload_hash = hashlib.sha256(body).hexdigest()
    declared = lower.get("x-amz-content-sha256")
    if declared is not None and declared != payload_hash:
        raise SignatureError("body_hash_mismatch", "x-amz-content-sha256 is not the body's hash")

    canonical_request = "\n".join(
        [
            method,
            canonical_uri(url_path),
            canonical_query(query),
            "".join(f"{name}:{' '.join(lower[name].split())}\n" for name in signed),
            ";".join(signed),
            payload_hash,
        ]
    )
    credential_scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            amz_date,
            credential_scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = signing_key(entry.secret_key, date, region, service)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), match["signature"].encode()):
        raise SignatureError(
            "signature_mismatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    return entry.principal_arn


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_uri(raw_path: str) -> str:
    """The path, normalized (RFC 3986 dot segments, no empty segments) and encoded again.

    Every service but S3 encodes each segment twice: the path arrives encoded once.
    """
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    path = "/" + "/".join(segments)
    if segments and raw_path.endswith("/"):
        path += "/"
    return _encode(path, safe="/")


def canonical_query(query: str) -> str:
    """Parameters sorted by encoded name then value, each name and value encoded once."""
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _encode(text: str, safe: str = "") -> str:
    # RFC 3986 unreserved characters stay; everything else is %XX of its UTF-8 bytes.
    return quote(text, safe="-_.~" + safe)
