"""An API's routes as API Gateway matches them: ``GET /orders/{id}``, ``ANY /admin/{proxy+}``."""

from __future__ import annotations

from dataclasses import dataclass


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
