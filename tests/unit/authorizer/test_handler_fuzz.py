"""Random and mutated events and tokens thrown at the handler.

Whatever arrives, the handler either answers with a response API Gateway accepts or
raises exactly ``Unauthorized``; and it allows only an untouched, validly signed token on
a route that token's scopes permit (an oracle written out by hand below).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authorizer.decision import Unauthorized
from authorizer.handler import Runtime, handle
from authorizer.sources import ConfigSource
from tests.support.issuer import LocalIssuer
from tests.unit.authorizer.test_handler import CONFIG, PREFIX, event
from tools.local.iam import iam_allows

IDP = LocalIssuer()
IDP.add_key("attacker", name="RSA2048:attacker")
STATE = Runtime(ConfigSource({"AUTHORIZER_CONFIG": json.dumps(CONFIG)}), IDP)
SCOPE_SETS = ["orders:read", "orders:write", "admin ops", "admin", "ws:connect", ""]
VALID = {IDP.token(s): frozenset(s.split()) for s in SCOPE_SETS}
FORGED = [
    IDP.token("admin ops", kid="attacker", header={"kid": "k1"}),  # wrong key, real kid
    IDP.token("admin ops", aud="api://other"),
    IDP.token("admin ops", iss="https://evil.test"),
    IDP.token("admin ops", exp=1),
    IDP.token("admin ops", nbf=4102444800),
    IDP.token("admin ops", header={"alg": "none"}),
    IDP.token("admin ops", header={"crit": ["exp"]}),
]
# (method, path) -> which scope sets may call it, written independently of the route table
REQUESTS: dict[tuple[str, str], Any] = {
    ("GET", "/orders"): lambda s: "orders:read" in s,
    ("GET", "/orders/9"): lambda s: "orders:read" in s,
    ("POST", "/orders"): lambda s: "orders:write" in s,
    ("DELETE", "/admin/a/b"): lambda s: {"admin", "ops"} <= s,
    ("GET", "/orders/9/items"): lambda s: False,
    ("PUT", "/orders"): lambda s: False,
    ("GET", "/"): lambda s: False,
    ("", "$connect"): lambda s: "ws:connect" in s,
}
KINDS = ["rest_token", "rest_request", "http_v1", "http_v2", "websocket"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def tokens(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from([*VALID, *FORGED]))
    how = draw(st.sampled_from(["keep", "flip", "cut", "swap", "junk", "extra"]))
    if how == "keep":
        return base
    if how == "flip":
        i = draw(st.integers(0, len(base) - 1))
        ch = draw(st.sampled_from("AQgw_-.=+/ x"))
        return base[:i] + ch + base[i + 1 :]
    if how == "cut":
        return base[: draw(st.integers(0, len(base) - 1))]
    if how == "swap":
        h, _, s = base.split(".")
        other = draw(st.sampled_from(list(VALID))).split(".")
        return ".".join([h, other[1], s])
    if how == "extra":
        return base + "." + base.split(".")[2]
    return draw(st.text(max_size=200))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(KINDS),
    request=st.sampled_from(list(REQUESTS)),
    token=tokens(),
    mutation=st.one_of(st.none(), st.tuples(st.text(max_size=12), json_values)),
    drop=st.one_of(
        st.none(),
        st.sampled_from(
            ["methodArn", "routeArn", "type", "version", "headers", "authorizationToken"]
        ),
    ),
)
def test_handler_only_allows_valid_tokens_on_permitted_routes(
    kind: str, request: tuple[str, str], token: str, mutation: Any, drop: str | None
) -> None:
    method, path = request
    if kind == "websocket":
        method, path = "", "$connect"
    ev = event(kind, token, method or "GET", path)
    if drop:
        ev.pop(drop, None)
    if mutation:
        key, value = mutation
        ev = copy.deepcopy(ev)
        ev[key] = value
    try:
        response = handle(STATE, ev)
    except Unauthorized:
        return
    json.dumps(response)  # API Gateway must be able to read it
    arn = ev.get("routeArn") if kind == "http_v2" else ev.get("methodArn")
    if "isAuthorized" in response:
        allowed = response["isAuthorized"] is True
    else:
        assert isinstance(arn, str), "a policy is only returned for a readable ARN"
        allowed = iam_allows(response["policyDocument"], arn)
    if allowed:
        assert token in VALID, "only an untouched valid token may be allowed"
        assert arn == (f"{PREFIX}/$connect" if kind == "websocket" else f"{PREFIX}/{method}{path}")
        assert REQUESTS[(method, path)](VALID[token]), f"{token=} not permitted on {request}"


def test_forged_tokens_are_all_unauthorized() -> None:
    for token in FORGED:
        for kind in KINDS:
            try:
                handle(STATE, event(kind, token))
            except Unauthorized:
                continue
            raise AssertionError(f"forged token accepted by {kind}")


def test_valid_tokens_are_really_accepted() -> None:
    """Guards the fuzz test against a handler that refuses everything."""
    assert handle(STATE, event("http_v2", IDP.token("orders:read"), "GET", "/orders"))[
        "isAuthorized"
    ]
