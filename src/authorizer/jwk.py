"""Public verification keys from a JWKS (RFC 7517, 7518, 8037), and the key set lookup.

Only asymmetric signature keys load: never ``oct`` keys (HS/RS confusion), encryption keys,
JWKs with private members, RSA moduli under 2048 bits or with the ROCA flaw. A key verifies
only what its type, curve and own ``alg`` allow: a token's header never decides that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from authorizer.errors import InvalidSignature, KeyMismatch, KeyNotFound
from authorizer.jws import ALGORITHMS, b64url_decode

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey

MIN_RSA_BITS = 2048
# (kty, crv) -> the algorithms such a key can verify.
_ALGS_FOR: dict[tuple[str, str | None], frozenset[str]] = {
    ("RSA", None): frozenset(("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")),
    ("EC", "P-256"): frozenset(("ES256",)),
    ("EC", "P-384"): frozenset(("ES384",)),
    ("EC", "P-521"): frozenset(("ES512",)),
    ("OKP", "Ed25519"): frozenset(("EdDSA",)),
    ("OKP", "Ed448"): frozenset(("EdDSA",)),
}
_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}
_CRV_OF = {curve.name: crv for crv, curve in _CURVES.items()}
_HASH = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
# RFC 7518 3.5: PSS uses MGF1 with the same hash and a salt exactly as long as the digest.
_RSA: dict[str, tuple[padding.AsymmetricPadding, hashes.HashAlgorithm]] = {
    **{f"RS{n}": (padding.PKCS1v15(), h) for n, h in _HASH.items()},
    **{f"PS{n}": (padding.PSS(padding.MGF1(h), h.digest_size), h) for n, h in _HASH.items()},
}
_ECDSA = {f"ES{n}": ec.ECDSA(h) for n, h in _HASH.items()}
_PRIVATE_MEMBERS = frozenset(("d", "p", "q", "dp", "dq", "qi", "oth", "k"))


class JwkError(ValueError):
    """A JWK or JWKS document that is refused; the message never includes key material."""


Verifier = Callable[[bytes, bytes], None]  # (signature, signing input); raises if wrong


def _verifier(key: PublicKey, alg: str) -> Verifier:
    if isinstance(key, rsa.RSAPublicKey):
        verify, (pad, hash_) = key.verify, _RSA[alg]
        length = (key.key_size + 7) // 8

        def check_rsa(signature: bytes, signing_input: bytes) -> None:
            # RFC 8017 sections 8.1.2 and 8.2.2, step 1: exactly k octets, k the modulus
            # length. OpenSSL accepts a shorter PSS signature (its leading zeros dropped),
            # which would give one signature two spellings.
            if len(signature) != length:
                raise InvalidSignature("the RSA signature is not as long as the modulus")
            verify(signature, signing_input, pad, hash_)

        return check_rsa
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return key.verify  # Ed25519 and Ed448 take (signature, data) as they are
    size, ec_verify, ecdsa = (key.curve.key_size + 7) // 8, key.verify, _ECDSA[alg]

    def check(signature: bytes, signing_input: bytes) -> None:
        if len(signature) != 2 * size:  # RFC 7518 3.4: exactly r || s, 32/48/66 bytes each
            raise InvalidSignature("the ECDSA signature is not exactly r || s")
        r, s = int.from_bytes(signature[:size]), int.from_bytes(signature[size:])
        ec_verify(encode_dss_signature(r, s), signing_input, ecdsa)

    return check


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One public signature key, checked for internal consistency when built."""

    kid: str | None
    alg: str | None
    kty: str
    crv: str | None
    public_key: PublicKey
    # alg -> how to verify it with this key: built once, so ``verify`` only looks it up.
    _verifiers: dict[str, Verifier] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = self.public_key
        kind: tuple[str, str | None] = ("RSA", None)
        if isinstance(key, ec.EllipticCurvePublicKey):
            kind = ("EC", _CRV_OF.get(key.curve.name))
        elif not isinstance(key, rsa.RSAPublicKey):
            kind = ("OKP", "Ed25519" if isinstance(key, Ed25519PublicKey) else "Ed448")
        elif key.key_size < MIN_RSA_BITS:
            raise JwkError(f"RSA modulus shorter than {MIN_RSA_BITS} bits")
        if kind != (self.kty, self.crv) or kind not in _ALGS_FOR:
            raise JwkError("kty and crv do not describe the public key")
        if self.alg is not None and self.alg not in _ALGS_FOR[kind]:
            raise JwkError("the key's alg does not fit its kty and crv")
        algs = _ALGS_FOR[kind] if self.alg is None else {self.alg}
        object.__setattr__(self, "_verifiers", {alg: _verifier(key, alg) for alg in algs})

    @property
    def algorithms(self) -> frozenset[str]:
        """The token algorithms this key may verify (narrowed by the JWK's own ``alg``)."""
        return frozenset(self._verifiers)

    def verify(self, alg: str, signing_input: bytes, signature: bytes) -> None:
        """Return if ``signature`` is this key's over ``signing_input`` with ``alg``; else raise
        ``KeyMismatch`` (the key may not be used with ``alg``) or ``InvalidSignature``."""
        check = self._verifiers.get(alg)
        if check is None:
            raise KeyMismatch("the key's type, curve or alg does not fit the token's alg")
        try:
            check(signature, signing_input)
        except _CryptoInvalidSignature as e:
            raise InvalidSignature("the signature does not verify") from e


def _optional_str(obj: dict[str, object], name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise JwkError(f"the JWK's '{name}' is not a string")
    return value


def _b64(obj: dict[str, object], name: str, size: int | None = None) -> bytes:
    value = obj.get(name)
    try:
        data = b64url_decode(value) if isinstance(value, str) else b""
    except ValueError as e:
        raise JwkError(f"the JWK's '{name}' is not canonical base64url") from e
    if not data or (size is not None and len(data) != size):
        raise JwkError(f"the JWK's '{name}' is missing or has the wrong length")
    return data


@cache
def _roca_residues() -> tuple[tuple[int, int], ...]:
    """(prime, mask of the powers of 65537 modulo it), primes 3 to 167. ROCA moduli
    (CVE-2017-15361) are 65537^k mod M, so they hit every mask; sound ones almost never."""
    primes = [p for p in range(3, 168) if all(p % d for d in range(2, p))]
    return tuple((p, sum(1 << r for r in {pow(65537, k, p) for k in range(p)})) for p in primes)


def _rsa_key(obj: dict[str, object]) -> rsa.RSAPublicKey:
    n, e = int.from_bytes(_b64(obj, "n")), int.from_bytes(_b64(obj, "e"))
    if n.bit_length() < MIN_RSA_BITS:
        raise JwkError(f"RSA modulus shorter than {MIN_RSA_BITS} bits")
    if e < 3 or not e & 1:
        raise JwkError("RSA public exponent is not odd and greater than 1")
    if all(mask >> (n % p) & 1 for p, mask in _roca_residues()):
        raise JwkError("RSA modulus has the ROCA weakness (CVE-2017-15361)")
    return rsa.RSAPublicNumbers(e, n).public_key()


def load_jwk(obj: dict[str, object]) -> VerificationKey:
    """Build a verification key from one JWK, or raise ``JwkError`` saying why not."""
    if not isinstance(obj, dict):
        raise JwkError("the JWK is not a JSON object")
    if not _PRIVATE_MEMBERS.isdisjoint(obj):
        raise JwkError("the JWK has private or symmetric key members")
    kid, alg, kty = _optional_str(obj, "kid"), _optional_str(obj, "alg"), obj.get("kty")
    if "use" in obj and obj["use"] != "sig":
        raise JwkError("the JWK's 'use' is not 'sig'")
    ops = obj.get("key_ops", ["verify"])
    if not isinstance(ops, list) or "verify" not in ops:
        raise JwkError("the JWK's 'key_ops' does not include 'verify'")
    if alg is not None and alg not in ALGORITHMS:
        raise JwkError("the JWK's 'alg' is not a supported signature algorithm")
    crv = _optional_str(obj, "crv")
    key: PublicKey
    try:
        if kty == "RSA" and crv is None:
            key = _rsa_key(obj)
        elif kty == "EC" and crv in _CURVES:
            curve, size = _CURVES[crv], (_CURVES[crv].key_size + 7) // 8
            point = b"\x04" + _b64(obj, "x", size) + _b64(obj, "y", size)
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        elif kty == "OKP" and crv in ("Ed25519", "Ed448"):
            okp = Ed25519PublicKey if crv == "Ed25519" else Ed448PublicKey
            key = okp.from_public_bytes(_b64(obj, "x", 32 if crv == "Ed25519" else 57))
        else:
            raise JwkError("unsupported kty or crv (symmetric 'oct' keys are never loaded)")
    except JwkError:
        raise
    except ValueError as e:  # a point not on the curve, numbers cryptography refuses
        raise JwkError("the JWK's public key is invalid") from e
    return VerificationKey(kid, alg, kty, crv, key)


class KeySet:
    """The usable keys of one JWKS, looked up by exact ``kid`` and the token's ``alg``.

    ``skipped`` says why each unusable JWKS entry was left out (for logs; no key material).
    """

    __slots__ = ("_index", "_keys", "skipped")

    def __init__(self, keys: Iterable[VerificationKey], *, skipped: Iterable[str] = ()) -> None:
        self._keys = tuple(keys)
        self.skipped: tuple[str, ...] = tuple(skipped)
        index: dict[tuple[str | None, str], list[VerificationKey]] = {}
        for key in self._keys:
            for alg in key.algorithms:
                index.setdefault((None, alg), []).append(key)  # for tokens without kid
                if key.kid is not None:
                    index.setdefault((key.kid, alg), []).append(key)
        self._index = {where: tuple(found) for where, found in index.items()}

    @property
    def kids(self) -> tuple[str | None, ...]:
        """The ``kid`` of every usable key, in JWKS order (for logs)."""
        return tuple(key.kid for key in self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, kid: str | None, alg: str) -> VerificationKey:
        """The one key with this ``kid`` (any key, when ``kid`` is None) that fits ``alg``.

        ``KeyNotFound`` when no key has the ``kid``, or when no key or several keys fit;
        ``KeyMismatch`` when keys with the ``kid`` exist but none fits ``alg``.
        """
        found = self._index.get((kid, alg), ())
        if len(found) == 1:
            return found[0]
        if found:
            raise KeyNotFound("several keys fit the token's kid and alg", reason="key_ambiguous")
        if kid is not None and kid in self.kids:
            raise KeyMismatch("the key with the token's kid does not fit the token's alg")
        raise KeyNotFound("no key fits the token's kid and alg")


def load_jwks(doc: object) -> KeySet:
    """Load a JWKS document ``{"keys": [...]}``; unusable entries are skipped, not fatal.

    Raises ``JwkError`` when the document itself is not a JWKS.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise JwkError('the JWKS is not a JSON object with a "keys" list')
    keys: list[VerificationKey] = []
    skipped: list[str] = []
    for i, entry in enumerate(doc["keys"]):
        try:
            keys.append(load_jwk(entry))
        except JwkError as e:
            kid = entry.get("kid") if isinstance(entry, dict) else None
            skipped.append(f"keys[{i}] (kid {kid!r}): {e}")
    return KeySet(keys, skipped=skipped)
