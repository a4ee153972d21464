"""The identity provider stops: what was cached keeps working, new things fail cleanly.

The gateway's authorizer cache is off, so every API call runs the authorizer, which then
has only the keys it fetched before the IdP went away.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import call
from tests.support.signing import private_key, sign
from token_broker.client import BrokerClientError, BrokerUnavailable
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture(params=["rest-token", "http"])
def stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    with LocalStack(flavor=request.param, cache_ttl=0, log=io.StringIO()) as started:
        yield started


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_cached_tokens_and_keys_keep_working_and_new_ones_fail_cleanly(stack: LocalStack) -> None:
    token = stack.broker_client("worker").get_token("orders:read orders:write")
    assert call(stack, "GET", "/orders/42", token).status == 200

    stack.idp.stop()

    # The broker's cached token, to another task of the role; the authorizer's cached keys.
    assert stack.broker_client("worker-2").get_token("orders:read orders:write") == token
    assert call(stack, "POST", "/orders", token).status == 200
    assert call(stack, "GET", "/orders/42/items", token).status == 200
    assert call(stack, "GET", "/reports", token).status == 403

    # A token the broker has not cached needs the IdP: 503 with Retry-After, not a 500.
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as unavailable:
        stack.broker_client("reporting").get_token("orders:read")
    assert unavailable.value.status == 503
    assert unavailable.value.retry_after is not None
    assert time.monotonic() - started < 10  # within the broker's 9 s deadline
    # Still refused as before, without asking the IdP.
    with pytest.raises(BrokerClientError) as refused:
        stack.broker_client("stranger").get_token("orders:read")
    assert refused.value.status == 403

    # A token signed with a key the authorizer never saw: it cannot fetch keys, so 401.
    claims = claims_of(token) | {"jti": "never-seen", "iat": int(time.time())}
    unknown = sign(
        {"alg": "RS256", "kid": "rotated-while-down", "typ": "at+jwt"},
        claims,
        private_key("RSA2048:e2e-unknown"),
    )
    assert call(stack, "GET", "/orders/42", unknown).status == 401
    assert call(stack, "GET", "/orders/42").status == 401
