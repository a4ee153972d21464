"""Launcher for the real test identity provider (``tests/idp/server.js``, oidc-provider).

The provider runs as a child ``node`` process on 127.0.0.1 and issues JWT access tokens
through the OAuth client credentials grant. Each client must authenticate the way it is
registered (``client_secret_basic``, ``client_secret_post`` or ``private_key_jwt``).
Standard library only, except the ``private_key_jwt`` helpers (cryptography, PyJWT).

    with IdentityProvider(default_clients()) as idp:
        token = idp.token("reader", idp.client_secret("reader"), scope="orders:read")

Test-only controls: ``set_fault()`` makes the token endpoint fail or stall, and
``token_log()`` shows what each token request really carried (never a secret).

Secret rotation: every ``client_secret_basic`` / ``client_secret_post`` client holds a list
of secrets (at first its configured one, id ``initial``), changed through provider-shaped
admin APIs on the issuer: Okta (``/api/v1/apps/{appId}/credentials/secrets``, header
``Authorization: SSWS`` + ``OKTA_API_TOKEN``), Microsoft Graph for Entra ID
(``/v1.0/applications(appId='...')``, ``addPassword`` / ``removePassword``), Keycloak
(``/admin/realms/{KEYCLOAK_REALM}/clients``, ``client-secret``, ``client-secret/rotated``) and
Auth0 (``/api/v2/clients/{id}``, ``rotate-secret``). The last three want a bearer access
token of this IdP carrying ``MANAGEMENT_SCOPE``, which a ``management_client()`` gets from
the token endpoint. The token endpoint accepts any live secret of a client's list, also
under the providers' own token paths (``/oauth/token``,
``/realms/{KEYCLOAK_REALM}/protocol/openid-connect/token``, ``/{tenant}/oauth2/v2.0/token``;
on the Entra and Auth0 ones a scope ending in ``/.default`` means ``MANAGEMENT_SCOPE``, on
the Auth0 and Keycloak ones a request without scope gets the client's registered scope).
``secrets()`` shows a list (hashes only), ``set_secret_propagation()`` delays new secrets
as Auth0 may, ``reset_secrets()`` restores the configured ones; see tests/idp/server.js.

    with IdentityProvider([*default_clients(), management_client()]) as idp:
        admin = idp.token("admin-api", MANAGEMENT_SECRET, scope=MANAGEMENT_SCOPE)

Provider-shaped tenants (``tenants=``, built with tests/support/tenants.py): a Cognito user
pool, Entra ID tenants, an Okta custom authorization server, Auth0 tenants and Keycloak
realms, each issuing tokens as that provider does at its own endpoints (``tenant(name)``);
``tenant_token()`` asks a tenant's token endpoint, ``cognito_id_token()`` makes the ID token
a user's sign-in would return.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    PrivateKey = RSAPrivateKey | EllipticCurvePrivateKey

REPO_ROOT = Path(__file__).resolve().parents[2]
IDP_DIR = REPO_ROOT / "tests" / "idp"
SERVER_JS = IDP_DIR / "server.js"

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

# No proxy for loopback, whatever the environment says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_HTTP_TIMEOUT = 10.0


class IdentityProviderError(RuntimeError):
    """The identity provider could not be started or answered unexpectedly."""


class IdentityProviderUnavailableError(IdentityProviderError):
    """node or the installed oidc-provider package is missing (run `make idp`)."""


class TokenRequestError(IdentityProviderError):
    """The token endpoint refused a request; ``body`` is the IdP's error document."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"token request refused by the IdP (HTTP {status}): {body}")
        self.status = status
        self.body = body

    @property
    def error(self) -> str | None:
        """The OAuth ``error`` code from the body, if it is JSON."""
        try:
            value = json.loads(self.body).get("error")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None


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


def _thumbprint(jwk: Mapping[str, str]) -> str:
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
    jwk |= {"use": "sig", "kid": kid or _thumbprint(jwk)}
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
    headers = {"kid": kid or _thumbprint(jwk)}
    return jwt.encode(claims, private_key, algorithm=jwk["alg"], headers=headers)


def _json_object(data: bytes | str) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise IdentityProviderError(f"expected a JSON object, got: {value!r}")
    return value


class IdentityProvider:
    """A running oidc-provider on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        clients: Sequence[Mapping[str, Any]] | None = None,
        resources: Mapping[str, Mapping[str, Any]] | None = None,
        default_resource: str | None = ORDERS_API,
        signing_algs: Sequence[str] = SIGNING_ALGS,
        port: int = 0,
        start_timeout: float = 20.0,
        *,
        okta_api_token: str = OKTA_API_TOKEN,
        management_scope: str = MANAGEMENT_SCOPE,
        keycloak_realm: str = KEYCLOAK_REALM,
        tenants: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.clients = [dict(c) for c in (clients if clients is not None else default_clients())]
        self.okta_api_token = okta_api_token
        self.management_scope = management_scope
        self.keycloak_realm = keycloak_realm
        self.config: dict[str, Any] = {
            "port": port,
            "clients": self.clients,
            "resources": {k: dict(v) for k, v in (resources or default_resources()).items()},
            "default_resource": default_resource,
            "signing_algs": list(signing_algs),
            "okta_api_token": okta_api_token,
            "management_scope": management_scope,
            "keycloak_realm": keycloak_realm,
            "tenants": {name: dict(spec) for name, spec in (tenants or {}).items()},
        }
        self.start_timeout = start_timeout
        self.issuer = ""
        self.tenants: dict[str, dict[str, str]] = {}
        self.token_endpoint = ""
        self.jwks_uri = ""
        self._proc: subprocess.Popen[str] | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=400)
        self._ready = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._proc is not None:
            return self
        node = shutil.which("node")
        if node is None:
            raise IdentityProviderUnavailableError(
                "node is not installed or not on PATH; the integration tests need Node 20+ "
                "and the test identity provider: run `make idp`"
            )
        if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
            raise IdentityProviderUnavailableError(
                f"oidc-provider is not installed in {IDP_DIR / 'node_modules'}: run `make idp`"
            )
        env = dict(os.environ, IDP_CONFIG=json.dumps(self.config), IDP_EXIT_ON_STDIN_EOF="1")
        self._proc = subprocess.Popen(
            [node, str(SERVER_JS)],
            cwd=IDP_DIR,
            env=env,
            stdin=subprocess.PIPE,  # never written; closing it (or our death) stops the IdP
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._drain, args=(self._proc.stdout, True), daemon=True),
            threading.Thread(target=self._drain, args=(self._proc.stderr, False), daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if not self._wait_ready():
            code = self._proc.poll()
            self.stop()
            why = f"exited with code {code}" if code is not None else "timed out"
            raise IdentityProviderError(
                f"test identity provider failed to start ({why} after at most "
                f"{self.start_timeout:g} s); its output:\n" + self.output()
            )
        endpoints = self.discovery()
        self.token_endpoint = str(endpoints["token_endpoint"])
        self.jwks_uri = str(endpoints["jwks_uri"])
        self.reset_stats()  # counters start at zero for the code under test
        return self

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        waited = 0.0
        while waited < self.start_timeout:
            if self._ready.wait(0.1):
                return True
            if self._proc.poll() is not None:
                # Let the drain threads collect the last words.
                for thread in self._threads:
                    thread.join(timeout=1.0)
                return self._ready.is_set()
            waited += 0.1
        return False

    def _drain(self, stream: IO[str], is_stdout: bool) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if is_stdout and not self._ready.is_set() and line.startswith('{"ready"'):
                try:
                    ready = _json_object(line)
                    self.issuer = str(ready["issuer"])
                    self.tenants = {
                        str(name): {str(k): str(v) for k, v in info.items()}
                        for name, info in ready.get("tenants", {}).items()
                    }
                except (ValueError, KeyError, AttributeError, IdentityProviderError):
                    self._output.append(line)
                    continue
                self._ready.set()
                continue
            self._output.append(line)

    def output(self) -> str:
        """The child's recent stdout/stderr lines (for error messages)."""
        return "\n".join(self._output)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc.stdin is not None:
            proc.stdin.close()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self._threads = []
        self._ready.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- HTTP ------------------------------------------------------------------------------

    def _request(self, method: str, path_or_url: str, body: bytes | None = None) -> bytes:
        if not self.issuer:
            raise IdentityProviderError("the identity provider is not started")
        url = path_or_url if "://" in path_or_url else self.issuer + path_or_url
        headers = {"content-type": "application/json"} if body is not None else {}
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with _OPENER.open(request, timeout=_HTTP_TIMEOUT) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace")
            raise IdentityProviderError(f"{method} {url}: HTTP {err.code}: {detail}") from err

    def discovery(self) -> dict[str, Any]:
        """The OpenID discovery document (counts as a discovery request in stats())."""
        return _json_object(self._request("GET", "/.well-known/openid-configuration"))

    def jwks(self) -> dict[str, Any]:
        """The published JWKS (counts as a jwks request in stats())."""
        return _json_object(self._request("GET", self.jwks_uri))

    def client_secret(self, client_id: str) -> str:
        """The configured secret of one of this IdP's clients (whatever rotated since)."""
        for client in self.clients:
            if client["client_id"] == client_id:
                if "client_secret" not in client:
                    raise KeyError(f"client {client_id!r} has no secret")
                return str(client["client_secret"])
        raise KeyError(client_id)

    def token_response(
        self,
        client_id: str,
        client_secret: str | None = None,
        scope: str | None = None,
        resource: str | None = None,
        auth: str = "client_secret_basic",
        *,
        private_key: PrivateKey | None = None,
        kid: str | None = None,
        client_assertion: str | None = None,
        audience: str | None = None,
        endpoint: str | None = None,
    ) -> dict[str, Any]:
        """The full token endpoint response for a client credentials grant.

        ``auth="private_key_jwt"`` sends ``client_assertion`` as given, or one signed with
        ``private_key`` (and ``kid``) for this IdP's token endpoint. ``audience`` is sent
        as a form parameter, as Auth0-style clients do. ``endpoint`` is another token
        endpoint of this IdP (a tenant's) to ask instead.
        """
        if not self.token_endpoint:
            raise IdentityProviderError("the identity provider is not started")
        endpoint = endpoint or self.token_endpoint
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        if resource is not None:
            form["resource"] = resource
        if audience is not None:
            form["audience"] = audience
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if auth in ("client_secret_basic", "client_secret_post") and client_secret is None:
            raise ValueError(f"{auth} needs a client_secret")
        if auth == "client_secret_basic":
            assert client_secret is not None
            # RFC 6749 section 2.3.1: form-encode both parts before base64.
            pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(client_secret)}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif auth == "client_secret_post":
            assert client_secret is not None
            form |= {"client_id": client_id, "client_secret": client_secret}
        elif auth == "private_key_jwt":
            if client_assertion is None:
                if private_key is None:
                    raise ValueError("private_key_jwt needs a private_key or a client_assertion")
                client_assertion = sign_client_assertion(client_id, private_key, endpoint, kid=kid)
            form |= {
                "client_assertion_type": JWT_BEARER_ASSERTION,
                "client_assertion": client_assertion,
            }
        else:
            raise ValueError(f"unsupported client authentication {auth!r}")
        request = urllib.request.Request(
            endpoint,
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
            headers=headers,
        )
        try:
            with _OPENER.open(request, timeout=_HTTP_TIMEOUT) as response:
                return _json_object(response.read())
        except urllib.error.HTTPError as err:
            raise TokenRequestError(err.code, err.read().decode("utf-8", "replace")) from err

    def token(
        self,
        client_id: str,
        client_secret: str | None = None,
        scope: str | None = None,
        resource: str | None = None,
        auth: str = "client_secret_basic",
        *,
        private_key: PrivateKey | None = None,
        kid: str | None = None,
        client_assertion: str | None = None,
        audience: str | None = None,
    ) -> str:
        """An access token (a JWT) from the client credentials grant (see token_response)."""
        body = self.token_response(
            client_id,
            client_secret,
            scope,
            resource,
            auth,
            private_key=private_key,
            kid=kid,
            client_assertion=client_assertion,
            audience=audience,
        )
        token = body.get("access_token")
        if not isinstance(token, str):
            raise IdentityProviderError(f"token response without access_token: {body}")
        return token

    # -- provider-shaped tenants ------------------------------------------------------------

    def tenant(self, name: str) -> dict[str, str]:
        """A tenant's ``provider``, ``issuer``, ``token_endpoint``, ``jwks_uri`` and
        ``discovery`` URLs (Entra ID adds ``issuer_v1``, ``discovery_v1``, ``jwks_uri_v1``)."""
        if name not in self.tenants:
            raise KeyError(f"no tenant {name!r}; configured: {sorted(self.tenants)}")
        return self.tenants[name]

    def tenant_token_response(
        self,
        tenant: str,
        client_id: str,
        client_secret: str | None = None,
        scope: str | None = None,
        *,
        audience: str | None = None,
        resource: str | None = None,
        auth: str = "client_secret_basic",
    ) -> dict[str, Any]:
        """The answer of a tenant's token endpoint to a client credentials grant."""
        return self.token_response(
            client_id,
            client_secret if client_secret is not None else self.client_secret(client_id),
            scope,
            resource,
            auth,
            audience=audience,
            endpoint=self.tenant(tenant)["token_endpoint"],
        )

    def tenant_token(
        self,
        tenant: str,
        client_id: str,
        scope: str | None = None,
        *,
        audience: str | None = None,
    ) -> str:
        """An access token from a tenant, for one of its clients (its configured secret)."""
        body = self.tenant_token_response(tenant, client_id, scope=scope, audience=audience)
        token = body.get("access_token")
        if not isinstance(token, str):
            raise IdentityProviderError(f"token response without access_token: {body}")
        return token

    def cognito_id_token(self, tenant: str, client_id: str) -> str:
        """The ID token a user's sign-in at a Cognito app client returns (signed by the
        pool's ID token key); client credentials never return one."""
        body = json.dumps({"tenant": tenant, "client_id": client_id}).encode()
        return str(_json_object(self._request("POST", "/__test/id-token", body))["id_token"])

    # -- test-only endpoints ---------------------------------------------------------------

    def rotate_keys(self, keep_old: bool) -> list[str]:
        """New signing keys for every alg; returns their kids (old keys kept in JWKS if asked)."""
        body = json.dumps({"keep_old": keep_old}).encode()
        kids = _json_object(self._request("POST", "/__test/rotate-keys", body))["kids"]
        return [str(kid) for kid in kids]

    def stats(self) -> dict[str, int]:
        """Counters of jwks, discovery and token requests since start or reset_stats()."""
        raw = _json_object(self._request("GET", "/__test/stats"))
        return {str(k): int(v) for k, v in raw.items()}

    def reset_stats(self) -> None:
        """Zero the counters and empty the token log."""
        self._request("POST", "/__test/reset-stats", b"{}")

    def set_fault(
        self,
        status: int | None = None,
        count: int | None = None,
        retry_after: str | int | None = None,
        body: str | None = None,
        content_type: str | None = None,
        delay_ms: int = 0,
    ) -> None:
        """Make the next ``count`` token requests (all, if None) fail instead of reaching
        the provider.

        With ``status``, they get that status, ``body`` as is (default empty; its
        content type defaults to application/json) and ``Retry-After: retry_after``.
        ``delay_ms`` holds each answer back that long; with a delay and no status, the
        requests reach the provider late. Faulted requests still count in stats() and
        appear in token_log(). Replaces any earlier fault.
        """
        fields: dict[str, Any] = {
            "status": status,
            "count": count,
            "retry_after": retry_after,
            "body": body,
            "content_type": content_type,
        }
        fault = {key: value for key, value in fields.items() if value is not None}
        if delay_ms:
            fault["delay_ms"] = delay_ms
        if not fault:
            raise ValueError("a fault needs a status or a delay_ms; use clear_faults() to clear")
        self._request("POST", "/__test/faults", json.dumps(fault).encode())

    def clear_faults(self) -> None:
        """Token requests reach the provider again."""
        self._request("POST", "/__test/faults", b"{}")

    def token_log(self) -> list[dict[str, Any]]:
        """Every POST /token since start or reset_stats(), oldest first.

        Each entry: ``client_id`` (from the Basic header, the body or the assertion's sub),
        ``auth_method`` (``client_secret_basic``, ``client_secret_post``,
        ``private_key_jwt``, ``client_secret_jwt`` or ``none``), ``status`` (the HTTP
        status sent, None while pending), and the ``scope``, ``resource`` and
        ``audience`` form parameters (None when absent, a list when repeated).
        """
        entries = json.loads(self._request("GET", "/__test/token-log"))
        if not isinstance(entries, list):
            raise IdentityProviderError(f"expected a list, got: {entries!r}")
        return [dict(entry) for entry in entries]

    def secrets(self, client_id: str) -> list[dict[str, Any]]:
        """A client's secret list, oldest first, as the token endpoint sees it now.

        Each entry: ``id`` (``initial`` for the configured secret), ``status`` (``ACTIVE``
        or ``INACTIVE``), ``created`` and ``expires`` (ISO 8601 UTC, ``expires`` None when
        never) and ``sha256``, the hex SHA-256 of the value (never the value itself).
        """
        path = "/__test/secrets/" + urllib.parse.quote(client_id, safe="")
        entries = json.loads(self._request("GET", path))
        if not isinstance(entries, list):
            raise IdentityProviderError(f"expected a list, got: {entries!r}")
        return [dict(entry) for entry in entries]

    def set_secret_propagation(self, delay_ms: int) -> None:
        """Secrets created from now on work at the token endpoint only ``delay_ms`` after
        their creation (Auth0 documents up to 30 s); 0 makes them work at once."""
        if delay_ms < 0:
            raise ValueError("delay_ms must be >= 0")
        body = json.dumps({"delay_ms": delay_ms}).encode()
        self._request("POST", "/__test/secret-propagation", body)

    def reset_secrets(self) -> None:
        """Every client holds only its configured secret again; no propagation delay."""
        self._request("POST", "/__test/reset-secrets", b"{}")


@contextlib.contextmanager
def serving(provider: IdentityProvider) -> Iterator[IdentityProvider]:
    """For pytest fixtures: the provider started (or the test failed with how to install
    it, not a traceback), and stopped afterwards."""
    try:
        provider.start()
    except IdentityProviderUnavailableError as err:
        import pytest

        pytest.fail(f"the test identity provider is not installed: {err}", pytrace=False)
    try:
        yield provider
    finally:
        provider.stop()
