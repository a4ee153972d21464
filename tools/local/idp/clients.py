"""The test identity provider's clients and resources, as its configuration lists them,
and RFC 7523 client assertions for the ``private_key_jwt`` ones (cryptography, PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    PrivateKey = RSAPrivateKey | EllipticCurvePrivateKey

ORDERS_API = "api://orders"
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALL_SCOPES = "orders:read orders:write admin ops ws:connect"
# The admin APIs' permission (Graph, Keycloak, Auth0), granted on the default resource.
MANAGEMENT_SCOPE = "manage:clients"
# The Okta admin API's SSWS token and the Keycloak realm (IdentityProvider's defaults).
OKTA_API_TOKEN = "sg-test-okta-api-token-000000000000"
KEYCLOAK_REALM = "scopegate"
MANAGEMENT_SECRET = "sg-test-admin-api-Vd3kP9sW6yB2"
SIGNING_ALGS = ("RS256", "ES256", "PS256", "EdDSA")


def default_clients() -> list[dict[str, str]]:
    """Demo clients, one per typical permission set (secrets are test-only)."""
    scopes = {
        "reader": "orders:read",
        "writer": "orders:read orders:write",
        "admin": "admin ops",
        "partial-admin": "admin",
        "ws": "ws:connect",
        "all": ALL_SCOPES,
    }
    return [
        {
            "client_id": client_id,
            "client_secret": f"sg-test-{client_id}-7Qm2xV9pL4rT8wZ1",
            "scope": scope,
            "token_endpoint_auth_method": "client_secret_basic",
        }
        for client_id, scope in scopes.items()
    ]


def default_resources(alg: str = "RS256", ttl: int = 300) -> dict[str, dict[str, Any]]:
    """The orders API as the only resource server (also granting MANAGEMENT_SCOPE)."""
    return {ORDERS_API: {"scope": f"{ALL_SCOPES} {MANAGEMENT_SCOPE}", "ttl": ttl, "alg": alg}}


def management_client(
    client_id: str = "admin-api",
    secret: str = MANAGEMENT_SECRET,
    auth: str = "client_secret_basic",
) -> dict[str, str]:
    """A client whose tokens (scope MANAGEMENT_SCOPE) may call the admin APIs; ``auth`` is
    its token endpoint auth method, ``client_secret_basic`` or ``client_secret_post``."""
    if auth not in ("client_secret_basic", "client_secret_post"):
        raise ValueError(f"a management client authenticates with a secret, not {auth!r}")
    return {
        "client_id": client_id,
        "client_secret": secret,
        "scope": MANAGEMENT_SCOPE,
        "token_endpoint_auth_method": auth,
    }


def _b64url_uint(value: int, length: int | None = None) -> str:
    raw = value.to_bytes(length or (value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _public_jwk(private_key: PrivateKey) -> dict[str, str]:
    """The public half as a JWK with its alg: RS256 for RSA, ES256 for P-256."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(private_key, rsa.RSAPrivateKey):
        numbers = private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "alg": "RS256",
        }
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(
        private_key.curve, ec.SECP256R1
    ):
        point = private_key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url_uint(point.x, 32),
            "y": _b64url_uint(point.y, 32),
            "alg": "ES256",
        }
    raise ValueError(f"private_key_jwt needs an RSA or P-256 key, not {type(private_key)!r}")


def jwk_thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638 JWK thumbprint, the default kid."""
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def private_key_jwt_client(
    client_id: str, private_key: PrivateKey, scope: str, kid: str | None = None
) -> dict[str, Any]:
    """A client entry authenticating with ``private_key_jwt`` (RFC 7523) with this key.

    The IdP gets only the public JWK; ``kid`` defaults to the key's RFC 7638 thumbprint,
    which is also what sign_client_assertion() puts in the header when not told otherwise.
    """
    jwk = _public_jwk(private_key)
    jwk |= {"use": "sig", "kid": kid or jwk_thumbprint(jwk)}
    return {
        "client_id": client_id,
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [jwk]},
        "scope": scope,
    }


def sign_client_assertion(
    client_id: str,
    private_key: PrivateKey,
    audience: str | Sequence[str],
    *,
    kid: str | None = None,
    expires_in: int = 60,
    issued_at: int | None = None,
    jti: str | None = None,
) -> str:
    """An RFC 7523 client assertion (iss = sub = client_id), RS256 or ES256 by key type.

    The knobs exist so tests can build bad assertions (expired, replayed, wrong aud).
    """
    import jwt

    jwk = _public_jwk(private_key)
    now = int(time.time()) if issued_at is None else issued_at
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience if isinstance(audience, str) else list(audience),
        "iat": now,
        "exp": now + expires_in,
        "jti": jti or uuid.uuid4().hex,
    }
    headers = {"kid": kid or jwk_thumbprint(jwk)}
    return jwt.encode(claims, private_key, algorithm=jwk["alg"], headers=headers)
