"""Launcher for the real test identity provider (``tests/idp/server.js``, oidc-provider).

The provider runs as a child ``node`` process on 127.0.0.1 and issues JWT access tokens
through the OAuth client credentials grant. Standard library only.

    with IdentityProvider(default_clients()) as idp:
        token = idp.token("reader", idp.client_secret("reader"), scope="orders:read")
"""

from __future__ import annotations

import base64
import collections
import json
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

REPO_ROOT = Path(__file__).resolve().parents[2]
IDP_DIR = REPO_ROOT / "tests" / "idp"
SERVER_JS = IDP_DIR / "server.js"

ORDERS_API = "api://orders"
ALL_SCOPES = "orders:read orders:write admin ops ws:connect"
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
    """The orders API as the only resource server."""
    return {ORDERS_API: {"scope": ALL_SCOPES, "ttl": ttl, "alg": alg}}


def _json_object(data: bytes | str) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise IdentityProviderError(f"expected a JSON object, got: {value!r}")
    return value


class IdentityProvider:
    """A running oidc-provider on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        clients: Sequence[Mapping[str, str]] | None = None,
        resources: Mapping[str, Mapping[str, Any]] | None = None,
        default_resource: str | None = ORDERS_API,
        signing_algs: Sequence[str] = SIGNING_ALGS,
        port: int = 0,
        start_timeout: float = 20.0,
    ) -> None:
        self.clients = [dict(c) for c in (clients if clients is not None else default_clients())]
        self.config: dict[str, Any] = {
            "port": port,
            "clients": self.clients,
            "resources": {k: dict(v) for k, v in (resources or default_resources()).items()},
            "default_resource": default_resource,
            "signing_algs": list(signing_algs),
        }
        self.start_timeout = start_timeout
        self.issuer = ""
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
                    self.issuer = str(_json_object(line)["issuer"])
                except (ValueError, KeyError, IdentityProviderError):
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
        """The configured secret of one of this IdP's clients."""
        for client in self.clients:
            if client["client_id"] == client_id:
                return client["client_secret"]
        raise KeyError(client_id)

    def token_response(
        self,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        resource: str | None = None,
        auth: str = "client_secret_basic",
    ) -> dict[str, Any]:
        """The full token endpoint response for a client credentials grant."""
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        if resource is not None:
            form["resource"] = resource
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if auth == "client_secret_basic":
            # RFC 6749 section 2.3.1: form-encode both parts before base64.
            pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(client_secret)}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif auth == "client_secret_post":
            form |= {"client_id": client_id, "client_secret": client_secret}
        else:
            raise ValueError(f"unsupported client authentication {auth!r}")
        if not self.token_endpoint:
            raise IdentityProviderError("the identity provider is not started")
        request = urllib.request.Request(
            self.token_endpoint,
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
        client_secret: str,
        scope: str | None = None,
        resource: str | None = None,
        auth: str = "client_secret_basic",
    ) -> str:
        """An access token (a JWT) from the client credentials grant."""
        body = self.token_response(client_id, client_secret, scope, resource, auth)
        token = body.get("access_token")
        if not isinstance(token, str):
            raise IdentityProviderError(f"token response without access_token: {body}")
        return token

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
        self._request("POST", "/__test/reset-stats", b"{}")
