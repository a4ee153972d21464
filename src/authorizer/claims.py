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


def _numeric_date(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise ClaimRejected(f"the token has no '{name}' claim", reason=f"{name}_missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ClaimRejected(f"'{name}' is not a NumericDate", reason=f"{name}_malformed")
    return float(value)


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
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    # No audiences configured (the issuer has client_ids): aud is not checked at all.
    if issuer.audiences and (
        not isinstance(audiences, list)
        or not any(isinstance(a, str) and a in issuer.audiences for a in audiences)
    ):
        raise ClaimRejected("the token is not meant for this API", reason="audience_mismatch")
    for name, expected in issuer.required_claims:
        if not _same(expected, claims.get(name)):
            raise ClaimRejected(
                f"claim '{name}' does not have the required value", reason="required_claim_mismatch"
            )
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise ClaimRejected("the token has no 'sub' claim", reason="sub_missing")


def scopes_of(claims: Mapping[str, Any], issuer: IssuerConfig) -> frozenset[str]:
    """The union of the configured scope claims, each a space-separated string or a list."""
    scopes: set[str] = set()
    for name in issuer.scope_claims:
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            scopes.update(value.split())
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            for item in value:
                scopes.update(item.split())
        else:
            raise ClaimRejected(
                f"'{name}' is neither a string nor a list of strings", reason="scope_malformed"
            )
    return frozenset(scopes)
