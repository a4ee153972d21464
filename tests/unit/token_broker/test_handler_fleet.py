"""What the broker's handler does with shared-cache failures: count every one, warn once a
minute at most (the request itself goes on to the identity provider)."""

from __future__ import annotations

import json
import logging

import pytest

import token_broker.handler as handler
from token_broker.config import BrokerConfigSource
from token_broker.token_table import SharedCacheError


def test_every_failure_is_counted_and_warned_about_at_most_once_a_minute(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handler.metrics, "enabled", True)
    now = [1_800_000_000.0]
    state = handler.Runtime(BrokerConfigSource({}), clock=lambda: now[0])
    handler.metrics.flush()  # what other tests counted goes out before this one counts
    capsys.readouterr()
    for step in (0, 10, 49):  # three failures within the minute
        now[0] += step
        state.shared_cache_failed(
            SharedCacheError("DynamoDB get_item on 't' failed: X", reason="table_error", code="X")
        )
    now[0] += 1  # a minute after the first warning
    state.shared_cache_failed(SharedCacheError("KMS failed", reason="kms_error"))
    handler.metrics.flush()
    warnings = [vars(r)["fields"] for r in caplog.records if r.levelno == logging.WARNING]
    assert [(w["reason"], w["code"]) for w in warnings] == [("table_error", "X"), ("kms_error", "")]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    counted = {line["reason"]: line["SharedCacheError"] for line in lines if "_aws" in line}
    assert len([line for line in lines if "_aws" in line]) == 2
    assert counted == {"table_error": [3.0], "kms_error": [1.0]}
