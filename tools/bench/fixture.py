"""What the authorizer benchmarks run on: one RSA-2048 key and its JWKS, signed tokens, the
50-route config, and a JWKS served over HTTP from 127.0.0.1."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from authorizer.decision import TOKENS_KEPT

ISSUER = "https://idp.example.com/oauth2/default"
AUDIENCE = "api://orders"
KID = "bench-rsa-2048"
SCOPE = "orders:read orders:write products:read customers:read"
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders/42"
EXPECTED_ROUTE = "GET /orders/{id}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(obj: object) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Fixture:
    """One RSA 2048 key, its JWKS and PEM, and one valid access token signed with it."""

    public_key: rsa.RSAPublicKey
    jwks: dict[str, Any]
    public_pem: str
    token: str
    signing_input: bytes
    signature: bytes
    fresh_tokens: list[str]  # distinct tokens, more than the authorizer remembers


# Three disjoint pools (one per figure that needs new tokens), each twice the tokens the
# authorizer remembers: cycling through a pool never finds a token it knows.
FRESH_TOKENS = 3 * 2 * TOKENS_KEPT


def make_fixture() -> Fixture:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key()
    numbers = public.public_numbers()
    jwk = {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": KID,
        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8)),
        "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8)),
    }
    now = int(time.time())
    header = {"alg": "RS256", "typ": "at+jwt", "kid": KID}
    claims = {
        "iss": ISSUER,
        "sub": "00u1a2b3c4d5e6f7g8h9",
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "AT.6f1d2c3b4a5968778695a4b3c2d1e0f1",
        "client_id": "0oa9z8y7x6w5v4u3t2s1",
        "scope": SCOPE,
    }
    signing_input = f"{b64json(header)}.{b64json(claims)}".encode("ascii")
    signature = private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    fresh = []
    for n in range(FRESH_TOKENS):
        body = f"{b64json(header)}.{b64json({**claims, 'jti': f'AT.{n:032x}'})}".encode("ascii")
        fresh.append(
            f"{body.decode()}.{b64url(private.sign(body, padding.PKCS1v15(), hashes.SHA256()))}"
        )
    return Fixture(
        public,
        {"keys": [jwk]},
        pem,
        f"{signing_input.decode()}.{b64url(signature)}",
        signing_input,
        signature,
        fresh,
    )


def routes_config() -> list[dict[str, Any]]:
    """50 routes of a plausible shop API: literals, {params}, two {proxy+}, ANY, all_scopes."""
    rules: list[tuple[str, list[str]]] = [
        ("GET /orders", ["orders:read"]),
        ("POST /orders", ["orders:write"]),
        ("GET /orders/search", ["orders:read"]),
        ("GET /orders/{id}", ["orders:read"]),
        ("PUT /orders/{id}", ["orders:write"]),
        ("DELETE /orders/{id}", ["orders:admin"]),
        ("GET /orders/{id}/items", ["orders:read"]),
        ("POST /orders/{id}/items", ["orders:write"]),
        ("GET /orders/{id}/items/{itemId}", ["orders:read"]),
        ("DELETE /orders/{id}/items/{itemId}", ["orders:write"]),
        ("POST /orders/{id}/cancel", ["orders:write", "support:write"]),
        ("GET /customers", ["customers:read"]),
        ("POST /customers", ["customers:write"]),
        ("GET /customers/me", ["profile"]),
        ("GET /customers/{id}", ["customers:read"]),
        ("PATCH /customers/{id}", ["customers:write"]),
        ("DELETE /customers/{id}", ["customers:admin"]),
        ("GET /customers/{id}/orders", ["customers:read", "orders:read"]),
        ("GET /customers/{id}/addresses", ["customers:read"]),
        ("POST /customers/{id}/addresses", ["customers:write"]),
        ("GET /products", ["products:read"]),
        ("POST /products", ["products:write"]),
        ("GET /products/categories", ["products:read"]),
        ("GET /products/categories/{category}", ["products:read"]),
        ("GET /products/{id}", ["products:read"]),
        ("PUT /products/{id}", ["products:write"]),
        ("DELETE /products/{id}", ["products:admin"]),
        ("GET /products/{id}/reviews", ["products:read"]),
        ("POST /products/{id}/reviews", ["reviews:write"]),
        ("GET /inventory", ["inventory:read"]),
        ("GET /inventory/{sku}", ["inventory:read"]),
        ("PUT /inventory/{sku}", ["inventory:write"]),
        ("POST /inventory/{sku}/reservations", ["inventory:write", "orders:write"]),
        ("GET /invoices", ["billing:read"]),
        ("POST /invoices", ["billing:write"]),
        ("GET /invoices/{id}", ["billing:read"]),
        ("GET /invoices/{id}/pdf", ["billing:read"]),
        ("POST /payments", ["payments:write"]),
        ("GET /payments/{id}", ["payments:read"]),
        ("POST /payments/{id}/refunds", ["payments:refund"]),
        ("GET /shipments", ["shipping:read"]),
        ("POST /shipments", ["shipping:write"]),
        ("GET /shipments/{id}", ["shipping:read"]),
        ("GET /shipments/{id}/tracking", ["shipping:read", "orders:read"]),
        ("GET /reports/sales", ["reports:read"]),
        ("GET /reports/inventory", ["reports:read"]),
        ("GET /files/{proxy+}", ["files:read"]),
        ("OPTIONS /orders", ["orders:read"]),
        ("GET /health", ["monitoring"]),
    ]
    routes: list[dict[str, Any]] = [{"route": r, "scopes": s} for r, s in rules]
    routes.append({"route": "ANY /admin/{proxy+}", "all_scopes": ["admin", "ops"]})
    assert len(routes) == 50
    return routes


def handler_config(jwks_uri: str) -> dict[str, Any]:
    return {
        "issuers": [
            {
                "issuer": ISSUER,
                "audiences": [AUDIENCE, "api://billing"],
                "algorithms": ["RS256", "ES256"],
                "jwks_uri": jwks_uri,
                "leeway_seconds": 30,
            }
        ],
        "routes": routes_config(),
        "context_claims": ["sub", "client_id", "scope"],
    }


class MemoryFetcher:
    """In-memory ``JsonFetcher``: the JWKS without any I/O."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.calls = 0

    def get_json(self, url: str) -> Any:
        self.calls += 1
        return self.doc


class JwksServer:
    """Serves the JWKS at http://127.0.0.1:PORT/jwks from a daemon thread; counts fetches."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                server.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.hits = 0
        self._httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def rest_token_event(token: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}
