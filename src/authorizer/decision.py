"""The authorizer's decision for one request, and the response API Gateway expects.

Pure except for key fetching inside the verifier: event in, ``Decision`` out. The handler
adds logging and metrics around it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from authorizer.config import AuthorizerConfig
from authorizer.errors import TokenRejected
from authorizer.events import AuthRequest, flatten_context, parse_event
from authorizer.policy import PolicyBook, policy_document, with_deny
from authorizer.routes import Route, RouteTable
from authorizer.verifier import VerifiedToken, Verifier, identity_of

Effect = Literal["allow", "deny", "unauthenticated"]
UNVERIFIED_PRINCIPAL = "unverified"
DECISIONS_KEPT = 1024  # as many as the verifier keeps tokens


class Unauthorized(Exception):
    """Raised to API Gateway, which answers 401. The message must be exactly this."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class Decision(NamedTuple):  # a NamedTuple: see jws.RawJws
    effect: Effect
    reason: str
    request: AuthRequest | None = None
    token: VerifiedToken | None = None
    route: str | None = None
    response: dict[str, Any] | None = None  # None: raise Unauthorized
    claim: str | None = None  # the claim (or header) that refused the token, when one did
    detail: str | None = None  # why, in words (never quotes the token)
    # Who the token names (verifier.identity_of), for the log line: the verified token's,
    # or a refused token's once its signature verified (a forged one names nobody).
    identity: Mapping[str, str] | None = None


class Authorizer:
    """Everything built from one configuration: verifier, route table, memoised policies."""

    def __init__(self, config: AuthorizerConfig, verifier: Verifier) -> None:
        self.config = config
        self.verifier = verifier
        self.routes = RouteTable(config.routes)
        self.policies = PolicyBook(config.routes)
        # Decisions for verified tokens, by what they depend on: event kind, token, API and
        # stage, and the requested resource. An entry lasts no longer than the token's
        # verification counts (VerifiedToken.until), and dies with this configuration.
        self._decided: OrderedDict[tuple[str, str, str, str], Decision] = OrderedDict()
        self._clock = verifier.clock

    def decide(self, event: object) -> Decision:
        try:
            request = parse_event(event)
        except TokenRejected as e:
            return Decision("unauthenticated", e.reason)
        if request.token is None:
            return Decision("unauthenticated", "token_missing", request)
        key = (request.kind, request.token, request.prefix, request.suffix)
        decided = self._decided.get(key)
        if decided is not None:
            if self._clock() < decided.token.until:  # type: ignore[union-attr]
                return decided
            self._decided.pop(key, None)  # pop, not del: the local stack runs threads
        try:
            token = self.verifier.verify(request.token)
        except TokenRejected as e:
            claim, identity = getattr(e, "claim", None), getattr(e, "identity", None)
            return Decision(
                "unauthenticated", e.reason, request, claim=claim, detail=str(e), identity=identity
            )
        decision = self._decide(request, token)
        if len(self._decided) >= DECISIONS_KEPT:
            try:  # noqa: SIM105  # contextlib.suppress costs more than the eviction (bench)
                self._decided.popitem(last=False)
            except KeyError:  # emptied by another thread meanwhile
                pass
        self._decided[key] = decision
        return decision

    def _decide(self, request: AuthRequest, token: VerifiedToken) -> Decision:
        """The answer for a verified token: route, scopes, and the cache-safe policy."""
        route = self.routes.match(request.api, request.method, request.path)
        allowed = route is not None and route.granted(token.scopes)
        reason = "granted" if allowed else ("no_route" if route is None else "scope_missing")
        context = flatten_context(token.claims, self.config.context_claims)
        if request.kind == "http_v2" and self.config.http_api_response == "simple":
            response: dict[str, Any] = {"isAuthorized": allowed, "context": context}
        else:
            document, reason = self._document(request, token, route, allowed, reason)
            allowed = reason.startswith("granted")
            response = {
                "principalId": token.claims["sub"],
                "policyDocument": document,
                "context": context,
            }
        return Decision(
            "allow" if allowed else "deny",
            reason,
            request,
            token,
            route.key if route else None,
            response,
            identity=identity_of(token.claims, token.kid, token.client_id_claims),
        )

    def _document(
        self,
        request: AuthRequest,
        token: VerifiedToken,
        route: Route | None,
        allowed: bool,
        reason: str,
    ) -> tuple[dict[str, Any], str]:
        """The memoised cache-safe policy, checked against this very request."""
        policy = self.policies.scope_policy(token.scopes, request.api)
        document = self.policies.document(token.scopes, request.api, request.prefix)
        if route is None:
            # No route serves this request: refuse exactly it, and keep answering the
            # token's routes as the config does (never a Deny for the whole stage, which
            # API Gateway would apply to the token's every call while it is cached).
            if policy.allow:
                document = with_deny(document, request.prefix, request.suffix)
            return document, reason
        # An exact policy agrees with the route table on every routed request by
        # construction (tests/unit/authorizer/test_policy.py); evaluate it only where that
        # may not hold.
        if policy.exact or policy.allows(request.suffix) == allowed:
            if not allowed and f"{request.method} {route.key}" in policy.partly_denied:
                document = with_deny(document, request.prefix, request.suffix)
            return document, reason
        if allowed and "*" not in request.suffix and "?" not in request.suffix:
            # No pattern policy is exact for this scope set (see policy.py): allow only
            # the requested resource, so a cached copy can never grant another route.
            return policy_document(request.prefix, (request.suffix,), ()), "granted_narrow_policy"
        return policy_document(request.prefix, (), ()), (
            "policy_inexpressible" if allowed else reason
        )


def fail_closed(event: object, reason: str) -> Decision:
    """The answer when the configuration is broken: deny everything, never allow."""
    try:
        request = parse_event(event)
    except TokenRejected:
        return Decision("unauthenticated", reason)
    if request.kind == "http_v2":
        response: dict[str, Any] = {"isAuthorized": False, "context": {}}
    else:
        response = {
            "principalId": UNVERIFIED_PRINCIPAL,
            "policyDocument": policy_document(request.prefix, (), ()),
            "context": {},
        }
    return Decision("deny", reason, request, response=response)
