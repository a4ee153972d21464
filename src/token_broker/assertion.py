"""RFC 7523 client assertions for ``private_key_jwt``: RS256 for RSA keys, ES256 for P-256.

``signed_assertion`` builds and signs one with any signer (``kms_signer`` uses it for keys
that stay in KMS); ``client_assertion`` signs with the PEM key held in the client's secret.

Signed with ``cryptography`` directly (PyJWT is a test dependency only). Loading an RSA
PEM costs milliseconds, so loaded keys are kept in a small cache keyed by the PEM's
SHA-256, never by the PEM itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from token_broker.credentials import Credentials
from token_broker.errors import ConfigError

DEFAULT_LIFETIME = 60  # seconds: an assertion is used once, right away
MIN_RSA_BITS = 2048  # RFC 7518 section 3.3
CACHE_SIZE = 32

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_keys: OrderedDict[bytes, tuple[str, SigningKey]] = OrderedDict()
_lock = threading.Lock()


def client_assertion(
    credentials: Credentials, token_endpoint: str, *, now: float, lifetime: int = DEFAULT_LIFETIME
) -> str:
    """A fresh signed JWT proving ``credentials.client_id`` to ``token_endpoint``.

    Raises ``ConfigError`` (naming the client id only) when the secret holds no usable key.
    """
    alg, key = _signing_key(credentials)
    return signed_assertion(
        credentials.client_id,
        token_endpoint,
        alg=alg,
        kid=credentials.kid,
        sign=lambda data: _sign(key, data),
        now=now,
        lifetime=lifetime,
    )


def signed_assertion(
    client_id: str,
    token_endpoint: str,
    *,
    alg: str,
    kid: str | None,
    sign: Callable[[bytes], bytes],
    now: float,
    lifetime: int = DEFAULT_LIFETIME,
    x5t: str | None = None,
) -> str:
    """The assertion's claims and header, signed by ``sign`` (a JWS signature for ``alg``)."""
    header = {"alg": alg, "typ": "JWT"}
    if kid:
        header["kid"] = kid
    if x5t:
        header["x5t"] = x5t
    issued = int(now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint,
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "jti": secrets.token_urlsafe(24),
    }
    signing_input = f"{_b64json(header)}.{_b64json(claims)}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{_b64(sign(signing_input))}"


def _sign(key: SigningKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    # JWS (RFC 7518 section 3.4) wants the raw r || s form, not DER.
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _signing_key(credentials: Credentials) -> tuple[str, SigningKey]:
    pem = credentials.private_key
    who = f"the secret of client id {credentials.client_id!r}"
    if not pem:
        raise ConfigError(f"{who} has no private_key, which private_key_jwt needs")
    digest = hashlib.sha256(pem.encode("utf-8")).digest()
    with _lock:
        cached = _keys.get(digest)
        if cached is not None:
            _keys.move_to_end(digest)
            return cached
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        # The cause names nothing secret, but the message stays generic on purpose.
        raise ConfigError(f"{who}: private_key is not an unencrypted PKCS#8 PEM key") from e
    loaded: tuple[str, SigningKey]
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ConfigError(f"{who}: RSA private_key is shorter than {MIN_RSA_BITS} bits")
        loaded = ("RS256", key)
    elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        loaded = ("ES256", key)
    else:
        raise ConfigError(f"{who}: private_key must be an RSA or P-256 key (RS256 or ES256)")
    with _lock:
        _keys[digest] = loaded
        while len(_keys) > CACHE_SIZE:
            _keys.popitem(last=False)
    return loaded


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: Mapping[str, object]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode("utf-8"))
