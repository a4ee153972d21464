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
TOKENS_KEPT = 1024  # verified tokens remembered per environment


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


class _Seen(NamedTuple):
    """A verified token, and its latest decision with what that was for."""

    token: VerifiedToken
    where: tuple[str, str, str]  # the event kind, API/stage prefix and resource decided
    decision: Decision


class Authorizer:
    """Everything built from one configuration: verifier, route table, memoised policies,
    and the tokens it has verified."""

    def __init__(self, config: AuthorizerConfig, verifier: Verifier) -> None:
        self.config = config
        self.verifier = verifier
        self.routes = RouteTable(config.routes)
        self.policies = PolicyBook(config.routes)
        # Verified tokens by their exact string, each with the latest decision made for it
        # and what that decision depends on besides the token (event kind, API and stage,
        # resource): clients reuse a token for its lifetime and repeat their requests.
        # An entry lasts until its verification stops counting (VerifiedToken.until: the
        # token's expiry, at most CACHE_SECONDS after it was verified, which bounds how
        # long a key withdrawn from the issuer's JWKS keeps working for tokens already
        # seen), the oldest of TOKENS_KEPT goes first, and all die with this configuration.
        #
        # Keying by the string is sound although one token may have several valid strings
        # (ECDSA's ``(r, n - s)``, see ``jws``): an entry holds only the outcome of full
        # verification of that very string, and another string, even one carrying the
        # same claims, is verified in full before it gets an entry of its own.
        #
        # OrderedDict: evicting the oldest entry of a plain dict scans the holes that
        # earlier evictions left at its front.
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        self._clock = verifier.clock

    def decide(self, event: object) -> Decision:
        try:
            request = parse_event(event)
        except TokenRejected as e:
            return Decision("unauthenticated", e.reason)
        if request.token is None:
            return Decision("unauthenticated", "token_missing", request)
        where = (request.kind, request.prefix, request.suffix)
        seen = self._seen.get(request.token)
        if seen is not None:
            if self._clock() < seen.token.until:
                if seen.where == where:
                    return seen.decision
                decision = self._decide(request, seen.token)
                # Replaces the entry in place; had another thread just evicted it, this
                # adds one beyond TOKENS_KEPT until the next new token evicts again.
                self._seen[request.token] = _Seen(seen.token, where, decision)
                return decision
            self._seen.pop(request.token, None)  # pop, not del: the local stack runs threads
        try:
            token = self.verifier.verify(request.token)
        except TokenRejected as e:
            claim, identity = getattr(e, "claim", None), getattr(e, "identity", None)
            return Decision(
                "unauthenticated", e.reason, request, claim=claim, detail=str(e), identity=identity
            )
        decision = self._decide(request, token)
        if len(self._seen) >= TOKENS_KEPT:
            try:  # noqa: SIM105  # contextlib.suppress costs more than the eviction (bench)
                self._seen.popitem(last=False)
            except KeyError:  # emptied by another thread meanwhile
                pass
        self._seen[request.token] = _Seen(token, where, decision)
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
        policy, document = self.policies.policy_and_document(
            token.scopes, request.api, request.prefix
        )
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
