"""The grant decision: which client and which scopes a caller gets (the wire contract's
rules, docs/broker.md, one by one)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from token_broker.config import BrokerConfig, ClientConfig, Grant
from token_broker.errors import (
    AccessDenied,
    BrokerError,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
)
from token_broker.grants import Issue, TokenRequest, choose, grants_of
from token_broker.principal import Principal

WORKER = Principal("aws", "123456789012", "role", "orders-worker")
OTHER = Principal("aws", "123456789012", "role", "billing-worker")


def client(name: str, resource: str | None = None, audience: str | None = None) -> ClientConfig:
    return ClientConfig(
        name=name,
        secret=f"scopegate/{name}",
        issuer=None,
        token_endpoint="https://idp.example.com/token",
        auth_method="client_secret_basic",
        resource=resource,
        audience=audience,
    )


def grant(name: str, *scopes: str, principal: Principal = WORKER) -> Grant:
    return Grant(principal, name, frozenset(scopes))


def config(*grants: Grant, clients: Iterable[ClientConfig] = ()) -> BrokerConfig:
    named = {c.name: c for c in clients}
    for g in grants:
        named.setdefault(g.client, client(g.client))
    return BrokerConfig(named, grants, 60)


def decide(cfg: BrokerConfig, request: TokenRequest, principal: Principal = WORKER) -> Issue:
    return choose(cfg, grants_of(cfg, principal), request)


def ask(*scopes: str, **fields: str) -> TokenRequest:
    return TokenRequest(scopes=frozenset(scopes), **fields)


ORDERS = grant("orders-api", "orders:read", "orders:write")
INVENTORY = grant("inventory-api", "inventory:read", "orders:read")
TWO = config(ORDERS, INVENTORY, grant("billing-api", "invoices:read", principal=OTHER))


# --- who may ask ----------------------------------------------------------------------------


def test_caller_without_a_grant_is_denied() -> None:
    with pytest.raises(AccessDenied, match="has no grant") as e:
        grants_of(config(ORDERS), OTHER)
    assert e.value.reason == "no_grant"
    assert e.value.status == 403


def test_caller_without_a_grant_is_denied_whatever_it_asks() -> None:
    # The denial depends on the principal alone: no request is even consulted.
    for principal in (OTHER, Principal("aws", "210987654321", "role", "orders-worker")):
        with pytest.raises(AccessDenied):
            grants_of(config(ORDERS), principal)


def test_caller_gets_its_own_grants_only() -> None:
    assert grants_of(TWO, WORKER) == (ORDERS, INVENTORY)


# --- which grant ----------------------------------------------------------------------------


def test_client_field_picks_the_grant() -> None:
    issue = decide(TWO, ask("orders:read", client="inventory-api"))
    assert issue.client.name == "inventory-api"
    assert issue.scopes == ("orders:read",)


def test_client_field_picks_even_when_another_grant_would_cover() -> None:
    assert decide(TWO, ask("orders:read", client="orders-api")).client.name == "orders-api"


@pytest.mark.parametrize("name", ["billing-api", "nope", "orders"])
def test_client_the_caller_has_no_grant_for_is_denied(name: str) -> None:
    with pytest.raises(AccessDenied, match=f"no grant for client '{name}'") as e:
        decide(TWO, ask(client=name))
    assert e.value.reason == "no_grant"


def test_client_without_a_grant_is_denied_before_scopes_are_looked_at() -> None:
    with pytest.raises(AccessDenied):
        decide(TWO, ask("not:granted", client="billing-api"))


def test_single_grant_is_used_without_naming_it() -> None:
    issue = decide(config(ORDERS), ask("orders:read"))
    assert issue.client.name == "orders-api"


def test_the_one_covering_grant_among_several_is_chosen() -> None:
    assert decide(TWO, ask("orders:write")).client.name == "orders-api"
    assert decide(TWO, ask("inventory:read", "orders:read")).client.name == "inventory-api"


def test_several_covering_grants_are_ambiguous_and_named() -> None:
    with pytest.raises(InvalidRequest, match="name one with 'client'") as e:
        decide(TWO, ask("orders:read"))
    assert "(inventory-api, orders-api)" in str(e.value)
    assert "billing-api" not in str(e.value)


def test_no_scopes_with_several_grants_is_ambiguous() -> None:
    with pytest.raises(InvalidRequest, match=r"\(inventory-api, orders-api\)"):
        decide(TWO, ask())


def test_candidates_are_only_the_covering_grants() -> None:
    three = config(ORDERS, INVENTORY, grant("reports-api", "reports:read"))
    with pytest.raises(InvalidRequest) as e:
        decide(three, ask("orders:read"))
    assert "(inventory-api, orders-api)" in str(e.value)
    assert "reports-api" not in str(e.value)


def test_a_scope_in_none_of_several_grants_is_invalid_scope_named() -> None:
    """Not a choice between clients: no client of the caller's could grant it."""
    for scopes in (("orders:delete",), ("orders:read", "orders:delete", "audit:read")):
        with pytest.raises(InvalidScope) as e:
            decide(TWO, ask(*scopes))
        assert e.value.error == "invalid_scope"
        assert str(e.value).endswith(": " + " ".join(sorted(set(scopes) - {"orders:read"})))


def test_scopes_no_grant_covers_are_ambiguous_naming_every_grant() -> None:
    with pytest.raises(InvalidRequest, match=r"\(inventory-api, orders-api\)"):
        decide(TWO, ask("orders:write", "inventory:read"))


# --- which scopes ---------------------------------------------------------------------------


def test_no_scopes_means_every_granted_scope_sorted() -> None:
    cfg = config(grant("orders-api", "z:last", "a:first", "m:middle"))
    assert decide(cfg, ask()).scopes == ("a:first", "m:middle", "z:last")


def test_requested_scopes_are_sorted() -> None:
    cfg = config(grant("orders-api", "z:last", "a:first", "m:middle"))
    assert decide(cfg, ask("z:last", "a:first")).scopes == ("a:first", "z:last")


def test_ungranted_scopes_are_named_exactly() -> None:
    with pytest.raises(InvalidScope) as e:
        decide(config(ORDERS), ask("orders:read", "zeta:write", "alpha:admin"))
    assert e.value.status == 400
    assert e.value.error == "invalid_scope"
    assert str(e.value).endswith(": alpha:admin zeta:write")
    assert "orders:read" not in str(e.value)


def test_ungranted_scope_with_a_named_client_is_invalid_scope() -> None:
    with pytest.raises(InvalidScope, match=r"inventory:read$"):
        decide(TWO, ask("inventory:read", client="orders-api"))


def test_scope_matching_is_exact() -> None:
    for near in ("orders:rea", "orders:read2", "ORDERS:READ", "orders"):
        with pytest.raises(InvalidScope, match=f": {near}$"):
            decide(config(ORDERS), ask(near))


# --- resource and audience ------------------------------------------------------------------

TARGETED = config(ORDERS, clients=[client("orders-api", "api://orders", "https://orders")])


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"resource": "api://billing"}, "resource"),
        ({"resource": "api://orders/"}, "resource"),
        ({"audience": "https://billing"}, "audience"),
        ({"resource": "api://orders", "audience": "api://orders"}, "audience"),
    ],
)
def test_resource_or_audience_not_the_clients_is_invalid_target(
    fields: dict[str, str], words: str
) -> None:
    with pytest.raises(InvalidTarget, match=f"^{words} is not the one configured") as e:
        decide(TARGETED, ask("orders:read", **fields))
    assert e.value.error == "invalid_target"


def test_resource_and_audience_of_the_client_are_accepted() -> None:
    issue = decide(TARGETED, ask("orders:read", resource="api://orders", audience="https://orders"))
    assert issue.client.resource == "api://orders"
    assert issue.client.audience == "https://orders"


def test_omitted_resource_and_audience_use_the_clients() -> None:
    assert decide(TARGETED, ask("orders:read")).client.name == "orders-api"


@pytest.mark.parametrize("field", ["resource", "audience"])
def test_resource_or_audience_for_a_client_without_one_is_invalid_target(field: str) -> None:
    with pytest.raises(InvalidTarget, match=field):
        decide(config(ORDERS), ask("orders:read", **{field: "api://orders"}))


# --- every request --------------------------------------------------------------------------

CLIENTS = ["orders-api", "inventory-api", "billing-api"]
SCOPES = ["orders:read", "orders:write", "inventory:read", "invoices:read", "admin"]
PRINCIPALS = [WORKER, OTHER]


@st.composite
def grant_tables(draw: st.DrawFn) -> BrokerConfig:
    """Grants as the config allows them: at most one per principal and client."""
    grants = []
    for principal in PRINCIPALS:
        for name in draw(st.lists(st.sampled_from(CLIENTS), unique=True, max_size=3)):
            scopes = draw(st.frozensets(st.sampled_from(SCOPES), min_size=1))
            grants.append(Grant(principal, name, scopes))
    targets = st.none() | st.sampled_from(["api://orders", "api://other"])
    clients = [client(n, draw(targets), draw(targets)) for n in CLIENTS]
    return BrokerConfig({c.name: c for c in clients}, tuple(grants), 60)


requests = st.builds(
    TokenRequest,
    scopes=st.frozensets(st.sampled_from([*SCOPES, "unknown:scope"]), max_size=4),
    client=st.none() | st.sampled_from([*CLIENTS, "nope"]),
    resource=st.none() | st.sampled_from(["api://orders", "api://other"]),
    audience=st.none() | st.sampled_from(["api://orders", "api://other"]),
)


@settings(max_examples=500)
@given(cfg=grant_tables(), request=requests, principal=st.sampled_from(PRINCIPALS))
def test_every_decision_stays_within_the_callers_grants(
    cfg: BrokerConfig, request: TokenRequest, principal: Principal
) -> None:
    grants = cfg.grants_for(principal)
    refused: BrokerError | None = None
    try:
        issue = choose(cfg, grants_of(cfg, principal), request)
    except (AccessDenied, InvalidRequest, InvalidScope, InvalidTarget) as e:
        refused = e
    own = {g.client: g for g in grants}
    if refused is not None:
        assert refused.description
        if isinstance(refused, AccessDenied):  # only for no grant, or a client not granted
            assert not grants or (request.client is not None and request.client not in own)
        return
    assert issue.client.name in own
    assert issue.client is cfg.clients[issue.client.name]
    assert set(issue.scopes) <= own[issue.client.name].scopes
    assert list(issue.scopes) == sorted(issue.scopes)
    assert len(set(issue.scopes)) == len(issue.scopes)
    if request.scopes:
        assert set(issue.scopes) == request.scopes
    else:
        assert set(issue.scopes) == own[issue.client.name].scopes
    if request.client is not None:
        assert issue.client.name == request.client
    assert request.resource in (None, issue.client.resource)
    assert request.audience in (None, issue.client.audience)
