"""Where no cached policy can be exact, found from the config alone (``check`` lists them).

``policy.py`` marks a scope set's policy inexact when a Deny it needs (a refused route's
paths that a granted route's Allow reaches, ``route_sets.forced_denies``) also reaches the
paths of a granted route. The same three routes make every scope set inexact that grants
the two and not the first, so the config has such a case exactly when such a scope set
exists: that is what is searched here, for REST and HTTP APIs.
"""

from __future__ import annotations

from itertools import product

from authorizer.route_sets import Conflict, conflict, forced_denies, route_sets
from authorizer.routes import ApiType, Route

API_TYPES: tuple[ApiType, ...] = ("rest", "http")


def cache_conflicts(routes: tuple[Route, ...]) -> list[Conflict]:
    """Every inherent case, in config order of (refused, harmed, granted), REST first."""
    order = {r: i for i, r in enumerate(routes)}
    found: list[Conflict] = []
    for api in API_TYPES:
        for sets in route_sets(routes, api).values():
            routed = [(s, s.route) for s in sets if s.route is not None]
            for (refused, no), (granted, yes) in product(routed, routed):
                if refused is granted:
                    continue
                for forced in forced_denies(refused, granted):
                    for harmed, also in routed:
                        if harmed is refused or not _possible(no, yes, also):
                            continue
                        case = conflict(api, refused, forced, harmed)
                        if case is not None:
                            found.append(case)
    return sorted(found, key=lambda c: (order[c.refused], order[c.harmed], order[c.granted], c.api))


def _possible(refused: Route, granted: Route, harmed: Route) -> bool:
    """Whether some scope set grants ``granted`` and ``harmed`` but not ``refused``.

    Granting only grows with the scopes, so the smallest sets that grant both decide: all
    of both routes' ``all_scopes`` plus one of each route's ``scopes``."""
    picks: list[list[frozenset[str]]] = [
        [frozenset({s}) for s in sorted(r.any_scopes)] or [frozenset()] for r in (granted, harmed)
    ]
    base = granted.all_scopes | harmed.all_scopes
    return any(not refused.granted(base | one | two) for one, two in product(*picks))
