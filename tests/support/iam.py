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
