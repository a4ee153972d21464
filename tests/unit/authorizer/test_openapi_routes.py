"""Security requirements to rules (pure): OpenAPI 3.1 section 4.8.30, "Security Requirement
Object" (https://spec.openapis.org/oas/v3.1.0#security-requirement-object): the objects of
a ``security`` list are alternatives, the schemes within one must all hold, ``{}`` makes
security optional, and only ``oauth2`` / ``openIdConnect`` requirements list scopes that
an access token carries.
"""

from __future__ import annotations

from itertools import combinations, product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authorizer.errors import OpenApiError
from authorizer.openapi import ApiDocument, Operation, Requirement
from authorizer.openapi_routes import Rule, rules_for, warnings
from authorizer.routes import parse_route

SCHEMES = {
    "oauth": "oauth2",
    "oidc": "openIdConnect",
    "key": "apiKey",
    "basic": "http",
    "mtls": "mutualTLS",
}


def op(
    *security: Requirement | dict[str, list[str]], path: str = "/pets", method: str = "GET"
) -> Operation:
    reqs = tuple(
        tuple((n, tuple(s)) for n, s in r.items()) if isinstance(r, dict) else r for r in security
    )
    return Operation(method, path, "listPets", reqs)


def rule(operation: Operation) -> Rule:
    (only,) = rules_for(ApiDocument("t", "3.1.0", "", SCHEMES, (operation,)))
    return only


def refused(*operations: Operation) -> OpenApiError:
    with pytest.raises(OpenApiError) as e:
        rules_for(ApiDocument("t", "3.1.0", "", SCHEMES, operations))
    return e.value


def test_one_requirement_with_several_scopes_needs_all_of_them() -> None:
    r = rule(op({"oauth": ["write:pets", "read:pets"]}))
    assert (r.all_scopes, r.any_scopes, r.ungranted) == (("read:pets", "write:pets"), (), None)


def test_one_requirement_with_one_scope_is_scopes() -> None:
    assert rule(op({"oauth": ["read:pets"]})).any_scopes == ("read:pets",)


def test_alternatives_of_one_scope_each_need_any_one() -> None:
    r = rule(op({"oauth": ["pets:read"]}, {"oidc": ["pets:admin"]}))
    assert (r.any_scopes, r.all_scopes) == (("pets:admin", "pets:read"), ())


def test_shared_scopes_are_all_scopes_and_the_rest_one_of() -> None:
    r = rule(op({"oauth": ["tenant", "read"]}, {"oauth": ["tenant", "admin"]}))
    assert (r.all_scopes, r.any_scopes) == (("tenant",), ("admin", "read"))


def test_an_alternative_containing_another_adds_nothing() -> None:
    r = rule(op({"oauth": ["read"]}, {"oauth": ["read", "write"]}))
    assert (r.any_scopes, r.all_scopes) == (("read",), ())


def test_scopes_of_two_oauth_schemes_in_one_requirement_are_pooled() -> None:
    assert rule(op({"oauth": ["a"], "oidc": ["b"]})).all_scopes == ("a", "b")


def test_a_combination_no_rule_can_express_is_an_error_naming_the_operation() -> None:
    error = refused(op({"oauth": ["read", "write"]}, {"oauth": ["admin"]}))
    assert error.reason == "openapi_inexpressible"
    assert "GET /pets (listPets)" in str(error)
    assert "(read and write) or (admin)" in str(error)


def test_an_unknown_security_scheme_is_an_error_naming_it_and_the_operation() -> None:
    error = refused(op({"petstore_auth": ["read"]}))
    assert error.reason == "openapi_scheme_unknown"
    assert "'petstore_auth'" in str(error)
    assert "GET /pets (listPets)" in str(error)


def test_every_bad_operation_is_listed_at_once() -> None:
    error = refused(
        op({"nope": []}, path="/a"), op({"oauth": ["x", "y"]}, {"oauth": ["z"]}, path="/b")
    )
    assert len(error.problems) == 2
    assert "GET /a" in error.problems[0]
    assert "GET /b" in error.problems[1]


@pytest.mark.parametrize(
    ("security", "why"),
    [
        (None, "no security requirement"),
        ((), "security: [] (anonymous access)"),
        (((), (("oauth", ("read",)),)), "an empty requirement {} allows anonymous access"),
        (((("oauth", ()),),), "any token of oauth is enough"),
        (((("key", ()),),), "no OAuth 2.0 or OpenID Connect requirement"),
        (((("basic", ()),), (("mtls", ()),)), "no OAuth 2.0 or OpenID Connect requirement"),
    ],
)
def test_operations_the_authorizer_cannot_grant_by_scope_get_no_rule(
    security: tuple[Requirement, ...] | None, why: str
) -> None:
    r = rule(Operation("GET", "/pets", "listPets", security))
    assert r.ungranted is not None
    assert why in r.ungranted
    assert (r.any_scopes, r.all_scopes) == ((), ())


def test_a_non_oauth_alternative_is_dropped_with_a_note() -> None:
    r = rule(op({"key": []}, {"oauth": ["read:pets", "write:pets"]}))
    assert r.all_scopes == ("read:pets", "write:pets")
    assert r.notes == (
        "key (apiKey) is not checked by the authorizer: callers using only it are refused",
    )
    assert warnings([r]) == [f"GET /pets (listPets): {r.notes[0]}"]


def test_a_non_oauth_scheme_beside_an_oauth_one_is_noted_and_the_scopes_kept() -> None:
    r = rule(op({"oauth": ["read"], "key": []}))
    assert r.any_scopes == ("read",)
    assert r.notes == ("key (apiKey) must hold too: API Gateway or the backend checks it",)


def test_trace_and_the_http_api_default_route_get_no_rule() -> None:
    assert "no TRACE" in str(rule(op({"oauth": ["a"]}, method="TRACE")).ungranted)
    assert "$default" in str(rule(op({"oauth": ["a"]}, method="ANY", path="/$default")).ungranted)


@pytest.mark.parametrize("path", ["/files/{name}.json", "/pets/", "/a/{proxy+}/b", "/x*"])
def test_a_template_api_gateway_cannot_have_is_an_error(path: str) -> None:
    error = refused(op({"oauth": ["a"]}, path=path))
    assert error.reason == "openapi_inexpressible"
    assert path in str(error)


def test_two_templates_api_gateway_cannot_tell_apart_are_an_error() -> None:
    error = refused(
        op({"oauth": ["a"]}, path="/pets/{id}"), op({"oauth": ["a"]}, path="/pets/{petId}")
    )
    assert "the same API Gateway route as GET /pets/{id}" in str(error)


def test_a_scope_with_whitespace_is_an_error() -> None:
    assert "RFC 6749" in str(refused(op({"oauth": ["read pets"]})))


# Every rule the generator writes grants exactly the token scope sets the document allows.
_SCOPES = ["a", "b", "c", "d"]
_requirement = st.dictionaries(
    st.sampled_from(["oauth", "oidc", "key"]),
    st.lists(st.sampled_from(_SCOPES), max_size=3, unique=True),
    min_size=1,
    max_size=2,
)


def _oauth(req: dict[str, list[str]]) -> list[list[str]]:
    return [scopes for name, scopes in req.items() if SCHEMES[name] != "apiKey"]


def _document_allows(security: list[dict[str, list[str]]], token: frozenset[str]) -> bool:
    """What the document allows a bearer token: an alternative with OAuth schemes holds when
    the token has all their scopes (API keys beside them are checked by API Gateway); an
    alternative of API keys alone is nothing a token can satisfy."""
    return any(
        _oauth(req) and all(set(scopes) <= token for scopes in _oauth(req)) for req in security
    )


@given(st.lists(_requirement, min_size=1, max_size=3))
def test_generated_rules_grant_exactly_what_the_document_allows(
    security: list[dict[str, list[str]]],
) -> None:
    tokens = [frozenset(t) for n in range(5) for t in combinations(_SCOPES, n)]
    try:
        r = rule(op(*security))
    except OpenApiError as e:
        error: OpenApiError | None = e
    else:
        error = None
    if error is not None:  # then no rule at all grants exactly what the document allows
        assert error.reason == "openapi_inexpressible"
        allowed = {t for t in tokens if _document_allows(security, t)}
        for one_of, all_of in product(tokens, tokens):
            granted = {t for t in tokens if all_of <= t and (not one_of or one_of & t)}
            assert granted != allowed, (security, one_of, all_of)
        return
    route = parse_route(
        r.key, any_scopes=frozenset(r.any_scopes), all_scopes=frozenset(r.all_scopes)
    )
    any_token = any(_oauth(req) and not any(_oauth(req)) for req in security)
    for token in tokens:
        allows = _document_allows(security, token)
        if r.ungranted is None:
            assert route.granted(token) == allows, (security, token)
        else:  # no rule, so denied: only "any token will do" is lost that way
            assert any_token or not allows, (security, token)
