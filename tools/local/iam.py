"""IAM as API Gateway applies it to an authorizer's policy: written here, independent of
``src/``, because it is the check of the policies our authorizer returns. The one IAM
evaluator of the project: the local gateway and every test use it.

Statements may be one object or a list; ``Action`` and ``Resource`` a string or a list,
with IAM wildcards (``*`` any run of characters, ``/`` included; ``?`` one character);
actions match without regard to case. An explicit Deny wins; without an Allow the request
is denied. ``Condition``, ``NotAction`` and ``NotResource`` are refused, not ignored.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

Verdict = Literal["allow", "explicit_deny", "implicit_deny"]
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource"}


def iam_verdict(document: Any, resource: str, action: str = "execute-api:Invoke") -> Verdict:
    """How IAM judges ``action`` on ``resource`` under ``document``: an explicit Deny wins,
    without an Allow it is denied. ValueError for a document API Gateway would refuse."""
    statements = document.get("Statement") if isinstance(document, dict) else None
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list):
        raise ValueError("the policy document has no Statement list")
    effects: set[str] = set()  # of the statements that apply
    for statement in statements:
        if not isinstance(statement, dict) or not statement.keys() <= _STATEMENT_KEYS:
            raise ValueError(f"unsupported statement {statement!r}")  # Condition, NotAction...
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise ValueError(f"a statement's Effect is Allow or Deny, not {effect!r}")
        acts = _glob(statement.get("Action"), action, re.IGNORECASE)  # actions ignore case
        if _glob(statement.get("Resource"), resource) and acts:
            effects.add(effect)
    if "Deny" in effects:
        return "explicit_deny"
    return "allow" if "Allow" in effects else "implicit_deny"


def iam_allows(document: Any, resource: str) -> bool:
    """Whether API Gateway lets the request for ``resource`` through under ``document``."""
    return iam_verdict(document, resource) == "allow"


def _glob(patterns: Any, text: str, flags: int = 0) -> bool:
    """IAM matching of ``text`` by any of ``patterns``: ``*`` any run, ``/`` too; ``?`` one."""
    patterns = [patterns] if isinstance(patterns, str) else patterns
    if not isinstance(patterns, list) or not patterns or any(type(p) is not str for p in patterns):
        raise ValueError(f"Action and Resource are strings or lists of them, not {patterns!r}")
    return any(_compiled(pattern, flags).fullmatch(text) for pattern in patterns)


@lru_cache(maxsize=4096)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | flags)
