"""Segment-level reasoning about IAM resource patterns and route templates.

An IAM ``*`` matches any characters, slashes included, so the resource pattern
``GET/orders/*`` written for ``GET /orders/{id}`` also covers ``/orders/1/items``. To keep
cached policies exact we must know which paths a pattern reaches. Both kinds of pattern are
sequences of segment tokens:

- ``lit``: exactly this segment;
- ``one``: exactly one segment of any text;
- ``star``: zero or more segments.

A route template ``{id}`` is ``one``; ``{proxy+}`` is ``one, star``. An IAM ``*`` is
``one, star`` (segments are never empty: a trailing-slash path matches no route), except a
lone ``*`` for the whole path, which also matches the root path: ``star``.

Questions are decided exactly by running patterns as automata in step over a finite
alphabet: the literals involved plus ``OTHER``, one symbol standing for every other text
(no pattern can tell two such texts apart, so one stands for all). Written here rather
than taken from a regex library because the questions are about *sets* of paths
(intersection, difference, a shortest example), which regex engines do not answer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import product
from typing import Literal

from authorizer.routes import Route, Segment

TokenKind = Literal["lit", "one", "star"]
Token = tuple[TokenKind, str]
Pattern = tuple[Token, ...]

OTHER = "\x00other"  # stands for every segment text that is no literal of the patterns
ONE: Token = ("one", "")
STAR: Token = ("star", "")


def template_of(segments: Iterable[Segment]) -> Pattern:
    """The concrete paths API Gateway would send to a route or resource with these segments."""
    tokens: list[Token] = []
    for seg in segments:
        if seg.kind == "literal":
            tokens.append(("lit", seg.text))
        elif seg.kind == "param":
            tokens.append(ONE)
        else:
            tokens += [ONE, STAR]
    return tuple(tokens)


def template_tokens(route: Route) -> Pattern:
    return template_of(route.segments)


def glob_tokens(route: Route) -> Pattern:
    """The concrete paths the route's IAM resource pattern (``{x}`` as ``*``) matches."""
    return glob_of([s.text if s.kind == "literal" else "*" for s in route.segments])


def glob_of(parts: Sequence[str]) -> Pattern:
    """Segment tokens of an IAM pattern's path, given as its ``/``-separated parts."""
    tokens: list[Token] = []
    for part in parts:
        if part != "*":
            tokens.append(("lit", part))
        elif len(parts) == 1:  # "GET/*" also matches "GET/", the root path
            tokens.append(STAR)
        else:
            tokens += [ONE, STAR]
    return tuple(tokens)


def glob_text(pattern: Pattern) -> str:
    """The IAM path pattern for a pattern whose every ``star`` follows a ``one``.

    ``one, star`` and a lone ``one`` both become ``*``: an IAM ``*`` spans ``/`` anyway, so
    the IAM pattern reaches at least the pattern's paths (and usually more)."""
    parts: list[str] = []
    for i, (kind, text) in enumerate(pattern):
        if kind == "lit":
            parts.append(text)
        elif kind == "one":
            parts.append("*")
        elif i == 0 or pattern[i - 1][0] == "lit":
            raise ValueError("a star that follows no segment has no IAM pattern")
    return "/".join(parts)


def normalize(pattern: Pattern) -> Pattern:
    """One spelling per language: in each run of ``one``/``star``, the ones, then one star."""
    out: list[Token] = []
    ones, star = 0, False
    for token in (*pattern, ("lit", "")):
        if token[0] == "lit":
            out += [ONE] * ones + ([STAR] if star else [])
            out.append(token)
            ones, star = 0, False
        elif token[0] == "one":
            ones += 1
        else:
            star = True
    return tuple(out[:-1])


def matches(pattern: Pattern, symbols: Sequence[str]) -> bool:
    """Whether the concrete segment sequence (``OTHER`` for fresh text) fits the pattern."""
    states = _closure(pattern, frozenset({0}))
    for symbol in symbols:
        states = _step(pattern, states, symbol)
        if not states:
            return False
    return len(pattern) in states


@lru_cache(maxsize=16384)
def witness(
    includes: tuple[Pattern, ...], excludes: tuple[Pattern, ...] = ()
) -> tuple[str, ...] | None:
    """A shortest segment sequence that every include matches and no exclude does, or None.

    Its ``OTHER`` symbols stand for any text that is no literal of the patterns."""
    if len(includes) > 1 and _apart(includes):
        return None
    patterns = (*includes, *excludes)
    # OTHER first: examples made of fresh text read best ("/files/x/x/secret")
    alphabet = [OTHER, *sorted({text for p in patterns for kind, text in p if kind == "lit"})]
    start = tuple(_closure(p, frozenset({0})) for p in patterns)
    parent: dict[tuple[frozenset[int], ...], tuple[tuple[frozenset[int], ...], str] | None] = {
        start: None
    }
    todo = deque([start])
    n = len(includes)
    while todo:
        states = todo.popleft()
        if all(len(p) in s for p, s in zip(includes, states[:n], strict=True)) and not any(
            len(p) in s for p, s in zip(excludes, states[n:], strict=True)
        ):
            path: list[str] = []
            at: tuple[tuple[frozenset[int], ...], str] | None = parent[states]
            while at is not None:
                path.append(at[1])
                at = parent[at[0]]
            return tuple(reversed(path))
        for symbol in alphabet:
            nxt = tuple(_step(p, s, symbol) for p, s in zip(patterns, states, strict=True))
            if all(nxt[:n]) and nxt not in parent:
                parent[nxt] = (states, symbol)
                todo.append(nxt)
    return None


def overlaps(a: Pattern, b: Pattern) -> bool:
    """True when some concrete path (non-empty segments) matches both patterns."""
    return witness((a, b)) is not None


@lru_cache(maxsize=8192)
def meet(a: Pattern, b: Pattern) -> tuple[Pattern, ...]:
    """The paths both patterns match, as a union of patterns (normalized, no duplicates)."""
    memo: dict[tuple[int, int], frozenset[Pattern]] = {}

    def go(i: int, j: int) -> frozenset[Pattern]:
        if (i, j) in memo:
            return memo[i, j]
        out: set[Pattern] = set()
        a_star = i < len(a) and a[i][0] == "star"
        b_star = j < len(b) and b[j][0] == "star"
        if a_star and b_star:  # *x and *y: one star ends first (see the module docstring)
            out |= {(STAR, *rest) for rest in go(i + 1, j) | go(i, j + 1)}
        elif a_star:  # the star matches nothing, or b's next segment
            out |= go(i + 1, j)
            if j < len(b):
                out |= {(b[j], *rest) for rest in go(i, j + 1)}
        elif b_star:
            out |= go(i, j + 1)
            if i < len(a):
                out |= {(a[i], *rest) for rest in go(i + 1, j)}
        elif i == len(a) or j == len(b):
            if i == len(a) and j == len(b):
                out.add(())
        else:
            token = _both(a[i], b[j])
            if token is not None:
                out |= {(token, *rest) for rest in go(i + 1, j + 1)}
        memo[i, j] = frozenset(out)
        return memo[i, j]

    return tuple(sorted({normalize(p) for p in go(0, 0)}))


def expansions(pattern: Pattern, extra: int) -> Iterable[Pattern]:
    """The star-free patterns of ``pattern`` with ``extra`` more segments in all (each star
    then stands for that many ``one``), for building the most specific IAM patterns."""
    stars = [i for i, (kind, _) in enumerate(pattern) if kind == "star"]
    for split in product(range(extra + 1), repeat=len(stars)):
        if sum(split) != extra:
            continue
        out: list[Token] = []
        counts = dict(zip(stars, split, strict=True))
        for i, token in enumerate(pattern):
            out += [ONE] * counts[i] if i in counts else [token]
        yield tuple(out)


def fresh_point(pattern: Pattern) -> tuple[str, ...]:
    """The path of a star-free pattern with fresh text wherever it has no literal: any
    pattern that matches it matches every path of ``pattern`` of that shape."""
    return tuple(text if kind == "lit" else OTHER for kind, text in pattern)


def concrete(symbols: Sequence[str], literals: Iterable[str] = ()) -> str:
    """A printable path for a witness: each ``OTHER`` becomes a text no pattern names."""
    taken = set(literals)
    fresh = next(name for n in range(len(taken) + 1) if (name := f"x{n or ''}") not in taken)
    return "/" + "/".join(fresh if s == OTHER else s for s in symbols)


def _apart(patterns: tuple[Pattern, ...]) -> bool:
    """A quick proof that no path fits every pattern: two literals differ at the same place
    before any star, counted from the start or from the end (most route pairs do)."""
    for ends in (False, True):
        for i in range(min(map(len, patterns))):
            tokens = {p[-1 - i] if ends else p[i] for p in patterns}
            if any(kind == "star" for kind, _ in tokens):
                break
            if len({text for kind, text in tokens if kind == "lit"}) > 1:
                return True
    stars = [any(kind == "star" for kind, _ in p) for p in patterns]
    return not any(stars) and len({len(p) for p in patterns}) > 1


def _both(x: Token, y: Token) -> Token | None:
    if x[0] == "lit" and y[0] == "lit":
        return x if x[1] == y[1] else None
    return x if x[0] == "lit" else y


def _closure(pattern: Pattern, states: frozenset[int]) -> frozenset[int]:
    out = set(states)
    todo = list(states)
    while todo:
        i = todo.pop()
        if i < len(pattern) and pattern[i][0] == "star" and i + 1 not in out:
            out.add(i + 1)
            todo.append(i + 1)
    return frozenset(out)


def _step(pattern: Pattern, states: frozenset[int], symbol: str) -> frozenset[int]:
    nxt: set[int] = set()
    for i in states:
        if i >= len(pattern):
            continue
        kind, text = pattern[i]
        if kind == "star":
            nxt.add(i)
        elif kind == "one" or text == symbol:
            nxt.add(i + 1)
    return _closure(pattern, frozenset(nxt))
