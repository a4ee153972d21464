"""Checks of one value of a configuration document, each raising ``ConfigError`` with
the value's place in the document, and a collector that keeps going after a failed check
so ``python -m authorizer check`` lists every problem, not only the first."""

from __future__ import annotations

from collections.abc import Callable

from authorizer.errors import ConfigError
from scopegate_core.documents import got
from scopegate_core.errors import DocumentError

NO_STRINGS: tuple[str, ...] = ()


def strings(value: object, what: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A list of non-empty strings (one string is a list of one)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{what} must be a list of non-empty strings, not {got(value)}")
    if not value and not allow_empty:
        raise ConfigError(f"{what} must not be empty")
    return tuple(value)


def scopes(value: object, what: str) -> tuple[str, ...]:
    """Scope names: each one RFC 6749 section 3.3 scope-token, so never with whitespace."""
    names = strings(value, what)
    spaced = [s for s in names if any(c.isspace() for c in s)]
    if spaced:
        hint = "; write a list of scopes" if isinstance(value, str) else ""
        raise ConfigError(
            f"{what}: {', '.join(map(repr, spaced))} contains whitespace, which no token's "
            f"scope can (RFC 6749 section 3.3: a scope is one token){hint}"
        )
    return names


class Collector:
    """Runs one check after another, keeping each ``DocumentError`` (the authorizer's
    ``ConfigError`` is one) as a problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.failed = False

    def __call__[T](self, check: Callable[[], T], default: T) -> T:
        try:
            return check()
        except DocumentError as e:
            self.add(str(e))
            return default

    def add(self, problem: str) -> None:
        self.problems.append(problem)
        self.failed = True
