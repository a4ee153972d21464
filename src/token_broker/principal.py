"""Who is calling: IAM ARNs from the SigV4 identity and from the grants.

An assumed-role ARN ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`` is the role
``arn:aws:iam::ACCOUNT:role/ROLE``; SESSION (for ECS, the task id) is kept for the audit
log. Roles and users match on partition, account and name, exactly: a path in a grant's
ARN is allowed and ignored, since assumed-role ARNs carry none. Other principal types
(root, federated users, services) never match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)",
    re.ASCII,
)
# IAM names: letters, digits and +=,.@_- (role 64, user 64, session 64 characters).
_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_PATH = re.compile(r"(?:[\x21-\x7e]*/)?")


class PrincipalError(ValueError):
    """The ARN is not a role, assumed role or IAM user."""


@dataclass(frozen=True, slots=True)
class Principal:
    """A role or an IAM user, in the form grants are matched on."""

    partition: str
    account: str
    kind: Literal["role", "user"]
    name: str

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class Caller:
    """The SigV4 identity of one request."""

    principal: Principal
    session: str | None  # the ECS task id for a task role; None for an IAM user


def parse_grant_principal(arn: str) -> Principal:
    """A grant's ``principal``: ``arn:aws:iam::ACCOUNT:role/[PATH/]NAME`` or ``user/...``."""
    match = _ARN.fullmatch(arn)
    if match is None or match["service"] != "iam":
        raise PrincipalError(f"{arn!r} is not an IAM role or user ARN")
    kind, _, rest = match["resource"].partition("/")
    path, _, name = rest.rpartition("/")
    if kind not in ("role", "user") or not _NAME.fullmatch(name) or not _PATH.fullmatch(path + "/"):
        raise PrincipalError(f"{arn!r} is not an IAM role or user ARN")
    return Principal(
        match["partition"], match["account"], "role" if kind == "role" else "user", name
    )


@lru_cache(maxsize=256)
def parse_caller(arn: str) -> Caller:
    """The caller's ARN as API Gateway or a function URL reports it (remembered: the same
    tasks call again and again; a refusal is raised afresh every time)."""
    match = _ARN.fullmatch(arn)
    if match is None:
        raise PrincipalError("the caller is not an IAM principal")
    partition, account, resource = match["partition"], match["account"], match["resource"]
    if match["service"] == "sts":
        kind, _, rest = resource.partition("/")
        role, _, session = rest.partition("/")
        if kind != "assumed-role" or not _NAME.fullmatch(role) or not _NAME.fullmatch(session):
            raise PrincipalError("the caller is not an assumed role or an IAM user")
        return Caller(Principal(partition, account, "role", role), session)
    try:
        principal = parse_grant_principal(arn)
    except PrincipalError:
        principal = None
    if principal is None or principal.kind != "user":
        # Requests are signed by sessions, never by a role ARN itself.
        raise PrincipalError("the caller is not an assumed role or an IAM user")
    return Caller(principal, None)
