"""IAM as API Gateway applies it to an authorizer's policy: written here, independent of
``src/``, because it is the check of the policies our authorizer returns. The one IAM
evaluator of the project: the local gateway and every test use it.

Statements may be one object or a list; ``Action`` and ``Resource`` a string or a list,
with IAM wildcards (``*`` any run of characters, ``/`` included; ``?`` one character);
actions match without regard to case. An explicit Deny wins; without an Allow the request
is denied. ``NotAction`` and ``NotResource`` are refused, not ignored; so is ``Condition``
unless the caller gives the request's context (identity policies of the template's roles),
and then only the ``StringEquals`` family is understood.

Conditions follow the IAM User Guide, "Single-valued vs. multivalued context keys"
(docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html):
a plain operator needs the key present and one of its values equal to one of the policy's;
``ForAnyValue:`` holds when any request value matches (not when the key is absent);
``ForAllValues:`` when every request value matches (also when the key is absent). Every
operator of a Condition block must hold. Keys compare without regard to case.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

Verdict = Literal["allow", "explicit_deny", "implicit_deny"]
Context = dict[str, list[str]]  # condition key (lower case) -> the request's values
_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Action", "Resource"})
_WITH_CONDITION = _STATEMENT_KEYS | {"Condition"}


def iam_verdict(
    document: Any,
    resource: str,
    action: str = "execute-api:Invoke",
    context: Context | None = None,
) -> Verdict:
    """How IAM judges ``action`` on ``resource`` under ``document``: an explicit Deny wins,
    without an Allow it is denied. ValueError for a document API Gateway would refuse;
    ``Condition`` is evaluated only against a given ``context``."""
    statements = document.get("Statement") if isinstance(document, dict) else None
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list):
        raise ValueError("the policy document has no Statement list")
    allowed_keys = _STATEMENT_KEYS if context is None else _WITH_CONDITION
    effects: set[str] = set()  # of the statements that apply
    for statement in statements:
        if not isinstance(statement, dict) or not statement.keys() <= allowed_keys:
            raise ValueError(f"unsupported statement {statement!r}")  # Condition, NotAction...
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise ValueError(f"a statement's Effect is Allow or Deny, not {effect!r}")
        acts = _glob(statement.get("Action"), action, re.IGNORECASE)  # actions ignore case
        if not (acts and _glob(statement.get("Resource"), resource)):
            continue
        conditions = statement.get("Condition", {})
        if context is None or all(
            _condition_holds(op, tests, context) for op, tests in conditions.items()
        ):
            effects.add(effect)
    if "Deny" in effects:
        return "explicit_deny"
    return "allow" if "Allow" in effects else "implicit_deny"


def iam_allows(document: Any, resource: str) -> bool:
    """Whether API Gateway lets the request for ``resource`` through under ``document``."""
    return iam_verdict(document, resource) == "allow"


def statements_allow(
    statements: list[dict[str, Any]], action: str, resource: str, context: Context
) -> bool:
    """Whether identity policy ``statements`` allow ``action`` on ``resource`` in ``context``."""
    return iam_verdict({"Statement": statements}, resource, action, context) == "allow"


def _condition_holds(operator: str, tests: Any, context: Context) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if base != "StringEquals" or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise ValueError(f"condition operator {operator} is not understood here")
    if not isinstance(tests, dict):
        raise ValueError(f"a condition maps keys to values, not {tests!r}")
    for key, wanted in tests.items():
        allowed = {wanted} if isinstance(wanted, str) else set(wanted)
        values = context.get(key.lower(), [])
        if qualifier == "ForAllValues":
            holds = all(v in allowed for v in values)
        else:
            holds = any(v in allowed for v in values)
        if not holds:
            return False
    return True


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
