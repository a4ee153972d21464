"""Segment-level reasoning about IAM resource patterns and route templates.

An IAM ``*`` matches any characters, slashes included, so the resource pattern
``GET/orders/*`` written for ``GET /orders/{id}`` also covers ``/orders/1/items``. To keep
cached policies exact we must know when a pattern can reach another route's paths. Both
kinds of pattern are sequences of segment tokens:

- ``lit``: exactly this segment;
- ``one``: exactly one segment of any text;
- ``star``: zero or more segments.

A route template ``{id}`` is ``one``; ``{proxy+}`` is ``one, star``. An IAM ``*`` is
``one, star`` (segments are never empty: a trailing-slash path matches no route), except a
lone ``*`` for the whole path, which also matches the root path: ``star``.
Overlap is decided exactly by running both patterns as automata in step over a finite
alphabet: the literals involved plus one symbol standing for "any other text".
"""

from __future__ import annotations

from typing import Literal

from authorizer.routes import Route

TokenKind = Literal["lit", "one", "star"]
Token = tuple[TokenKind, str]
Pattern = tuple[Token, ...]

_OTHER = "\x00other"  # stands for every segment text that is no literal of either pattern


def template_tokens(route: Route) -> Pattern:
    """The concrete paths API Gateway would send to this route's template."""
    tokens: list[Token] = []
    for seg in route.segments:
        if seg.kind == "literal":
            tokens.append(("lit", seg.text))
        elif seg.kind == "param":
            tokens.append(("one", ""))
        else:
            tokens += [("one", ""), ("star", "")]
    return tuple(tokens)


def glob_tokens(route: Route) -> Pattern:
    """The concrete paths the route's IAM resource pattern (``{x}`` as ``*``) matches."""
    return glob_of([s.text if s.kind == "literal" else "*" for s in route.segments])


def glob_of(parts: list[str]) -> Pattern:
    """Segment tokens of an IAM pattern's path, given as its ``/``-separated parts."""
    tokens: list[Token] = []
    for part in parts:
        if part != "*":
            tokens.append(("lit", part))
        elif len(parts) == 1:  # "GET/*" also matches "GET/", the root path
            tokens.append(("star", ""))
        else:
            tokens += [("one", ""), ("star", "")]
    return tuple(tokens)


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


def overlaps(a: Pattern, b: Pattern) -> bool:
    """True when some concrete path (non-empty segments) matches both patterns."""
    alphabet = {text for kind, text in (*a, *b) if kind == "lit"} | {_OTHER}
    start = (_closure(a, frozenset({0})), _closure(b, frozenset({0})))
    seen = {start}
    todo = [start]
    while todo:
        sa, sb = todo.pop()
        if len(a) in sa and len(b) in sb:
            return True
        for symbol in alphabet:
            nxt = (_step(a, sa, symbol), _step(b, sb, symbol))
            if nxt[0] and nxt[1] and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False
