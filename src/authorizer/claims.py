"""Claim checks for a signed access token: time, audience, required claims, scopes.

Every failure raises ``ClaimRejected`` with a reason naming the claim, so logs say *why*
a token was refused without ever showing it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from authorizer.config import IssuerConfig
from authorizer.errors import ClaimRejected

_ABSENT = object()


def _numeric_date(claims: Mapping[str, Any], name: str, *, required: bool) -> int | float | None:
    """The claim as the number it is: an ``int`` stays an ``int`` (compared exactly, so
    ``10**400`` is the far future rather than an ``OverflowError`` in ``float()``).

    JSON numbers parse to exactly ``int`` or ``float``, so the type tests are ``is``
    comparisons (which also keep ``True`` out): this runs three times per token."""
    value = claims.get(name, _ABSENT)
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return value  # type: ignore[no-any-return]
    if value is _ABSENT:  # absent; ``null`` is present and malformed (RFC 7519 section 2)
        if required:
            raise ClaimRejected(f"the token has no '{name}' claim", reason=f"{name}_missing")
        return None
    raise ClaimRejected(f"'{name}' is not a NumericDate", reason=f"{name}_malformed")


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    """``aud`` as a list: RFC 7519 section 4.1.3 allows a string or a list of strings, and a
    list with anything else in it is refused whole, even when one member would match."""
    aud = claims.get("aud", _ABSENT)
    if type(aud) is str:
        return [aud]
    if aud is _ABSENT:
        return []
    if type(aud) is list and all(type(a) is str for a in aud):
        return aud
    raise ClaimRejected(
        "'aud' is neither a string nor a list of strings", reason="audience_malformed"
    )


def _same(expected: object, actual: object) -> bool:
    """Equality that does not confuse ``True`` with ``1``."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return expected == actual


def check_claims(claims: Mapping[str, Any], issuer: IssuerConfig, now: float) -> None:
    """``exp`` required; ``nbf``/``iat`` checked with leeway; ``aud`` when audiences are
    configured; ``required_claims``. The provider profile's rules are in profiles.py."""
    leeway = issuer.leeway_seconds
    exp = _numeric_date(claims, "exp", required=True)
    assert exp is not None
    if now >= exp + leeway:
        raise ClaimRejected("the token has expired", reason="expired")
    nbf = _numeric_date(claims, "nbf", required=False)
    if nbf is not None and now + leeway < nbf:
        raise ClaimRejected("the token is not valid yet", reason="not_yet_valid")
    iat = _numeric_date(claims, "iat", required=False)
    if iat is not None and now + leeway < iat:
        raise ClaimRejected("the token was issued in the future", reason="issued_in_future")
    # A malformed aud is refused whatever is configured; with no audiences configured (the
    # issuer has client_ids) a well-formed aud is not compared.
    audiences = _audiences(claims)
    if issuer.audiences and issuer.audiences.isdisjoint(audiences):
        raise ClaimRejected("the token is not meant for this API", reason="audience_mismatch")
    for name, expected in issuer.required_claims:
        if not _same(expected, claims.get(name)):
            raise ClaimRejected(
                f"claim '{name}' does not have the required value", reason="required_claim_mismatch"
            )
    sub = claims.get("sub")
    if type(sub) is not str or not sub:
        raise ClaimRejected("the token has no 'sub' claim", reason="sub_missing")


def scopes_of(claims: Mapping[str, Any], issuer: IssuerConfig) -> frozenset[str]:
    """The union of the configured scope claims, each a space-separated string or a list."""
    words: list[str] = []
    for name in issuer.scope_claims:
        value = claims.get(name)
        if value is None:
            continue
        if type(value) is str:
            words += value.split()
        elif type(value) is list and all(type(v) is str for v in value):
            for item in value:
                words += item.split()
        else:
            raise ClaimRejected(
                f"'{name}' is neither a string nor a list of strings", reason="scope_malformed"
            )
    return frozenset(words)
