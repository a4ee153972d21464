"""Routes: parse ``METHOD /path`` rules and match requests the way API Gateway does.

Matching precedence follows API Gateway: per segment, a literal beats ``{param}``, which
beats ``{proxy+}``; a route's own method beats ``ANY``. REST APIs pick the resource (path)
first and then the method on it; every parent of a route is a resource too (a REST API
cannot have ``/orders/{id}/items`` without ``/orders/{id}``), so a request whose most
specific resource lacks its method matches nothing, even where a ``{proxy+}`` would fit.
HTTP APIs only consider routes whose method matches and prefer a route without a greedy
``{proxy+}`` (API Gateway's "full match" rule). ``route_sets.py`` derives, from the same
order, which paths each route receives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from authorizer.errors import ConfigError

ApiType = Literal["rest", "http", "websocket"]
SegmentKind = Literal["literal", "param", "proxy"]

METHODS: tuple[str, ...] = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
WEBSOCKET_ROUTES = frozenset({"$connect"})

_PARAM = re.compile(r"\{([A-Za-z0-9_.-]+)(\+?)\}")
# Characters an IAM resource pattern would read as wildcards, or that cannot be a segment.
_LITERAL = re.compile(r"[^\s{}*?/]+")


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    text: str  # the literal text, or the parameter's name


@dataclass(frozen=True, slots=True)
class Route:
    """One configured rule: which requests it names and which scopes grant it."""

    key: str  # canonical "METHOD /path" or "$connect"
    method: str  # a member of METHODS, "ANY", or "" for WebSocket routes
    segments: tuple[Segment, ...]
    any_scopes: frozenset[str]  # one of these is needed (empty: no such requirement)
    all_scopes: frozenset[str]  # every one of these is needed

    @property
    def websocket(self) -> bool:
        return self.method == ""

    @property
    def methods(self) -> tuple[str, ...]:
        """Concrete methods this route answers (``ANY`` expands to every method)."""
        return METHODS if self.method == "ANY" else (self.method,)

    def granted(self, scopes: frozenset[str]) -> bool:
        if not self.all_scopes <= scopes:
            return False
        return not self.any_scopes or not self.any_scopes.isdisjoint(scopes)

    @property
    def greedy(self) -> bool:
        """Ends in ``{proxy+}``."""
        return bool(self.segments) and self.segments[-1].kind == "proxy"


def rank(segments: tuple[Segment, ...]) -> tuple[int, ...]:
    """0 per literal, 1 per ``{param}``, 2 per ``{proxy+}``: of two templates that fit one
    path, the smaller rank is the more specific (the order ``RouteTable`` walks in)."""
    return tuple(0 if s.kind == "literal" else 1 if s.kind == "param" else 2 for s in segments)


def shape(segments: tuple[Segment, ...]) -> tuple[tuple[SegmentKind, str], ...]:
    """The segments without parameter names: what API Gateway tells resources apart by."""
    return tuple((s.kind, s.text if s.kind == "literal" else "") for s in segments)


def parse_route(text: str, *, any_scopes: frozenset[str], all_scopes: frozenset[str]) -> Route:
    """Parse ``GET /orders/{id}``, ``ANY /admin/{proxy+}`` or ``$connect``."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("a route must be a non-empty string like 'GET /orders/{id}'")
    if text in WEBSOCKET_ROUTES:
        return Route(text, "", (), any_scopes, all_scopes)
    method, sep, path = text.strip().partition(" ")
    method = method.upper()
    path = path.strip()
    if not sep or (method not in METHODS and method != "ANY"):
        raise ConfigError(
            f"route {text!r}: expected 'METHOD /path' with METHOD one of "
            f"{', '.join((*METHODS, 'ANY'))}, or '$connect'"
        )
    if not path.startswith("/"):
        raise ConfigError(f"route {text!r}: the path must start with '/'")
    segments: list[Segment] = []
    raw = path[1:].split("/") if path != "/" else []
    if "" in raw:
        where = "a trailing slash" if raw[-1] == "" and "" not in raw[:-1] else "an empty segment"
        raise ConfigError(
            f"route {text!r}: the path has {where}; API Gateway paths have none (write "
            f"'{method} /{'/'.join(p for p in raw if p)}')"
        )
    for i, part in enumerate(raw):
        param = _PARAM.fullmatch(part)
        if param and param.group(2):
            if i != len(raw) - 1:
                raise ConfigError(f"route {text!r}: a greedy {{{param.group(1)}+}} must be last")
            segments.append(Segment("proxy", param.group(1)))
        elif param:
            segments.append(Segment("param", param.group(1)))
        elif _LITERAL.fullmatch(part):
            segments.append(Segment("literal", part))
        else:
            raise ConfigError(
                f"route {text!r}: segment {part!r} must be a literal without '*', '?', braces "
                "or spaces, a whole-segment {param}, or a final {proxy+}"
            )
    canonical = (
        method
        + " /"
        + "/".join(
            s.text if s.kind == "literal" else "{" + s.text + ("+}" if s.kind == "proxy" else "}")
            for s in segments
        )
    )
    return Route(canonical, method, tuple(segments), any_scopes, all_scopes)


def split_path(path: str) -> tuple[str, ...] | None:
    """Concrete path to segments; ``None`` for paths no route can match (empty segments,
    which includes a trailing slash: such requests are denied rather than guessed at)."""
    if path in ("", "/"):
        return ()
    parts = tuple(path.removeprefix("/").split("/"))
    return None if "" in parts else parts


class _Node:
    """One path position in the route trie."""

    __slots__ = ("ends", "greedy", "literal", "param")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.ends: dict[str, Route] = {}  # method -> route whose template ends here
        self.greedy: dict[str, Route] = {}  # method -> route with {proxy+} after here


MATCHES_KEPT = 1024
_UNSEEN = object()


class RouteTable:
    """The configured routes in a trie, walked in API Gateway's order of precedence."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self.routes = routes
        self._websocket = {r.key: r for r in routes if r.websocket}
        self._root = _Node()
        for route in routes:
            if route.websocket:
                continue
            node = self._root
            for seg in route.segments:
                if seg.kind == "proxy":
                    break
                if seg.kind == "literal":
                    node = node.literal.setdefault(seg.text, _Node())
                else:
                    node.param = node.param or _Node()
                    node = node.param
            (node.greedy if route.greedy else node.ends)[route.method] = route
        # Requests repeat (the same method and path, many callers): matching is pure, so
        # its answers are kept, at most MATCHES_KEPT of them (then all are dropped).
        self._matched: dict[tuple[str, str, str], Route | None] = {}

    def match(self, api: ApiType, method: str, path: str) -> Route | None:
        """The route API Gateway would pick for this request, or ``None`` (deny)."""
        key = (api, method, path)
        found = self._matched.get(key, _UNSEEN)
        if found is _UNSEEN:
            found = self._match(api, method, path)
            if len(self._matched) >= MATCHES_KEPT:
                self._matched.clear()
            self._matched[key] = found
        return found  # type: ignore[return-value]  # a Route or None once seen

    def _match(self, api: ApiType, method: str, path: str) -> Route | None:
        if api == "websocket":
            return self._websocket.get(path)
        parts = split_path(path)
        if parts is None:
            return None
        if api == "rest":  # the most specific resource (parents included), then its method
            for on_resource in _walk(self._root, parts, 0, ends=True, greedy=True, parents=True):
                return on_resource.get(method) or on_resource.get("ANY")
            return None
        for greedy in (False, True):  # HTTP: full matches first, then greedy ones
            for candidates in _walk(
                self._root, parts, 0, ends=not greedy, greedy=greedy, parents=False
            ):
                found = candidates.get(method) or candidates.get("ANY")
                if found is not None:
                    return found
        return None


def _walk(
    node: _Node, parts: tuple[str, ...], i: int, *, ends: bool, greedy: bool, parents: bool
) -> Iterator[dict[str, Route]]:
    """Routes fitting ``parts`` from ``node`` on, most specific first (literal, param, proxy).

    With ``parents``, a node without routes of its own (a REST parent resource) is yielded
    too, as an empty mapping: it matches the path but has no method."""
    if i == len(parts):
        if ends and (node.ends or parents):
            yield node.ends
        return
    child = node.literal.get(parts[i])
    if child is not None:
        yield from _walk(child, parts, i + 1, ends=ends, greedy=greedy, parents=parents)
    if node.param is not None:
        yield from _walk(node.param, parts, i + 1, ends=ends, greedy=greedy, parents=parents)
    if greedy and node.greedy:
        yield node.greedy
