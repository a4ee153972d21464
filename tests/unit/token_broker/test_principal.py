"""Principals: who a SigV4 caller is, and which grants name it (exactly, never by prefix)."""

from __future__ import annotations

import pytest

from token_broker.principal import Principal, PrincipalError, parse_caller, parse_grant_principal

ACCOUNT = "123456789012"
TASK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders-worker"
ASSUMED = f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-worker/{TASK_ID}"


def caller_matches(caller_arn: str, grant_arn: str) -> bool:
    return parse_caller(caller_arn).principal == parse_grant_principal(grant_arn)


def test_assumed_role_is_its_role() -> None:
    caller = parse_caller(ASSUMED)
    assert caller.principal == Principal("aws", ACCOUNT, "role", "orders-worker")
    assert caller.principal.arn == ROLE


def test_assumed_role_session_is_kept_for_the_audit_log() -> None:
    assert parse_caller(ASSUMED).session == TASK_ID


def test_iam_user_is_itself_without_a_session() -> None:
    caller = parse_caller(f"arn:aws:iam::{ACCOUNT}:user/deployer")
    assert caller.principal == Principal("aws", ACCOUNT, "user", "deployer")
    assert caller.session is None


def test_iam_user_matches_a_grant_naming_that_user() -> None:
    user = f"arn:aws:iam::{ACCOUNT}:user/deployer"
    assert caller_matches(user, user)


def test_assumed_role_matches_a_grant_naming_its_role() -> None:
    assert caller_matches(ASSUMED, ROLE)


@pytest.mark.parametrize(
    "grant",
    [
        f"arn:aws:iam::{ACCOUNT}:role/service-role/orders-worker",
        f"arn:aws:iam::{ACCOUNT}:role/ecs/tasks/orders-worker",
    ],
)
def test_grant_role_path_is_ignored_for_matching(grant: str) -> None:
    assert parse_grant_principal(grant) == parse_grant_principal(ROLE)
    assert caller_matches(ASSUMED, grant)


def test_grant_principal_arn_drops_the_path() -> None:
    grant = parse_grant_principal(f"arn:aws:iam::{ACCOUNT}:role/service-role/orders-worker")
    assert grant.arn == ROLE


@pytest.mark.parametrize(
    ("caller_role", "grant_role"),
    [
        ("orders-worker-2", "orders-worker"),
        ("orders-worker", "orders-worker-2"),
        ("orders", "orders-worker"),
        ("orders-worker", "orders"),
        ("Orders-Worker", "orders-worker"),
        ("orders-worker", "ORDERS-WORKER"),
    ],
)
def test_role_names_match_exactly_never_by_prefix_or_case(
    caller_role: str, grant_role: str
) -> None:
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/{caller_role}/{TASK_ID}"
    assert not caller_matches(caller, f"arn:aws:iam::{ACCOUNT}:role/{grant_role}")


@pytest.mark.parametrize(
    ("caller_user", "grant_user"),
    [("deployer-2", "deployer"), ("deploy", "deployer"), ("Deployer", "deployer")],
)
def test_user_names_match_exactly_never_by_prefix_or_case(
    caller_user: str, grant_user: str
) -> None:
    caller = f"arn:aws:iam::{ACCOUNT}:user/{caller_user}"
    assert not caller_matches(caller, f"arn:aws:iam::{ACCOUNT}:user/{grant_user}")


def test_another_account_does_not_match() -> None:
    caller = f"arn:aws:sts::210987654321:assumed-role/orders-worker/{TASK_ID}"
    assert not caller_matches(caller, ROLE)


def test_another_partition_does_not_match() -> None:
    caller = f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/orders-worker/{TASK_ID}"
    assert parse_caller(caller).principal.partition == "aws-cn"
    assert not caller_matches(caller, ROLE)
    assert caller_matches(caller, f"arn:aws-cn:iam::{ACCOUNT}:role/orders-worker")


def test_a_role_and_a_user_of_the_same_name_do_not_match() -> None:
    assert not caller_matches(ASSUMED, f"arn:aws:iam::{ACCOUNT}:user/orders-worker")
    user = f"arn:aws:iam::{ACCOUNT}:user/orders-worker"
    assert not caller_matches(user, ROLE)


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param(f"arn:aws:iam::{ACCOUNT}:root", id="root"),
        pytest.param(f"arn:aws:sts::{ACCOUNT}:federated-user/bob", id="federated-user"),
        pytest.param(ROLE, id="role-arn-itself"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:role/service-role/orders-worker", id="role-path"),
        pytest.param("ecs-tasks.amazonaws.com", id="service-principal"),
        pytest.param("arn:aws:iam::aws:policy/AdministratorAccess", id="aws-managed"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:group/admins", id="group"),
        pytest.param(f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-worker", id="no-session"),
        pytest.param(f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-worker/", id="empty-session"),
        pytest.param(f"arn:aws:sts::{ACCOUNT}:assumed-role//{TASK_ID}", id="empty-role"),
        pytest.param(f"arn:aws:sts::{ACCOUNT}:assumed-role/a/b/c", id="extra-segment"),
        pytest.param(f"arn:aws:sts::{ACCOUNT}:assumed-role/a b/{TASK_ID}", id="space"),
        pytest.param(f"arn:aws:sts::12345678901:assumed-role/a/{TASK_ID}", id="short-account"),
        pytest.param(f"arn:aws:s3::{ACCOUNT}:assumed-role/a/{TASK_ID}", id="other-service"),
        pytest.param(f"{ASSUMED}\n", id="trailing-newline"),
        pytest.param(f" {ASSUMED}", id="leading-space"),
        pytest.param("garbage", id="garbage"),
        pytest.param("arn:", id="arn-prefix"),
        pytest.param("", id="empty"),
    ],
)
def test_unsupported_callers_are_refused(arn: str) -> None:
    with pytest.raises(PrincipalError):
        parse_caller(arn)


def test_role_names_longer_than_iam_allows_are_refused() -> None:
    with pytest.raises(PrincipalError):
        parse_caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/{'r' * 65}/{TASK_ID}")
    longest = parse_caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/{'r' * 64}/{TASK_ID}")
    assert longest.principal.name == "r" * 64


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param(ASSUMED, id="assumed-role"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:root", id="root"),
        pytest.param(f"arn:aws:sts::{ACCOUNT}:federated-user/bob", id="federated-user"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:group/admins", id="group"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:instance-profile/web", id="instance-profile"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:policy/orders", id="policy"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:role", id="role-without-name"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:role/", id="role-empty-name"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:role/ecs/", id="role-path-only"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:role/orders*", id="wildcard"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:user/*", id="user-wildcard"),
        pytest.param("arn:aws:iam::*:role/orders-worker", id="any-account"),
        pytest.param("ecs-tasks.amazonaws.com", id="service-principal"),
        pytest.param("orders-worker", id="bare-name"),
        pytest.param("", id="empty"),
    ],
)
def test_grant_principals_other_than_roles_and_users_are_refused(arn: str) -> None:
    with pytest.raises(PrincipalError, match="not an IAM role or user ARN"):
        parse_grant_principal(arn)
