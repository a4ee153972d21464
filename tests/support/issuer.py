"""A local issuer for unit tests: real generated keys, tokens signed with them, and a JWKS
fetcher that counts requests and can be switched off (the injected I/O boundary)."""

from __future__ import annotations

import time
from typing import Any

from authorizer.errors import FetchError
from tests.support.signing import KEY_FOR_ALG, PrivateKey, jwk_of, private_key, sign

ISSUER = "https://issuer.test"
AUDIENCE = "api://orders"
DISCOVERY = ISSUER + "/.well-known/openid-configuration"
JWKS_URI = ISSUER + "/keys"


class LocalIssuer:
    def __init__(self, alg: str = "RS256", kid: str = "k1", issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self.keys: dict[str, tuple[PrivateKey, str]] = {}
        self.add_key(kid, alg)
        self.current = kid
        self.requests: list[str] = []
        self.down = False

    def add_key(self, kid: str, alg: str = "RS256", *, name: str | None = None) -> None:
        self.keys[kid] = (private_key(name or f"{KEY_FOR_ALG[alg]}:{kid}"), alg)

    def rotate(self, kid: str, *, keep_old: bool = True, alg: str = "RS256") -> None:
        if not keep_old:
            self.keys.clear()
        self.add_key(kid, alg)
        self.current = kid

    def jwks(self) -> dict[str, Any]:
        return {"keys": [jwk_of(k.public_key(), kid, alg) for kid, (k, alg) in self.keys.items()]}

    def get_json(self, url: str) -> Any:
        self.requests.append(url)
        if self.down:
            raise FetchError(f"GET {url} failed: connection refused")
        if url == self.issuer + "/.well-known/openid-configuration":
            return {"issuer": self.issuer, "jwks_uri": self.issuer + "/keys"}
        if url == self.issuer + "/keys":
            return self.jwks()
        raise FetchError(f"GET {url} answered HTTP 404")

    def claims(self, scope: str | None = "orders:read", **overrides: Any) -> dict[str, Any]:
        """The claims of a token of this issuer; a claim given as None is left out."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "client-1",
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
            "jti": "jti-1",
            "client_id": "client-1",
            "scope": scope,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        scope: str | None = "orders:read",
        *,
        kid: str | None = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        kid = kid or self.current
        key, alg = self.keys[kid]
        hdr = {"alg": alg, "kid": kid, "typ": "at+jwt", **(header or {})}
        return sign(hdr, self.claims(scope, **claims), key)
