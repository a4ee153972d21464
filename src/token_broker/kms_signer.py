"""Client assertions signed by a KMS asymmetric key: the client's ``signing_key``.

The private key never leaves KMS: the broker asks ``kms:Sign`` for each assertion (one
per token request, so once per token lifetime per grant with the token cache). Which JWS
algorithm a key signs is decided by its key spec, read once with ``kms:GetPublicKey``:
RSA keys sign RS256 (``RSASSA_PKCS1_V1_5_SHA_256``), ``ECC_NIST_P256`` keys ES256
(``ECDSA_SHA_256``). KMS returns ECDSA signatures DER-encoded; JWS (RFC 7518 section 3.4)
wants the raw ``r || s``, so they are converted.

Only public metadata is cached (the key's ARN, algorithm and public JWK), for
``max_age`` seconds, so an alias moved to a new key is followed within that time; every
assertion is signed by the key ARN its ``kid`` was computed from, never by the alias, so
the two always match. The ``kid`` is the RFC 7638 thumbprint of the public key unless the
client's secret names one: it is what ``python -m token_broker.jwks`` prints.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key

from scopegate_core.aws import request_client
from token_broker.errors import ConfigError, Unavailable

Alg = Literal["RS256", "ES256"]
PUBLIC_MAX_AGE = 300.0  # seconds the public metadata of a key (alias) is trusted
SIGNING_ALGORITHMS: dict[Alg, str] = {
    "RS256": "RSASSA_PKCS1_V1_5_SHA_256",
    "ES256": "ECDSA_SHA_256",
}
_SPECS: dict[str, Alg] = {
    "RSA_2048": "RS256",
    "RSA_3072": "RS256",
    "RSA_4096": "RS256",
    "ECC_NIST_P256": "ES256",
}
# KMS answers that mean the key cannot sign for us until the operator acts (500).
_MISCONFIGURED = frozenset(
    {
        "NotFoundException",
        "AccessDeniedException",
        "DisabledException",
        "KMSInvalidStateException",
        "InvalidKeyUsageException",
        "ValidationException",
        "UnsupportedOperationException",
    }
)


@dataclass(frozen=True, slots=True)
class PublicSigningKey:
    """What the broker knows about a KMS signing key: nothing secret."""

    key_id: str  # the key KMS resolved the configured id, ARN or alias to
    alg: Alg
    jwk: dict[str, str]  # the public key as a JWK, with kid, alg and use
    spki: bytes  # the public key as KMS returns it: DER SubjectPublicKeyInfo

    @property
    def kid(self) -> str:
        return self.jwk["kid"]


class KmsSigner:
    """``kms:GetPublicKey`` (cached) and ``kms:Sign``; the boto3 client is made on first use."""

    def __init__(
        self,
        client: Any = None,
        *,
        max_age: float = PUBLIC_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.max_age = max_age
        self._clock = clock
        self._public: dict[str, tuple[float, PublicSigningKey]] = {}
        self._lock = threading.Lock()

    def public_key(self, key_id: str) -> PublicSigningKey:
        """The key's public metadata (``key_id`` as configured: id, ARN or alias)."""
        with self._lock:
            cached = self._public.get(key_id)
        if cached is not None and self._clock() - cached[0] < self.max_age:
            return cached[1]
        answer = self._call("get_public_key", key_id, KeyId=key_id)
        public = _public_signing_key(key_id, answer)
        with self._lock:
            self._public[key_id] = (self._clock(), public)
        return public

    def sign(self, key: PublicSigningKey, message: bytes, *, jws: bool = True) -> bytes:
        """The JWS signature of ``message`` (raw ``r || s`` for ES256), or with
        ``jws=False`` KMS's own (DER for ECDSA, as X.509 wants it)."""
        answer = self._call(
            "sign",
            key.key_id,
            KeyId=key.key_id,
            Message=message,
            MessageType="RAW",
            SigningAlgorithm=SIGNING_ALGORITHMS[key.alg],
        )
        signature = bytes(answer["Signature"])
        if key.alg == "RS256" or not jws:
            return signature
        r, s = decode_dss_signature(signature)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def _call(self, operation: str, key_id: str, **kwargs: Any) -> dict[str, Any]:
        if self._client is None:
            self._client = default_client()
        try:
            answer: dict[str, Any] = getattr(self._client, operation)(**kwargs)
        except Exception as e:
            code = getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)
            if code in _MISCONFIGURED:
                raise ConfigError(
                    f"KMS signing key {key_id!r} cannot be used: {code}",
                    reason="signing_key_unusable",
                ) from e
            raise Unavailable(f"KMS is unavailable: {code}", reason="kms_unavailable") from e
        return answer


def _public_signing_key(key_id: str, answer: dict[str, Any]) -> PublicSigningKey:
    spec = answer.get("KeySpec") or answer.get("CustomerMasterKeySpec")
    alg = _SPECS.get(str(spec))
    usage = answer.get("KeyUsage")
    if usage != "SIGN_VERIFY" or alg is None:
        raise ConfigError(
            f"KMS key {key_id!r} is not an RSA or ECC_NIST_P256 key for SIGN_VERIFY "
            f"(KeySpec {spec or 'unknown'}, KeyUsage {usage or 'unknown'})",
            reason="signing_key_unusable",
        )
    spki = bytes(answer["PublicKey"])
    jwk = public_jwk(load_der_public_key(spki))
    jwk |= {"kid": thumbprint(jwk), "alg": alg, "use": "sig"}
    return PublicSigningKey(str(answer.get("KeyId") or key_id), alg, jwk, spki)


def public_jwk(key: object) -> dict[str, str]:
    """The RFC 7517 members of an RSA or P-256 public key."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        point = key.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _uint(point.x, 32), "y": _uint(point.y, 32)}
    raise ConfigError("a KMS signing key must be RSA or P-256", reason="signing_key_unusable")


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without whitespace."""
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode("ascii")).digest())


def default_client(region: str | None = None) -> Any:
    return request_client("kms", region=region)


def _uint(value: int, length: int | None = None) -> str:
    return _b64(value.to_bytes(length or (value.bit_length() + 7) // 8, "big"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def kms_assertion(
    signer: KmsSigner,
    signing_key: str,
    client_id: str,
    kid: str | None,
    token_endpoint: str,
    *,
    now: float,
    x5t: str | None = None,
) -> str:
    """An RFC 7523 assertion for ``client_id`` signed in KMS; ``kid`` defaults to the
    key's thumbprint. ``x5t`` (the certificate thumbprint Entra ID identifies a
    certificate credential by) goes in the header when given."""
    from token_broker.assertion import signed_assertion

    key = signer.public_key(signing_key)
    return signed_assertion(
        client_id,
        token_endpoint,
        alg=key.alg,
        kid=kid or key.kid,
        sign=lambda data: signer.sign(key, data),
        now=now,
        x5t=x5t,
    )
