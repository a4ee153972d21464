"""Routes: parse ``METHOD /path`` rules and match requests the way API Gateway does.

Matching precedence follows API Gateway: per segment, a literal beats ``{param}``, which
beats ``{proxy+}``; a route's own method beats ``ANY``. REST APIs pick the resource (path)
first and then the method on it; HTTP APIs only consider routes whose method matches and
prefer a route without a greedy ``{proxy+}`` (API Gateway's "full match" rule).
"""

from __future__ import annotations

import re
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

_RANK: dict[SegmentKind, int] = {"literal": 0, "param": 1, "proxy": 2}


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

    def matches(self, parts: tuple[str, ...]) -> bool:
        """Does the concrete path (split into segments) fit this route's template?"""
        segs = self.segments
        if segs and segs[-1].kind == "proxy":
            if len(parts) < len(segs):
                return False
            segs = segs[:-1]
        elif len(parts) != len(segs):
            return False
        return all(s.kind != "literal" or s.text == p for s, p in zip(segs, parts, strict=False))

    def rank(self, api: ApiType) -> tuple[int, ...]:
        kinds = tuple(_RANK[s.kind] for s in self.segments)
        if api == "http":  # a full (non-greedy) match beats any greedy one
            return (int(any(s.kind == "proxy" for s in self.segments)), *kinds)
        return kinds


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


class RouteTable:
    """The configured routes, indexed for matching."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self.routes = routes
        self._websocket = {r.key: r for r in routes if r.websocket}
        self._http = tuple(r for r in routes if not r.websocket)

    def match(self, api: ApiType, method: str, path: str) -> Route | None:
        """The route API Gateway would pick for this request, or ``None`` (deny)."""
        if api == "websocket":
            return self._websocket.get(path)
        parts = split_path(path)
        if parts is None:
            return None
        fitting = [r for r in self._http if r.matches(parts)]
        if api == "http":
            fitting = [r for r in fitting if r.method in (method, "ANY")]
            if not fitting:
                return None
            return min(fitting, key=lambda r: (r.rank(api), r.method == "ANY"))
        if not fitting:
            return None
        best = min(r.rank(api) for r in fitting)
        on_resource = [r for r in fitting if r.rank(api) == best]
        exact = [r for r in on_resource if r.method == method]
        if exact:
            return exact[0]
        return next((r for r in on_resource if r.method == "ANY"), None)
