"""Drift between an authorizer config and its API's OpenAPI document (pure).

For every operation and every method it answers (``ANY`` is all seven), the rule that
decides is the one naming the same route (same method, literals and parameter positions;
parameter names do not matter), else the one naming the path with ``ANY``, else the rule
the authorizer would match for a request to the template (a broader ``{proxy+}`` rule).

Problems (``check --openapi`` exits 1): an operation the document grants that no rule
decides (it will be denied), a rule that grants it with other scopes, a rule no operation
reaches. Operations the document grants no scopes (anonymous, API key only...) are notes,
whether a rule covers them or not, and so are WebSocket rules, which OpenAPI cannot
describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from authorizer.errors import ConfigError
from authorizer.openapi_routes import Rule, shape
from authorizer.routes import ApiType, Route, RouteTable, parse_route


@dataclass(frozen=True, slots=True)
class Drift:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def compare(routes: Sequence[Route], rules: Sequence[Rule], api: ApiType = "rest") -> Drift:
    drift = Drift()
    table = RouteTable(tuple(routes))
    named = {shape(r.method, r): r for r in routes if not r.websocket}
    reached: set[str] = set()
    for rule in rules:
        try:
            template = parse_route(rule.key, any_scopes=frozenset(), all_scopes=frozenset())
        except ConfigError:  # TRACE and the like: no rule can name it
            drift.notes.append(f"{rule.operation.label}: not granted: {rule.ungranted}")
            continue
        verdicts: dict[tuple[bool, str], list[str]] = {}
        for method in template.methods:
            found = (
                named.get(shape(method, template))
                or named.get(shape("ANY", template))
                or table.match(api, method, _request_path(template))
            )
            if found is not None:
                reached.add(found.key)
            verdict = _verdict(rule, found)
            if verdict is not None:
                verdicts.setdefault(verdict, []).append(method)
        for (problem, text), methods in verdicts.items():
            some = "" if len(methods) == len(template.methods) else f" [{', '.join(methods)}]"
            (drift.problems if problem else drift.notes).append(
                f"{rule.operation.label}{some}: {text}"
            )
    for route in routes:
        if route.websocket:
            drift.notes.append(f"rule '{route.key}' is a WebSocket route: OpenAPI has none")
        elif route.key not in reached:
            drift.problems.append(f"rule '{route.key}' names no operation of the document")
    return drift


def _verdict(rule: Rule, found: Route | None) -> tuple[bool, str] | None:
    """(is it a problem, what to say), or None when config and document agree."""
    if rule.ungranted is not None:
        if found is None:
            return False, f"not granted ({rule.ungranted}); no rule names it, so it is denied"
        grants = _scopes(found.any_scopes, found.all_scopes)
        why = rule.ungranted
        return (
            False,
            f"the document grants no scopes ({why}); rule '{found.key}' grants it {grants}",
        )
    want = _scopes(frozenset(rule.any_scopes), frozenset(rule.all_scopes))
    if found is None:
        return True, f"no rule names it, so it will be denied (the document grants it {want})"
    have = _scopes(found.any_scopes, found.all_scopes)
    if have == want:
        return None
    return True, f"scopes differ: the document grants it {want}, rule '{found.key}' {have}"


def _scopes(any_scopes: frozenset[str], all_scopes: frozenset[str]) -> str:
    """A canonical description: ``scopes: [x]`` and ``all_scopes: [x]`` say the same."""
    if len(any_scopes) == 1:
        any_scopes, all_scopes = frozenset(), all_scopes | any_scopes
    parts = []
    if all_scopes:
        parts.append(f"all of [{', '.join(sorted(all_scopes))}]")
    if any_scopes:
        parts.append(f"one of [{', '.join(sorted(any_scopes))}]")
    return "with " + " and ".join(parts)


def _request_path(template: Route) -> str:
    """A request path only this template's parameters fit: ``{x}`` is never a literal."""
    return "/" + "/".join(
        s.text if s.kind == "literal" else "{" + s.text + "}" for s in template.segments
    )
