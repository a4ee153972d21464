"""Claim values as a hostile or broken issuer may sign them: every one is a decision.

Findings of differential testing against PyJWT, joserfc and jwcrypto: a NumericDate
beyond a float (``10**400``) raised ``OverflowError`` (API Gateway then answered 500 and no
decision was logged); ``nbf: null`` and ``iat: null`` passed as if absent; ``aud`` lists
holding non-strings passed. RFC 7519 section 2 defines a NumericDate as a JSON numeric
value and section 4.1.3 ``aud`` as a string or an array of strings.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from authorizer.decision import Unauthorized
from authorizer.errors import ClaimRejected, MalformedToken, TokenRejected
from authorizer.handler import handle
from authorizer.jws import MAX_TOKEN_LENGTH
from tests.support.issuer import AUDIENCE, LocalIssuer
from tests.support.signing import sign
from tests.unit.authorizer.test_handler import event, runtime
from tests.unit.authorizer.test_verifier import Clock, verifier

HUGE = 10**400  # far beyond the largest float (about 1.8e308)
NOW = 2_000_000_000


def raw_token(idp: LocalIssuer, claims: dict[str, Any]) -> str:
    """Signed with the issuer's key, claims exactly as given (``None`` stays ``null``)."""
    key, alg = idp.keys[idp.current]
    return sign({"alg": alg, "kid": idp.current, "typ": "at+jwt"}, claims, key)


def base_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": "https://issuer.test",
        "sub": "client-1",
        "aud": AUDIENCE,
        "iat": NOW,
        "exp": NOW + 300,
        "scope": "orders:read",
    }
    return claims | changes


def rejection(claims: dict[str, Any]) -> str:
    idp = LocalIssuer()
    with pytest.raises(TokenRejected) as e:
        verifier(idp, Clock(NOW), Clock(0)).verify(raw_token(idp, claims))
    return e.value.reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": -HUGE}, "expired"),
        ({"nbf": HUGE}, "not_yet_valid"),
        ({"iat": HUGE}, "issued_in_future"),
    ],
)
def test_numeric_dates_beyond_a_float_are_decided_not_crashed(
    changes: dict[str, Any], reason: str
) -> None:
    assert rejection(base_claims(**changes)) == reason


def test_an_exp_beyond_a_float_is_the_far_future_not_a_crash() -> None:
    idp = LocalIssuer()
    v = verifier(idp, Clock(NOW), Clock(0))
    token = raw_token(idp, base_claims(exp=HUGE, nbf=-HUGE))
    assert v.verify(token).claims["exp"] == HUGE
    assert v.verify(token).scopes == {"orders:read"}  # and again, from the cache


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_a_null_numeric_date_is_malformed(name: str) -> None:
    assert rejection(base_claims(**{name: None})) == f"{name}_malformed"


@pytest.mark.parametrize("value", ["2000000300", True, [NOW + 300], {"t": NOW}])
@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_a_numeric_date_that_is_not_a_number_is_malformed(name: str, value: object) -> None:
    assert rejection(base_claims(**{name: value})) == f"{name}_malformed"


def test_a_missing_exp_is_still_its_own_reason() -> None:
    claims = base_claims()
    del claims["exp"]
    assert rejection(claims) == "exp_missing"


@pytest.mark.parametrize(
    "aud",
    [
        [AUDIENCE, 5],
        [AUDIENCE, None],
        [AUDIENCE, [AUDIENCE]],
        [AUDIENCE, {"aud": AUDIENCE}],
        [5, AUDIENCE],
        5,
        None,
        {"aud": AUDIENCE},
    ],
)
def test_aud_must_be_a_string_or_a_list_of_strings(aud: object) -> None:
    assert rejection(base_claims(aud=aud)) == "audience_malformed"


def test_a_list_of_strings_naming_the_audience_is_accepted() -> None:
    idp = LocalIssuer()
    token = raw_token(idp, base_claims(aud=["api://other", AUDIENCE]))
    assert verifier(idp, Clock(NOW), Clock(0)).verify(token).issuer == "https://issuer.test"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"scope": HUGE}, "scope_malformed"),
        ({"scope": ["orders:read", HUGE]}, "scope_malformed"),
        ({"sub": HUGE}, "sub_missing"),
        ({"aud": [AUDIENCE, HUGE]}, "audience_malformed"),
    ],
)
def test_huge_integers_in_other_claims_are_decided(changes: dict[str, Any], reason: str) -> None:
    assert rejection(base_claims(**changes)) == reason


def test_an_integer_longer_than_pythons_digit_limit_is_malformed() -> None:
    # Python refuses to parse integers of over 4300 digits (ValueError); such a token
    # still fits MAX_TOKEN_LENGTH.
    idp = LocalIssuer()
    payload = json.dumps(base_claims())[:-1] + ', "n": ' + "9" * 5000 + "}"
    token = sign({"alg": "RS256", "kid": "k1"}, payload.encode(), idp.keys["k1"][0])
    assert len(token) < MAX_TOKEN_LENGTH
    with pytest.raises(MalformedToken):
        verifier(idp, Clock(NOW), Clock(0)).verify(token)


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1E999"])
def test_a_number_beyond_a_double_is_malformed_wherever_it_is(number: bytes) -> None:
    # json reads 1e400 as float('inf'), which no JSON answer to API Gateway can hold.
    idp = LocalIssuer()
    payload = json.dumps(base_claims()).encode()[:-1] + b', "n": [' + number + b"]}"
    token = sign({"alg": "RS256", "kid": "k1"}, payload, idp.keys["k1"][0])
    with pytest.raises(MalformedToken):
        verifier(idp, Clock(NOW), Clock(0)).verify(token)


# --- through the handler: 401 (or a decision) and one decision line, never a crash -------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": -HUGE}, "expired"),
        ({"nbf": HUGE}, "not_yet_valid"),
        ({"iat": HUGE}, "issued_in_future"),
        ({"nbf": None}, "nbf_malformed"),
        ({"aud": [AUDIENCE, None]}, "audience_malformed"),
    ],
)
@pytest.mark.parametrize("kind", ["rest_token", "http_v2"])
def test_the_handler_answers_unauthorized_and_logs_the_decision(
    caplog: pytest.LogCaptureFixture, kind: str, changes: dict[str, Any], reason: str
) -> None:
    idp = LocalIssuer()
    now = int(time.time())
    claims = base_claims(iat=now, exp=now + 300) | changes
    with caplog.at_level(logging.INFO), pytest.raises(Unauthorized):
        handle(runtime(idp), event(kind, raw_token(idp, claims)))
    lines = [vars(r)["fields"] for r in caplog.records if r.getMessage() == "decision"]
    assert [(x["decision"], x["reason"]) for x in lines] == [("unauthenticated", reason)]


@pytest.mark.parametrize("kind", ["rest_token", "http_v2"])
def test_huge_context_claims_reach_api_gateway_as_strict_json(kind: str) -> None:
    idp = LocalIssuer()
    now = int(time.time())
    claims = base_claims(iat=now, exp=HUGE, n=HUGE, obj={"big": -HUGE}, ok=2**53)
    response = handle(runtime(idp, http_api_response="iam"), event(kind, raw_token(idp, claims)))
    # The Lambda runtime sends the response as JSON; API Gateway reads context values as
    # strings, numbers and booleans. RFC 7493 section 2.2: integers beyond 2**53 are not
    # interoperable as JSON numbers, so they travel as their decimal strings.
    text = json.dumps(response, allow_nan=False)
    context = json.loads(text)["context"]
    assert context["n"] == str(HUGE)
    assert context["obj"] == json.dumps({"big": -HUGE}, separators=(",", ":"))
    assert context["ok"] == str(2**53)


def test_claim_rejections_say_which_claim_but_never_its_value() -> None:
    idp = LocalIssuer()
    with pytest.raises(ClaimRejected) as e:
        verifier(idp, Clock(NOW), Clock(0)).verify(
            raw_token(idp, base_claims(aud=["api://orders", "secret-audience", 5]))
        )
    assert "aud" in str(e.value)
    assert "secret-audience" not in str(e.value)
