"""An independent IAM evaluator for tests: how API Gateway judges a returned policy.

Resource patterns use IAM globbing (``*`` any run of characters, ``?`` one character);
an explicit Deny wins; without a matching Allow the request is denied.
"""

from __future__ import annotations

import re
from typing import Any


def _glob(pattern: str) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def iam_allows(document: dict[str, Any], resource: str) -> bool:
    allowed = False
    for statement in document["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        if not any(_glob(a).fullmatch("execute-api:Invoke") for a in actions):
            continue
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        if any(_glob(r).fullmatch(resource) for r in resources):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


# --- identity policies with conditions, for the template's roles ---------------------------
#
# IAM's condition operators as the IAM User Guide describes them ("Single-valued vs.
# multivalued context keys", docs.aws.amazon.com/IAM/latest/UserGuide/
# reference_policies_condition-single-vs-multi-valued-context-keys.html): a plain
# operator needs the key present and one of its values equal to one of the policy's;
# ForAnyValue: is true when any request value matches (false when the key is absent);
# ForAllValues: is true when every request value matches (true when the key is absent).
# Operators in one Condition block must all hold. Keys compare case-insensitively.

Context = dict[str, list[str]]  # condition key (lower case) -> the request's values


def _condition_holds(operator: str, tests: dict[str, Any], context: Context) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if base != "StringEquals":
        raise NotImplementedError(f"condition operator {operator}")
    for key, wanted in tests.items():
        allowed = {wanted} if isinstance(wanted, str) else set(wanted)
        values = context.get(key.lower(), [])
        if qualifier == "ForAllValues":
            holds = all(v in allowed for v in values)
        elif qualifier in ("ForAnyValue", ""):
            holds = any(v in allowed for v in values)
        else:
            raise NotImplementedError(f"condition qualifier {qualifier}")
        if not holds:
            return False
    return True


def statements_allow(
    statements: list[dict[str, Any]], action: str, resource: str, context: Context
) -> bool:
    """Whether identity policy ``statements`` allow ``action`` on ``resource``."""
    allowed = False
    for statement in statements:
        actions = statement["Action"]
        resources = statement["Resource"]
        if not any(
            _glob(a.lower()).fullmatch(action.lower())
            for a in ([actions] if isinstance(actions, str) else actions)
        ):
            continue
        if not any(
            _glob(r).fullmatch(resource)
            for r in ([resources] if isinstance(resources, str) else resources)
        ):
            continue
        conditions = statement.get("Condition", {})
        if not all(_condition_holds(op, tests, context) for op, tests in conditions.items()):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed
