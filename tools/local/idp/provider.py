"""``IdentityProvider``: the test identity provider started, and asked for tokens over
HTTP at its own token endpoint or a provider-shaped tenant's (the package's docstring says
what it offers)."""

from __future__ import annotations

import base64
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from tools.local.idp.clients import (
    JWT_BEARER_ASSERTION,
    KEYCLOAK_REALM,
    MANAGEMENT_SCOPE,
    OKTA_API_TOKEN,
    ORDERS_API,
    SIGNING_ALGS,
    default_clients,
    default_resources,
    sign_client_assertion,
)
from tools.local.idp.controls import IdpControls
from tools.local.idp.errors import IdentityProviderError, TokenRequestError, json_object
from tools.local.idp.process import IdpProcess
from tools.local.service import Service

if TYPE_CHECKING:
    from tools.local.idp.clients import PrivateKey

# No proxy for loopback, whatever the environment says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_HTTP_TIMEOUT = 10.0


class IdentityProvider(IdpControls, Service):
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
        self._process: IdpProcess | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._process is not None and self._process.started:
            return self
        self._process = IdpProcess(self.config, self.start_timeout)
        self.issuer, self.tenants = self._process.start()  # a failed start stops the child
        endpoints = self.discovery()
        self.token_endpoint = str(endpoints["token_endpoint"])
        self.jwks_uri = str(endpoints["jwks_uri"])
        self.reset_stats()  # counters start at zero for the code under test
        return self

    def output(self) -> str:
        """The child's recent stdout/stderr lines (for error messages)."""
        return self._process.output() if self._process is not None else ""

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()  # kept: its output() tells what happened

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

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
        return json_object(self._request("GET", "/.well-known/openid-configuration"))

    def jwks(self) -> dict[str, Any]:
        """The published JWKS (counts as a jwks request in stats())."""
        return json_object(self._request("GET", self.jwks_uri))

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
                return json_object(response.read())
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
