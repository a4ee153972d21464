"""Route rules from an OpenAPI document's security requirements (pure), and the ``routes:``
document that ``python -m authorizer routes-from-openapi`` prints.

In OpenAPI the requirement objects of a ``security`` list are alternatives, and every
scheme inside one object must hold. How that becomes a rule:

- Only OAuth 2.0 (``oauth2``) and OpenID Connect (``openIdConnect``) schemes carry scopes
  the authorizer checks. Every such scheme is taken to be served by the configured issuers,
  so the scopes of the OAuth schemes in one object are pooled.
- One alternative: its scopes are ``all_scopes`` (``scopes`` when it is a single scope).
  Several: the scopes they all share are ``all_scopes`` and the one scope left in each is
  ``scopes``. Anything else (``(a and b) or c``) is an error naming the operation.
- An alternative without an OAuth scheme (API key, HTTP basic or bearer, mutual TLS) is
  dropped with a note: the authorizer refuses callers who use it, it never lets them in.
  A non-OAuth scheme beside an OAuth one in the same object is noted too: API Gateway or
  the backend must check it.
- No requirement, ``security: []``, an empty object ``{}`` (anonymous access), an OAuth
  scheme without scopes (any token) or nothing left after dropping: no rule, a comment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from authorizer.base_path import BasePathMode
from authorizer.errors import ConfigError, OpenApiError
from authorizer.openapi import ApiDocument, Operation
from authorizer.routes import Route, parse_route

OAUTH_TYPES = frozenset({"oauth2", "openIdConnect"})
_BASE_PATH = {
    "ignore": "not part of the routes (API Gateway's stage or base path mapping); "
    "--base-path prepend or split changes that",
    "prepend": "prepended to every path (--base-path prepend)",
    "split": "its first segment dropped as the stage, the rest prepended (--base-path split)",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """What the document asks of one operation: scopes for a rule, or why it gets none."""

    operation: Operation
    any_scopes: tuple[str, ...] = ()
    all_scopes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    ungranted: str | None = None  # why there is no rule; None when there is one

    @property
    def key(self) -> str:
        return f"{self.operation.method} {self.operation.path}"


def shape(method: str, route: Route) -> tuple[object, ...]:
    """What API Gateway tells routes apart by: method, literals, and parameter positions."""
    return (method, *((s.kind, s.text if s.kind == "literal" else "") for s in route.segments))


def rules_for(document: ApiDocument) -> list[Rule]:
    """One ``Rule`` per operation, or ``OpenApiError`` listing every one that cannot be."""
    rules: list[Rule] = []
    problems: list[OpenApiError] = []
    seen: dict[tuple[object, ...], str] = {}
    for op in document.operations:
        try:
            rule = _rule(op, document.schemes)
            if rule.ungranted is None:
                route = parse_route(rule.key, any_scopes=frozenset(), all_scopes=frozenset())
                if shape(route.method, route) in seen:
                    raise OpenApiError(
                        f"{op.label}: the same API Gateway route as "
                        f"{seen[shape(route.method, route)]}",
                        reason="openapi_inexpressible",
                    )
                seen[shape(route.method, route)] = op.label
        except ConfigError as e:  # parse_route: a template API Gateway cannot have
            problems.append(OpenApiError(f"{op.label}: {e}", reason="openapi_inexpressible"))
            continue
        except OpenApiError as e:
            problems.append(e)
            continue
        rules.append(rule)
    if problems:
        first = problems[0]
        raise OpenApiError(str(first), reason=first.reason, problems=[str(p) for p in problems])
    return rules


def _rule(op: Operation, schemes: Mapping[str, str]) -> Rule:
    if op.method == "TRACE":
        return Rule(op, ungranted="API Gateway has no TRACE method")
    if op.path == "/$default":
        return Rule(op, ungranted="HTTP API $default route, which a rule cannot name")
    if op.security is None:
        return Rule(op, ungranted="no security requirement")
    if not op.security:
        return Rule(op, ungranted="security: [] (anonymous access)")
    alternatives: list[frozenset[str]] = []
    notes: list[str] = []
    for requirement in op.security:
        if not requirement:
            return Rule(op, ungranted="an empty requirement {} allows anonymous access")
        unknown = [name for name, _ in requirement if name not in schemes]
        if unknown:
            raise OpenApiError(
                f"{op.label}: security scheme {unknown[0]!r} is not defined in "
                "components.securitySchemes",
                reason="openapi_scheme_unknown",
            )
        oauth = [(n, s) for n, s in requirement if schemes[n] in OAUTH_TYPES]
        others = " + ".join(
            f"{n} ({schemes[n]})" for n, _ in requirement if schemes[n] not in OAUTH_TYPES
        )
        if not oauth:
            notes.append(
                f"{others} is not checked by the authorizer: callers using only it are refused"
            )
            continue
        if others:
            notes.append(f"{others} must hold too: API Gateway or the backend checks it")
        scopes = frozenset(s for _, names in oauth for s in names)
        bad = sorted(s for s in scopes if not s or any(c.isspace() for c in s))
        if bad:
            raise OpenApiError(
                f"{op.label}: scope {bad[0]!r} is not one scope token (RFC 6749 section 3.3)",
                reason="openapi_inexpressible",
            )
        if not scopes:
            names = ", ".join(n for n, _ in oauth)
            why = f"any token of {names} is enough (no scopes), and a rule needs one"
            return Rule(op, notes=tuple(notes), ungranted=why)
        if scopes not in alternatives:
            alternatives.append(scopes)
    if not alternatives:
        why = "no OAuth 2.0 or OpenID Connect requirement"
        return Rule(op, notes=tuple(notes), ungranted=why)
    # (a) or (a and b) is (a): drop alternatives that contain another one.
    minimal = [a for a in alternatives if not any(b < a for b in alternatives)]
    common = frozenset.intersection(*minimal)
    rests = [a - common for a in minimal]
    if len(minimal) == 1:
        only = tuple(sorted(minimal[0]))
        if len(only) == 1:
            return Rule(op, any_scopes=only, notes=tuple(notes))
        return Rule(op, all_scopes=only, notes=tuple(notes))
    if any(len(rest) != 1 for rest in rests):
        options = " or ".join("(" + " and ".join(sorted(a)) + ")" for a in minimal)
        raise OpenApiError(
            f"{op.label}: its security alternatives {options} cannot be one rule, which "
            "needs all of 'all_scopes' and one of 'scopes'",
            reason="openapi_inexpressible",
        )
    one_of = tuple(sorted(s for rest in rests for s in rest))
    return Rule(op, any_scopes=one_of, all_scopes=tuple(sorted(common)), notes=tuple(notes))


def warnings(rules: Sequence[Rule]) -> list[str]:
    """What a reviewer must know: dropped alternatives, unchecked schemes, no rule and why."""
    out = [f"{r.operation.label}: {note}" for r in rules for note in r.notes]
    out += [f"{r.operation.label}: not granted: {r.ungranted}" for r in rules if r.ungranted]
    return out


def render(document: ApiDocument, rules: Sequence[Rule], source: str, mode: BasePathMode) -> str:
    """A ``routes:`` YAML document, operations in document order, ready to paste."""
    lines = [
        f"# From {_text(source)} ({_text(document.title)}, OpenAPI {document.openapi})",
        "# by `python -m authorizer routes-from-openapi`. Review it, then add `issuers`.",
    ]
    if document.base_path:
        lines.append(f"# Base path {document.base_path}: {_BASE_PATH[mode]}.")
    granted = [r for r in rules if r.ungranted is None]
    lines.append("routes:" if granted else "routes: []  # no operation is granted by scopes")
    for rule in rules:
        op = rule.operation
        if rule.ungranted is not None:
            lines.append(f"  # not granted: {_text(op.label)}: {_text(rule.ungranted)}")
            lines += [f"  #   {_text(note)}" for note in rule.notes]
            continue
        lines.append(f"  # {_text(op.operation_id or op.label)}")
        lines += [f"  # note: {_text(note)}" for note in rule.notes]
        lines.append(f"  - route: {json.dumps(rule.key)}")
        if rule.any_scopes:
            lines.append(f"    scopes: {json.dumps(list(rule.any_scopes))}")
        if rule.all_scopes:
            lines.append(f"    all_scopes: {json.dumps(list(rule.all_scopes))}")
    return "\n".join(lines) + "\n"


def _text(value: str) -> str:
    """One comment line: the document's text can hold line breaks."""
    return " ".join(value.split())
