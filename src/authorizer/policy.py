"""Cache-safe IAM policies: allow exactly the routes a scope set may call.

API Gateway caches an authorizer's policy (per token for TOKEN authorizers) and evaluates
it for later requests to *other* routes. So the policy for a scope set lists an Allow for
every route those scopes grant (``{param}`` and ``{proxy+}`` become ``*``) and a Deny for
every route they do not grant, each decided against the route's *effective* paths
(``route_sets.py``): the paths API Gateway really sends to it.

- A refused route gets a Deny for its whole pattern when that reaches no granted route's
  paths. Otherwise it gets the Denies ``forced_denies`` says the granted Allows make
  necessary, and none when no Allow reaches it (the request is refused anyway).
- When a necessary Deny reaches a granted route's paths, no pattern policy can be exact
  for this scope set (``exact=False``): the Deny is kept, so the policy never grants more,
  and the handler narrows the policy for a request it would refuse wrongly.
- Paths no route serves (REST resources without the method, paths deeper than a
  ``{param}``) are denied wherever an Allow reaches them and the Deny harms no granted
  route; the rest is the inherent limit docs/authorizer.md describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from authorizer.patterns import Pattern, glob_of
from authorizer.route_sets import Conflict, RouteSet, conflict, forced_denies, route_sets
from authorizer.routes import ApiType, Route

_MEMO_SIZE = 1024


def resource_suffix(route: Route, method: str) -> str:
    """The IAM resource pattern after ``api-id/stage/`` for one method of a route."""
    if route.websocket:
        return route.key
    path = "/".join(s.text if s.kind == "literal" else "*" for s in route.segments)
    return f"{method}/{path}"


def _regex(suffixes: tuple[str, ...]) -> re.Pattern[str] | None:
    if not suffixes:
        return None
    body = "|".join(".*".join(map(re.escape, s.split("*"))) for s in suffixes)
    return re.compile(f"(?:{body})", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ScopePolicy:
    """The statements for one scope set on one API type, independent of API id and stage."""

    allow: tuple[str, ...]
    deny: tuple[str, ...]
    exact: bool
    # "METHOD route-key" of refused routes the Deny statements do not cover everywhere
    # (their whole pattern would refuse a granted route): a request for one of them gets
    # an explicit Deny for its own resource added.
    partly_denied: frozenset[str] = frozenset()
    conflicts: tuple[Conflict, ...] = ()
    # The statements as regular expressions, compiled on the first ``allows``: most
    # policies are exact and never need them, and compiling costs about half of building
    # a policy, which the first request of a new scope set pays (a cold start's too).
    _compiled: tuple[re.Pattern[str] | None, re.Pattern[str] | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def allows(self, suffix: str) -> bool:
        """IAM evaluation for one resource suffix: some Allow matches and no Deny does."""
        compiled = self._compiled
        if compiled is None:
            compiled = (_regex(self.allow), _regex(self.deny))
            object.__setattr__(self, "_compiled", compiled)
        allow_re, deny_re = compiled
        if deny_re is not None and deny_re.fullmatch(suffix):
            return False
        return allow_re is not None and allow_re.fullmatch(suffix) is not None


def build_scope_policy(
    routes: tuple[Route, ...], scopes: frozenset[str], api: ApiType = "rest"
) -> ScopePolicy:
    """The policy for ``scopes`` on ``api`` (unmemoised; ``PolicyBook`` keeps them)."""
    if api == "websocket":
        return _websocket_policy(routes, scopes)
    return _pattern_policy(api, route_sets(routes, api), scopes)


def _websocket_policy(routes: tuple[Route, ...], scopes: frozenset[str]) -> ScopePolicy:
    ws = [r for r in routes if r.websocket]
    return ScopePolicy(
        tuple(r.key for r in ws if r.granted(scopes)),
        tuple(r.key for r in ws if not r.granted(scopes)),
        exact=True,
    )


def _pattern_policy(
    api: ApiType, sets: dict[str, tuple[RouteSet, ...]], scopes: frozenset[str]
) -> ScopePolicy:
    allow: list[str] = []
    deny: list[str] = []
    partly: set[str] = set()
    conflicts: list[Conflict] = []
    for method, method_sets in sets.items():
        granted = [s for s in method_sets if s.route is not None and s.route.granted(scopes)]
        allow += [s.resource for s in granted]
        for refused in method_sets:
            if refused in granted:
                continue
            if refused.route is not None and not _harms(refused.glob, granted):
                deny.append(refused.resource)
                continue
            if refused.route is not None:
                partly.add(f"{method} {refused.route.key}")
            for forced in (f for g in granted for f in forced_denies(refused, g)):
                harmed = [c for g in granted if (c := conflict(api, refused, forced, g))]
                if refused.route is None and any(g.reaches(forced.pattern) for g in granted):
                    continue  # a path no route serves: refused where that is harmless only
                deny.append(forced.resource)
                conflicts += harmed
        deny += _overflow_denies(method, granted)
    return ScopePolicy(
        tuple(dict.fromkeys(allow)),
        tuple(dict.fromkeys(deny)),
        exact=not conflicts,
        partly_denied=frozenset(partly),
        conflicts=tuple(conflicts),
    )


def _harms(pattern: Pattern, granted: list[RouteSet]) -> bool:
    return any(g.reaches(pattern) is not None for g in granted)


def _overflow_denies(method: str, granted: list[RouteSet]) -> list[str]:
    """Deny what a ``{param}`` wildcard reaches beyond one segment, where no granted route is.

    ``GET/orders/*`` for ``GET /orders/{id}`` also matches ``/orders/1/refund``; if the API
    has such a route but the config does not name it, a cached policy must not allow it.
    """
    out: list[str] = []
    for g in granted:
        assert g.route is not None
        parts = [s.text if s.kind == "literal" else "*" for s in g.route.segments]
        for i, seg in enumerate(g.route.segments):
            if seg.kind != "param":
                continue
            wider = [*parts[:i], "*", "*", *parts[i + 1 :]]
            suffix = f"{method}/{'/'.join(wider)}"
            if suffix not in out and not _harms(glob_of(wider), granted):
                out.append(suffix)
    return out


class PolicyBook:
    """Memoised policies per (relevant scopes, API type, API/stage ARN prefix).

    The effective paths of every route depend on the config alone and are worked out once;
    a scope set's policy is built on its first request and then reused."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self._routes = routes
        self._sets: dict[ApiType, dict[str, tuple[RouteSet, ...]]] = {}
        self._relevant = frozenset(s for r in routes for s in (*r.any_scopes, *r.all_scopes))
        self._scope_policies: dict[tuple[frozenset[str], ApiType], ScopePolicy] = {}
        self._documents: dict[
            tuple[frozenset[str], ApiType, str], tuple[ScopePolicy, dict[str, Any]]
        ] = {}

    def relevant(self, scopes: frozenset[str]) -> frozenset[str]:
        """Only scopes some route mentions change a policy; the rest are dropped from keys."""
        return scopes if scopes <= self._relevant else scopes & self._relevant

    def route_sets(self, api: ApiType) -> dict[str, tuple[RouteSet, ...]]:
        """Every route's effective paths on this API type (``route_sets.py``), built once."""
        found = self._sets.get(api)
        if found is None:
            found = self._sets[api] = route_sets(self._routes, api)
        return found

    def scope_policy(self, scopes: frozenset[str], api: ApiType) -> ScopePolicy:
        """The statements for ``scopes`` on this API type, built once per relevant scope set."""
        key = (self.relevant(scopes), api)
        found = self._scope_policies.get(key)
        if found is None:
            if len(self._scope_policies) >= _MEMO_SIZE:
                self._scope_policies.clear()
            if api == "websocket":
                found = _websocket_policy(self._routes, key[0])
            else:
                found = _pattern_policy(api, self.route_sets(api), key[0])
            self._scope_policies[key] = found
        return found

    def document(self, scopes: frozenset[str], api: ApiType, prefix: str) -> dict[str, Any]:
        """The IAM policy document for ``prefix`` = ``arn:...:api-id/stage``; do not mutate."""
        return self.policy_and_document(scopes, api, prefix)[1]

    def policy_and_document(
        self, scopes: frozenset[str], api: ApiType, prefix: str
    ) -> tuple[ScopePolicy, dict[str, Any]]:
        """``scope_policy`` and ``document`` at once: one memo lookup per request."""
        key = (self.relevant(scopes), api, prefix)
        found = self._documents.get(key)
        if found is not None:
            return found
        policy = self.scope_policy(scopes, api)
        found = (policy, policy_document(prefix, policy.allow, policy.deny))
        self._documents[key] = found
        if len(self._documents) > _MEMO_SIZE:
            self._documents.clear()  # rare: more than _MEMO_SIZE scope sets and stages
        return found


def policy_document(prefix: str, allow: tuple[str, ...], deny: tuple[str, ...]) -> dict[str, Any]:
    """An ``execute-api:Invoke`` policy.

    With nothing allowed it denies the whole stage: that answers every route as the config
    does for a token that may call none (and for a broken config, which refuses all)."""
    statements: list[dict[str, Any]] = []
    if allow:
        statements.append(_statement("Allow", [f"{prefix}/{s}" for s in allow]))
    if not allow:
        statements.append(_statement("Deny", [f"{prefix}/*"]))
    elif deny:
        statements.append(_statement("Deny", [f"{prefix}/{s}" for s in deny]))
    return {"Version": "2012-10-17", "Statement": statements}


def with_deny(document: dict[str, Any], prefix: str, suffix: str) -> dict[str, Any]:
    """``document`` plus a Deny for exactly ``prefix/suffix`` (a new document).

    IAM has no escape for ``*`` and ``?``; in a requested path they become ``?``, which
    still refuses only resources of the same length."""
    resource = f"{prefix}/{suffix.replace('*', '?')}"
    return {
        "Version": document["Version"],
        "Statement": [*document["Statement"], _statement("Deny", [resource])],
    }


def _statement(effect: str, resources: list[str]) -> dict[str, Any]:
    return {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources}
