"""Which paths API Gateway sends to each route, and what a Deny for a route must cover.

A route's *effective paths* for one method are its template minus the paths of routes
that win over it (``routes.py`` matches in the same order):

- REST APIs pick the most specific resource first (parents of routes are resources too),
  then the method on it, else ``ANY``. A resource that has neither serves nothing for that
  method: its paths are *unrouted* (API Gateway answers Missing Authentication Token).
- HTTP APIs take the routes of the request's method and ``ANY``; full matches before
  greedy ones, then the most specific, then the route's own method before ``ANY``.

So ``/orders/search`` is never a path of ``GET /orders/{id}`` next to ``GET /orders/search``,
and a cached policy may allow ``GET/orders/*`` and deny ``GET/orders/search`` exactly.

What cannot be exact: an IAM ``*`` spans ``/``. Any pattern that reaches every value of a
segment (``*``) also reaches paths with more segments there; IAM has no way to say "one
segment" or "any text but this". So when a granted route's Allow reaches a refused route's
paths, the Deny must cover at least ``forced_denies``: for each part of the overlap, the
most specific IAM pattern that covers it. If that Deny reaches a granted route's paths, no
pattern policy is exact for the scope set (``policy.py`` then narrows).
"""

from __future__ import annotations

from dataclasses import dataclass

from authorizer.patterns import (
    Pattern,
    concrete,
    expansions,
    fresh_point,
    glob_of,
    glob_text,
    matches,
    meet,
    template_of,
    witness,
)
from authorizer.routes import METHODS, ApiType, Route, Segment, rank, shape


@dataclass(frozen=True, slots=True)
class RouteSet:
    """The paths API Gateway sends to one route for one method.

    ``route`` is None for a REST resource that has no such method (nor ``ANY``): its paths
    go nowhere, and a cached policy should refuse them where it can."""

    route: Route | None
    method: str
    template: Pattern  # the paths the route's template fits
    excluded: tuple[Pattern, ...]  # the templates of routes or resources that win over it
    glob: Pattern  # what the route's IAM resource pattern reaches
    resource: str  # that IAM resource pattern, after "api-id/stage/"

    def reaches(self, pattern: Pattern) -> tuple[str, ...] | None:
        """An effective path of this route that ``pattern`` matches, or None."""
        mine = self.template
        if pattern and mine and pattern[0][0] == mine[0][0] == "lit" and pattern[0] != mine[0]:
            return None  # the first segments differ: most pairs of an API's routes
        return witness((pattern, mine), self.excluded)


@dataclass(frozen=True, slots=True)
class ForcedDeny:
    """A Deny a cached policy needs: ``granted``'s Allow reaches these paths of a refused route."""

    pattern: Pattern
    resource: str
    granted: Route


@dataclass(frozen=True, slots=True)
class Conflict:
    """Why no cached policy is exact for a token granted ``granted`` and ``harmed`` but not
    ``refused``: refusing ``refused`` where ``granted``'s Allow reaches it takes the Deny
    ``deny``, which also refuses ``METHOD path``, a request that ``harmed`` serves."""

    api: ApiType
    method: str
    refused: Route
    granted: Route
    harmed: Route
    deny: str
    path: str


def conflict(
    api: ApiType, refused: RouteSet, forced: ForcedDeny, harmed: RouteSet
) -> Conflict | None:
    """The conflict when ``forced`` (a Deny ``refused`` needs) reaches ``harmed``'s paths."""
    symbols = harmed.reaches(forced.pattern)
    if symbols is None or refused.route is None or harmed.route is None:
        return None
    patterns = (forced.pattern, harmed.template, *harmed.excluded)
    literals = (text for p in patterns for kind, text in p if kind == "lit")
    return Conflict(
        api,
        refused.method,
        refused.route,
        forced.granted,
        harmed.route,
        forced.resource,
        concrete(symbols, literals),
    )


def route_sets(routes: tuple[Route, ...], api: ApiType) -> dict[str, tuple[RouteSet, ...]]:
    """Per method: the routes (and REST's method-less resources) with their effective paths."""
    routes = tuple(r for r in routes if not r.websocket)
    if api == "rest":
        resources: dict[tuple[object, ...], tuple[tuple[Segment, ...], dict[str, Route]]] = {}
        for route in routes:
            for n in range(len(route.segments) + 1):
                resources.setdefault(shape(route.segments[:n]), (route.segments[:n], {}))
            resources[shape(route.segments)][1][route.method] = route
        ordered = sorted(resources.values(), key=lambda r: rank(r[0]))
        winners = _winners([segments for segments, _ in ordered])
        return {
            method: tuple(
                _route_set(methods.get(method) or methods.get("ANY"), method, segments, *w)
                for (segments, methods), w in zip(ordered, winners, strict=True)
                if w is not None
            )
            for method in METHODS
        }
    # HTTP: one order for every method (full match, specificity, own method before ANY)
    candidates = sorted(routes, key=lambda r: (r.greedy, rank(r.segments), r.method == "ANY"))
    out: dict[str, tuple[RouteSet, ...]] = {}
    for method in METHODS:
        mine = [r for r in candidates if r.method in (method, "ANY")]
        out[method] = tuple(
            _route_set(route, method, route.segments, *w)
            for route, w in zip(mine, _winners([r.segments for r in mine]), strict=True)
            if w is not None
        )
    return out


def _winners(
    ordered: list[tuple[Segment, ...]],
) -> list[tuple[Pattern, tuple[Pattern, ...]] | None]:
    """For templates in order of precedence: each template and the earlier ones that share
    a path with it, or None where those leave it no path at all."""
    templates = [template_of(segments) for segments in ordered]
    out: list[tuple[Pattern, tuple[Pattern, ...]] | None] = []
    for i, template in enumerate(templates):
        before = tuple(t for t in templates[:i] if witness((t, template)) is not None)
        out.append((template, before) if witness((template,), before) is not None else None)
    return out


def _route_set(
    route: Route | None,
    method: str,
    segments: tuple[Segment, ...],
    template: Pattern,
    excluded: tuple[Pattern, ...],
) -> RouteSet:
    parts = [s.text if s.kind == "literal" else "*" for s in segments]
    return RouteSet(
        route, method, template, excluded, glob_of(parts), f"{method}/{'/'.join(parts)}"
    )


def forced_denies(refused: RouteSet, granted: RouteSet) -> list[ForcedDeny]:
    """The most specific Deny patterns that refuse every path of ``refused`` that
    ``granted``'s Allow reaches (empty when it reaches none).

    Each part of the overlap (``meet``) is a set of paths of one shape minus the winning
    routes' paths. Wherever it has fresh text a Deny needs a ``*``, so the shortest shape
    whose fresh path is still effective gives the narrowest pattern, which covers every
    longer one too. The result is checked to cover the overlap; where it would not (shapes
    longer than any template), the overlap's own IAM pattern is used, which always does."""
    assert granted.route is not None
    if refused.reaches(granted.glob) is None:
        return []
    out: list[ForcedDeny] = []
    limit = max((len(t) for t in refused.excluded), default=0) + 1
    for part in meet(refused.template, granted.glob):
        shapes: list[Pattern] = []
        for extra in range(limit + 1):
            for expansion in expansions(part, extra):
                point = fresh_point(expansion)
                if any(matches(_glob(s), point) for s in shapes):
                    continue  # a shorter shape's pattern covers this one
                if not any(matches(t, point) for t in refused.excluded):
                    shapes.append(expansion)
        if witness((part,), (*refused.excluded, *map(_glob, shapes))) is not None:
            shapes = [part]
        out += [
            ForcedDeny(_glob(s), f"{refused.method}/{glob_text(s)}", granted.route) for s in shapes
        ]
    return out


def _glob(pattern: Pattern) -> Pattern:
    """What the IAM pattern written for ``pattern`` (``glob_text``) reaches."""
    return glob_of(glob_text(pattern).split("/")) if pattern else ()
