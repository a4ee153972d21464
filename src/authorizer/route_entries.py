"""One entry of the document's ``routes``: a route as API Gateway names it and the scopes
that grant it, and the rule API Gateway adds across routes (one path variable name per
position)."""

from __future__ import annotations

from authorizer.config_checks import NO_STRINGS, Collector, scopes
from authorizer.errors import ConfigError
from authorizer.routes import Route, Segment, parse_route
from scopegate_core.documents import got

_ROUTE_KEYS = frozenset({"route", "scopes", "all_scopes"})


def route_entry(raw: object, n: int, problems: list[str]) -> Route | None:
    """``routes[n]`` as a ``Route`` (also when only its scopes are refused, so checks
    across routes see it), or None; every problem is added to ``problems``."""
    where = f"routes[{n}]"
    if not isinstance(raw, dict):
        problems.append(
            f"{where} must be a mapping with 'route' and 'scopes' or 'all_scopes', not {got(raw)}"
        )
        return None
    check = Collector(problems)
    unknown = set(raw) - _ROUTE_KEYS
    if unknown:
        check.add(f"{where}: unknown keys {sorted(unknown)}")
    if "scopes" not in raw and "all_scopes" not in raw:
        check.add(f"{where}: give 'scopes' (any of) or 'all_scopes' (all of)")
    any_scopes = (
        check(lambda: scopes(raw["scopes"], f"{where}.scopes"), NO_STRINGS)
        if "scopes" in raw
        else NO_STRINGS
    )
    all_scopes = (
        check(lambda: scopes(raw["all_scopes"], f"{where}.all_scopes"), NO_STRINGS)
        if "all_scopes" in raw
        else ()
    )
    text = raw.get("route")
    if not isinstance(text, str):
        check.add(f"{where}.route must be a string like 'GET /orders/{{id}}', not {got(text)}")
        return None
    try:
        # returned even when its scopes were refused, so checks across routes see it
        return parse_route(text, any_scopes=frozenset(any_scopes), all_scopes=frozenset(all_scopes))
    except ConfigError as e:
        check.add(f"{where}: {e}")
        return None


def renamed_siblings(routes: list[tuple[int, Route]]) -> list[str]:
    """API Gateway allows one path variable name per position under a parent
    (``/orders/{id}`` next to ``/orders/{orderId}/items`` is refused at deploy)."""
    problems: list[str] = []
    seen: dict[tuple[Segment, ...], tuple[str, Route]] = {}
    for n, route in routes:
        for i, seg in enumerate(route.segments):
            if seg.kind != "param":
                continue
            name, other = seen.setdefault(route.segments[:i], (seg.text, route))
            if name != seg.text:
                problems.append(
                    f"routes[{n}] {route.key!r}: path variable {{{seg.text}}} next to "
                    f"{{{name}}} of {other.key!r}; API Gateway allows one variable name per "
                    "position, so use the same name in both"
                )
                break
    return problems
