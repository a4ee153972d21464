"""Real keys and real signatures for tests: compact JWS for every algorithm, and JWKs.

``sign`` does no validation on purpose: tests use it to build hostile tokens too (``none``,
HS256 with a public key as the secret, raw header bytes with duplicate members).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)
PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "256": hashes.SHA256(),
    "384": hashes.SHA384(),
    "512": hashes.SHA512(),
}
_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}
_CRV_OF = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

# The key each algorithm is normally signed with, by ``private_key`` name.
KEY_FOR_ALG = {
    **{f"{p}{n}": "RSA2048" for p in ("RS", "PS") for n in _HASHES},
    "ES256": "P-256",
    "ES384": "P-384",
    "ES512": "P-521",
    "EdDSA": "Ed25519",
}


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWS uses."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@cache
def private_key(name: str) -> PrivateKey:
    """A fresh key per process: RSA1024, RSA2048, RSA3072, P-256, P-384, P-521, Ed25519, Ed448.

    ``name`` may carry a suffix (``"RSA2048:attacker"``) to get a second, distinct key.
    """
    kind = name.split(":")[0]
    if kind.startswith("RSA"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    if kind in _CURVES:
        return ec.generate_private_key(_CURVES[kind])
    if kind == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "Ed448":
        return ed448.Ed448PrivateKey.generate()
    raise ValueError(f"unknown key kind {name!r}")


def _json(value: Mapping[str, object] | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    return json.dumps(value, separators=(",", ":")).encode()


def signature_for(alg: str, signing_input: bytes, key: PrivateKey | bytes | None) -> bytes:
    """The JWS signature of ``signing_input``: ``key`` is a private key, an HMAC secret or None."""
    if alg.lower() == "none" or key is None:
        return b""
    if isinstance(key, bytes):
        return hmac.new(key, signing_input, getattr(hashlib, f"sha{alg[2:]}")).digest()
    if isinstance(key, rsa.RSAPrivateKey):
        h = _HASHES[alg[2:]]
        pad: padding.AsymmetricPadding = (
            padding.PSS(padding.MGF1(h), h.digest_size) if alg[:2] == "PS" else padding.PKCS1v15()
        )
        return key.sign(signing_input, pad, h)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        der = key.sign(signing_input, ec.ECDSA(_HASHES[alg[2:]]))
        r, s = decode_dss_signature(der)
        return r.to_bytes(size) + s.to_bytes(size)
    return key.sign(signing_input)


def sign(
    header: Mapping[str, object] | bytes,
    payload: Mapping[str, object] | bytes,
    private_key: PrivateKey | bytes | None,
    *,
    alg: str | None = None,
) -> str:
    """A compact JWS over ``header`` and ``payload`` (dicts, or raw JSON bytes).

    The algorithm is ``header["alg"]`` unless ``alg`` is given (needed for raw bytes).
    """
    if alg is None:
        assert not isinstance(header, bytes), "pass alg= with a raw header"
        alg = str(header["alg"])
    signing_input = f"{b64url(_json(header))}.{b64url(_json(payload))}"
    signature = signature_for(alg, signing_input.encode("ascii"), private_key)
    return f"{signing_input}.{b64url(signature)}"


def jwk_of(public_key: PublicKey, kid: str | None, alg: str | None = None) -> dict[str, object]:
    """The public JWK of ``public_key``, as an identity provider would publish it."""
    jwk: dict[str, object]
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        jwk = {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        size = (public_key.curve.key_size + 7) // 8
        point = public_key.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": _CRV_OF[public_key.curve.name],
            "x": b64url(point.x.to_bytes(size)),
            "y": b64url(point.y.to_bytes(size)),
        }
    else:
        crv = "Ed25519" if isinstance(public_key, ed25519.Ed25519PublicKey) else "Ed448"
        jwk = {"kty": "OKP", "crv": crv, "x": b64url(public_key.public_bytes_raw())}
    if kid is not None:
        jwk["kid"] = kid
    if alg is not None:
        jwk["alg"] = alg
    return jwk


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8))


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def other_ecdsa_form(token: str) -> str:
    """The same ES256 token with its signature (r, s) turned into (r, n - s): a second
    valid spelling that needs no key, only the token (see authorizer/jws.py)."""
    header, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    r, s = int.from_bytes(raw[:32]), int.from_bytes(raw[32:])
    return ".".join([header, payload, b64url(r.to_bytes(32) + (P256_ORDER - s).to_bytes(32))])
