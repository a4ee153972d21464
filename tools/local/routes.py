"""An API's routes as API Gateway matches them: ``GET /orders/{id}``, ``ANY /admin/{proxy+}``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Route:
    """One route of the API: ``GET /orders/{id}``, ``ANY /admin/{proxy+}``."""

    method: str
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Route:
        method, _, path = text.strip().partition(" ")
        if not path.startswith("/"):
            raise ValueError(f"route {text!r}: expected 'METHOD /path'")
        return cls(method.upper(), split(path))

    @property
    def path(self) -> str:
        return "/" + "/".join(self.segments)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def greedy(self) -> bool:
        return self.segments[-1:] != () and self.segments[-1].endswith("+}")


def split(path: str) -> tuple[str, ...]:
    return () if path in ("", "/") else tuple(path.removeprefix("/").split("/"))


def rank(segments: tuple[str, ...]) -> tuple[int, ...]:
    """0 per literal segment, 1 per ``{param}``, 2 per ``{proxy+}``: least is most specific."""
    return tuple(0 if s[:1] != "{" else 2 if s.endswith("+}") else 1 for s in segments)


def bind(segments: tuple[str, ...], parts: tuple[str, ...]) -> dict[str, str] | None:
    """The path parameters when the template ``segments`` matches the path ``parts``."""
    params: dict[str, str] = {}
    for i, segment in enumerate(segments):
        name = segment.strip("{}+")
        if segment.endswith("+}"):  # one or more whole segments
            rest = parts[i:]
            return {**params, name: "/".join(rest)} if rest and all(rest) else None
        if i >= len(parts) or not parts[i]:
            return None
        if segment.startswith("{"):
            params[name] = parts[i]
        elif segment != parts[i]:
            return None
    return params if len(segments) == len(parts) else None


Api = Literal["rest", "http"]


class RouteMap:
    """Which route API Gateway picks for a request, written from the developer guide apart
    from ``src/`` (it is the check of ``authorizer.routes``).

    REST: the most specific resource (per segment a literal, then ``{param}``, then
    ``{proxy+}``; a route's parents are resources without methods), then its own method or
    ``ANY``; no fallback to another resource. HTTP API: the routes of the method and
    ``ANY``, full matches before greedy ones, the most specific path, then not ``ANY``."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)
        self._resources: dict[tuple[str, ...], dict[str, Route]] = {}  # REST: path -> methods
        for route in self.routes:
            for n in range(len(route.segments) + 1):
                self._resources.setdefault(route.segments[:n], {})
            self._resources[route.segments][route.method] = route

    def match(self, api: Api, method: str, parts: tuple[str, ...]) -> Route | None:
        if api == "http":
            routes = [r for r in self.routes if r.method in (method, "ANY")]
            fits = [r for r in routes if bind(r.segments, parts) is not None]
            if not fits:
                return None
            return min(fits, key=lambda r: (r.greedy, rank(r.segments), r.method == "ANY"))
        paths = [path for path in self._resources if bind(path, parts) is not None]
        if not paths:
            return None
        methods = self._resources[min(paths, key=rank)]
        return methods.get(method) or methods.get("ANY")
