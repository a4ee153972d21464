"""Logs and metrics that stay cheap on the hot path.

Every line is formatted by a lean JSON formatter inside a Powertools ``Logger`` (the
default formatter costs about three signature verifications per line). The one line per
request is written by ``RequestLog`` straight to that logger's stream, without logging's
record machinery: the same line, a third of the cost (see ``RequestLog``). Decision counts
are aggregated in memory and published as EMF through Powertools ``single_metric`` at
most once per ``FLUSH_SECONDS`` (and on the first decision after a quiet period), instead
of one EMF document per invocation; counts of an environment that Lambda shuts down
inside that window are lost, as docs/operations.md says.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.filters import SuppressFilter
from aws_lambda_powertools.logging.formatter import BasePowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

FLUSH_SECONDS = 60.0
_UTF8 = frozenset({"utf-8", "UTF-8", "utf8", "UTF8"})  # how streams spell it
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


def to_json_bytes(value: object) -> bytes:
    """Compact UTF-8 JSON for a log line, by orjson: about a tenth of the ``json`` module's
    cost on a decision line's fields (``make bench``), which is paid on every request.
    What orjson refuses (an integer beyond 64 bits, a lone surrogate) falls back to
    ``json``, which writes everything (ASCII, with escapes); anything else unknown is
    written as its ``str``."""
    try:
        return orjson.dumps(value, default=str)
    except (TypeError, orjson.JSONEncodeError):
        return _ENCODER.encode(value).encode()


class LeanJsonFormatter(BasePowertoolsFormatter):
    """One JSON object per line: level, message, timestamp, the logger's keys (``service``,
    ``sampling_rate``), ``xray_trace_id`` when traced, then ``fields``.

    The parts that do not change from line to line (the level and message, the keys, the
    trace id of the current invocation) are encoded once and reused: a line costs one
    encoding of its ``fields``. Lines are built as UTF-8 bytes (``encoded_line``), which
    ``RequestLog`` writes as they are: no text is decoded only to be encoded again.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self._keys: dict[str, Any] = {"service": service}
        self._heads: dict[tuple[str, str], bytes] = {}  # (level, message) -> b'{"level":...'
        self._keys_json = b""  # ',"service":...' or nothing
        self._reserved: frozenset[str] = frozenset()
        self._trace: str | None = None  # the raw _X_AMZN_TRACE_ID the bytes below are for
        self._trace_json = b""
        self._keys_changed()

    def append_keys(self, **additional_keys: Any) -> None:
        self._keys.update(additional_keys)
        self._keys_changed()

    def get_current_keys(self) -> dict[str, Any]:
        return self._keys

    def remove_keys(self, keys: Any) -> None:
        for key in keys:
            self._keys.pop(key, None)
        self._keys_changed()

    def clear_state(self) -> None:
        self._keys = {"service": self._keys.get("service")}
        self._keys_changed()

    def _keys_changed(self) -> None:
        self._keys_json = b"," + to_json_bytes(self._keys)[1:-1] if self._keys else b""
        self._reserved = frozenset(("level", "message", "timestamp", "xray_trace_id", *self._keys))

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        return self.line(record.levelname, record.getMessage(), record.created, fields)

    def line(
        self, level: str, message: str, created: float, fields: Mapping[str, Any] | None
    ) -> str:
        """The JSON text of one log line (without its newline)."""
        return self.encoded_line(level, message, created, fields).decode()

    def encoded_line(
        self, level: str, message: str, created: float, fields: Mapping[str, Any] | None
    ) -> bytes:
        """The UTF-8 JSON of one log line (without its newline)."""
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if fields and not self._reserved.isdisjoint(fields):
            return self._merged(level, message, created, trace, fields)
        head = self._heads.get((level, message))
        if head is None:
            head = b'{"level":%s,"message":%s,"timestamp":' % (
                to_json_bytes(level),
                to_json_bytes(message),
            )
            if len(self._heads) < 64:  # a handful of (level, message) pairs repeat
                self._heads[level, message] = head
        if trace != self._trace:
            self._trace = trace
            self._trace_json = (
                b',"xray_trace_id":' + to_json_bytes(_trace_id(trace)) if trace else b""
            )
        body = b"," + to_json_bytes(fields)[1:-1] if fields else b""
        return b"%s%d%s%s%s}" % (
            head,
            round(created * 1000),
            self._keys_json,
            self._trace_json,
            body,
        )

    def _merged(
        self,
        level: str,
        message: str,
        created: float,
        trace: str | None,
        fields: Mapping[str, Any],
    ) -> bytes:
        """A line whose fields override the standard keys (rare): one dict, in key order."""
        line: dict[str, Any] = {
            "level": level,
            "message": message,
            "timestamp": round(created * 1000),
            **self._keys,
        }
        if trace:
            line["xray_trace_id"] = _trace_id(trace)
        line.update(fields)
        return to_json_bytes(line)


def _trace_id(header: str) -> str:
    """The root id of an X-Ray trace header (``Root=1-...;Parent=...;Sampled=1``)."""
    return header.partition(";")[0].removeprefix("Root=")


class RequestLog:
    """Writes the one INFO line per request as the ``Logger`` would, for a third of the cost.

    ``Logger.info`` goes through Powertools' wrapper, ``logging.Logger._log``, a
    ``LogRecord`` (about 20 attributes, ``time.time_ns`` and ``os.getpid`` among them),
    filters, propagation to the root logger (whose Lambda handler Powertools mutes with a
    ``SuppressFilter``) and ``StreamHandler.emit``. Where that is all that would happen, this
    writes the same line through the same formatter to the same stream (as UTF-8 to its
    bytes beneath, when it has them, after any text written before), under the handler's
    lock and after the same level check (``POWERTOOLS_LOG_LEVEL``, sampling). Where anything
    else would see the record (another handler, or one on the root logger that Powertools
    did not mute, such as pytest's ``caplog``), it logs through ``Logger.info`` as usual.
    """

    def __init__(self, logger: Logger, formatter: LeanJsonFormatter) -> None:
        self._logger = logger
        self._std: logging.Logger = logger._logger
        self._handler = logger.registered_handler
        self._formatter = formatter
        self._service = logger.service

    def info(self, message: str, fields: Mapping[str, Any]) -> None:
        if not self._std.isEnabledFor(logging.INFO):
            return
        if not self._direct():
            self._logger.info(message, extra={"fields": fields})
            return
        line = self._formatter.encoded_line("INFO", message, time.time(), fields) + b"\n"
        handler = self._handler
        handler.acquire()
        try:
            stream = handler.stream  # type: ignore[attr-defined]
            # The text stream's bytes underneath, where they are UTF-8 (Lambda's stdout).
            binary = getattr(stream, "buffer", None)
            if binary is None or getattr(stream, "encoding", None) not in _UTF8:
                stream.write(line.decode())
                stream.flush()
            else:  # the bytes as they are, after any text written before them
                stream.flush()
                binary.write(line)
                binary.flush()
        finally:
            handler.release()

    def _direct(self) -> bool:
        """Whether our handler is the only one a record of this logger would reach."""
        std = self._std
        if len(std.handlers) != 1 or std.handlers[0] is not self._handler or std.filters:
            return False
        if not std.propagate:
            return True
        for handler in logging.root.handlers:  # in Lambda, the runtime's one (muted)
            for f in handler.filters:  # a loop, not any(): this runs on every request
                if isinstance(f, SuppressFilter) and f.logger == self._service:
                    break
            else:
                return False
        return True


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
