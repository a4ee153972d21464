"""Cache-safe IAM policies: allow exactly the routes a scope set may call.

API Gateway caches an authorizer's policy (per token for TOKEN authorizers) and evaluates
it for later requests to *other* routes. So the policy for a scope set lists an Allow for
every route those scopes grant (``{param}`` and ``{proxy+}`` become ``*``) and an explicit
Deny for every route they do not grant. Because an IAM ``*`` also spans ``/``, an Allow can
reach a denied route's paths; the Deny for that route is then required. When such a Deny
would in turn cover a granted route's paths, no pattern policy can be exact for this scope
set: the policy is marked ``exact=False`` and the handler narrows it to the one requested
resource (never granting more, see README "Caching").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from authorizer.patterns import Pattern, glob_of, glob_tokens, overlaps, template_tokens
from authorizer.routes import ApiType, Route

_MEMO_SIZE = 1024


@lru_cache(maxsize=8192)
def _overlap(a: Pattern, b: Pattern) -> bool:
    return overlaps(a, b)


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
    _allow_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _deny_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allow_re", _regex(self.allow))
        object.__setattr__(self, "_deny_re", _regex(self.deny))

    def allows(self, suffix: str) -> bool:
        """IAM evaluation for one resource suffix: some Allow matches and no Deny does."""
        if self._deny_re is not None and self._deny_re.fullmatch(suffix):
            return False
        return self._allow_re is not None and self._allow_re.fullmatch(suffix) is not None


def build_scope_policy(routes: tuple[Route, ...], scopes: frozenset[str]) -> ScopePolicy:
    """Allow the granted routes, deny the rest wherever that is needed or harmless."""
    allow: list[str] = []
    deny: list[str] = []
    exact = True
    granted = [r for r in routes if r.granted(scopes)]
    for route in routes:
        if route in granted:
            allow += [resource_suffix(route, m) for m in route.methods]
            continue
        for method in route.methods:
            rivals = [g for g in granted if method in g.methods]
            needed = any(_overlap(glob_tokens(g), template_tokens(route)) for g in rivals)
            harmful = any(_overlap(glob_tokens(route), template_tokens(g)) for g in rivals)
            if needed or not harmful:
                deny.append(resource_suffix(route, method))
            exact = exact and not (needed and harmful)
    deny += _overflow_denies(granted)
    return ScopePolicy(tuple(allow), tuple(deny), exact)


def _overflow_denies(granted: list[Route]) -> list[str]:
    """Deny what a ``{param}`` wildcard reaches beyond one segment, where no granted route is.

    ``GET/orders/*`` for ``GET /orders/{id}`` also matches ``/orders/1/refund``; if the API
    has such a route but the config does not name it, a cached policy must not allow it.
    """
    out: list[str] = []
    for route in granted:
        parts = [s.text if s.kind == "literal" else "*" for s in route.segments]
        for i, seg in enumerate(route.segments):
            if seg.kind != "param":
                continue
            wider = [*parts[:i], "*", "*", *parts[i + 1 :]]
            for method in route.methods:
                others = [template_tokens(g) for g in granted if method in g.methods]
                suffix = f"{method}/{'/'.join(wider)}"
                if suffix not in out and not any(_overlap(glob_of(wider), t) for t in others):
                    out.append(suffix)
    return out


class PolicyBook:
    """Memoised policies per (relevant scopes, API type, API/stage ARN prefix)."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self._by_api: dict[ApiType, tuple[Route, ...]] = {
            "rest": tuple(r for r in routes if not r.websocket),
            "http": tuple(r for r in routes if not r.websocket),
            "websocket": tuple(r for r in routes if r.websocket),
        }
        self._relevant = frozenset(s for r in routes for s in (*r.any_scopes, *r.all_scopes))
        self._scope_policies: dict[tuple[frozenset[str], ApiType], ScopePolicy] = {}
        self._documents: dict[tuple[frozenset[str], ApiType, str], dict[str, Any]] = {}

    def relevant(self, scopes: frozenset[str]) -> frozenset[str]:
        """Only scopes some route mentions change a policy; the rest are dropped from keys."""
        return scopes if scopes <= self._relevant else scopes & self._relevant

    def scope_policy(self, scopes: frozenset[str], api: ApiType) -> ScopePolicy:
        """The statements for ``scopes`` on this API type, built once per relevant scope set."""
        key = (self.relevant(scopes), api)
        found = self._scope_policies.get(key)
        if found is None:
            if len(self._scope_policies) >= _MEMO_SIZE:
                self._scope_policies.clear()
            found = build_scope_policy(self._by_api[api], key[0])
            self._scope_policies[key] = found
        return found

    def document(self, scopes: frozenset[str], api: ApiType, prefix: str) -> dict[str, Any]:
        """The IAM policy document for ``prefix`` = ``arn:...:api-id/stage``; do not mutate."""
        key = (self.relevant(scopes), api, prefix)
        doc = self._documents.get(key)
        if doc is not None:
            return doc
        policy = self.scope_policy(scopes, api)
        doc = policy_document(prefix, policy.allow, policy.deny)
        self._documents[key] = doc
        if len(self._documents) > _MEMO_SIZE:
            self._documents.clear()  # rare: more than _MEMO_SIZE scope sets and stages
        return doc


def policy_document(prefix: str, allow: tuple[str, ...], deny: tuple[str, ...]) -> dict[str, Any]:
    """An ``execute-api:Invoke`` policy; with nothing allowed it denies the whole stage."""
    statements: list[dict[str, Any]] = []
    if allow:
        statements.append(_statement("Allow", [f"{prefix}/{s}" for s in allow]))
    if not allow:
        statements.append(_statement("Deny", [f"{prefix}/*"]))
    elif deny:
        statements.append(_statement("Deny", [f"{prefix}/{s}" for s in deny]))
    return {"Version": "2012-10-17", "Statement": statements}


def _statement(effect: str, resources: list[str]) -> dict[str, Any]:
    return {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources}
