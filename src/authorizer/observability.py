"""Logs and metrics that stay cheap on the hot path.

The decision line is written by a Powertools ``Logger`` with a lean JSON formatter: the
default formatter costs about three signature verifications per line. Decision counts
are aggregated in memory and published as EMF through Powertools ``single_metric`` at
most once per ``FLUSH_SECONDS`` (and on the first decision after a quiet period), instead
of one EMF document per invocation; counts of an environment that Lambda shuts down
inside that window are lost, which the README states.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging.formatter import BasePowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

FLUSH_SECONDS = 60.0
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), default=str
)  # json.dumps(...) builds one per call


class LeanJsonFormatter(BasePowertoolsFormatter):
    """One JSON object per line: level, message, timestamp, service, then ``fields``."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._keys: dict[str, Any] = {"service": service}

    def append_keys(self, **additional_keys: Any) -> None:
        self._keys.update(additional_keys)

    def get_current_keys(self) -> dict[str, Any]:
        return self._keys

    def remove_keys(self, keys: Any) -> None:
        for key in keys:
            self._keys.pop(key, None)

    def clear_state(self) -> None:
        self._keys = {"service": self._keys.get("service")}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": record.levelname,
            "message": record.getMessage(),
            "timestamp": round(record.created * 1000),
            **self._keys,
        }
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            line["xray_trace_id"] = trace.partition(";")[0].removeprefix("Root=")
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        return _ENCODER.encode(line)


class DecisionMetrics:
    """Counts events per (metric, reason) and publishes them as EMF periodically."""

    def __init__(self, namespace: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.namespace = namespace
        self.enabled = not is_metrics_disabled()
        self._clock = clock
        self._counts: Counter[tuple[str, str]] = Counter()
        self._flushed_at = clock()

    def count(self, name: str, reason: str = "") -> None:
        """Add one to metric ``name`` (with a ``reason`` dimension when one is given)."""
        if not self.enabled:
            return
        self._counts[(name, reason)] += 1
        if self._clock() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        for (name, reason), value in self._counts.items():
            with single_metric(
                name=name, unit=MetricUnit.Count, value=value, namespace=self.namespace
            ) as metric:
                if reason:
                    metric.add_dimension(name="reason", value=reason)
        self._counts.clear()
        self._flushed_at = self._clock()

    def event(self, name: str) -> None:
        """A rare event (a key fetch), published at once."""
        if self.enabled:
            with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=self.namespace):
                pass
