"""The log lines: the one per request is written straight to the stream, and is the very
line ``Logger.info`` would write; the level and other handlers are respected."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from scopegate_core.observability import LeanJsonFormatter, RequestLog, to_json_bytes

FIELDS = {"decision": "allow", "reason": "granted", "sub": "svc-1", "route": "GET /orders/{id}"}


def mute_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in Lambda, where the root handler is muted by Powertools' SuppressFilter. Called
    in the test itself: pytest adds its own root handlers after the fixtures are set up."""
    monkeypatch.setattr(logging.root, "handlers", [])


def logger_pair(service: str, level: str = "INFO") -> tuple[Logger, RequestLog]:
    formatter = LeanJsonFormatter(service)
    logger = Logger(service=service, logger_formatter=formatter, level=level)
    return logger, RequestLog(logger, formatter)


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_the_direct_line_is_the_loggers_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mute_root(monkeypatch)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc-def;Parent=1;Sampled=1")
    logger, request_log = logger_pair("obs-same")
    assert request_log._direct()  # written straight to the stream, not through logging
    logger.info("decision", extra={"fields": FIELDS})
    request_log.info("decision", FIELDS)
    via_logger, direct = lines(capsys.readouterr().out)
    assert direct.pop("timestamp") - via_logger.pop("timestamp") in range(0, 1000)
    assert list(direct.items()) == list(via_logger.items())  # same keys, same order
    assert direct["xray_trace_id"] == "1-abc-def"


@pytest.mark.parametrize("kind", ["text over bytes", "text only", "latin-1 over bytes"])
def test_the_line_follows_what_was_written_before_it_on_any_stream(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The line goes to a UTF-8 text stream's bytes (sys.stdout's) after the text written
    before it, and as text to a stream with no bytes beneath (io.StringIO) or other ones."""
    raw = io.BytesIO()
    stream: io.TextIOBase = (
        io.StringIO()
        if kind == "text only"
        else io.TextIOWrapper(raw, encoding="latin-1" if kind.startswith("latin") else "utf-8")
    )
    formatter = LeanJsonFormatter("obs-streams")
    logger = Logger(service="obs-streams", logger_formatter=formatter, logger_handler=None)
    logger.registered_handler.stream = stream  # type: ignore[attr-defined]
    mute_root(monkeypatch)
    request_log = RequestLog(logger, formatter)
    assert request_log._direct()  # the path this test is about
    stream.write("before\n")  # still in the text layer's buffer
    request_log.info("décision", FIELDS)
    stream.write("after\n")
    stream.flush()
    text = (
        stream.getvalue()  # type: ignore[attr-defined]
        if kind == "text only"
        else raw.getvalue().decode(stream.encoding)
    )
    before, line, after = text.splitlines()
    assert (before, after) == ("before", "after")
    assert json.loads(line)["message"] == "décision"
    assert {k: json.loads(line)[k] for k in FIELDS} == FIELDS


def test_a_new_trace_header_is_read_for_every_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mute_root(monkeypatch)
    _, request_log = logger_pair("obs-trace")
    for root in ("1-aaa", "1-bbb"):
        monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={root};Sampled=1")
        request_log.info("decision", FIELDS)
    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    request_log.info("decision", FIELDS)
    found = [line.get("xray_trace_id") for line in lines(capsys.readouterr().out)]
    assert found == ["1-aaa", "1-bbb", None]


def test_the_log_level_is_respected(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mute_root(monkeypatch)
    _, request_log = logger_pair("obs-level", level="WARNING")
    request_log.info("decision", FIELDS)
    assert capsys.readouterr().out == ""


def test_where_another_handler_listens_the_line_goes_through_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, request_log = logger_pair("obs-caplog")
    with caplog.at_level(logging.INFO):
        request_log.info("decision", FIELDS)
    assert [vars(r)["fields"] for r in caplog.records] == [FIELDS]


def test_fields_named_like_standard_keys_replace_them_in_place(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mute_root(monkeypatch)
    logger, request_log = logger_pair("obs-merge")
    logger.append_keys(request_id="r-1")
    request_log.info("decision", {"service": "override", "reason": "x"})
    (line,) = lines(capsys.readouterr().out)
    assert list(line) == [
        "level",
        "message",
        "timestamp",
        "service",
        "sampling_rate",
        "request_id",
        "reason",
    ]
    assert line["service"] == "override"


@pytest.mark.parametrize(
    "value",
    [{"n": 2**70}, {"s": "lone \udc80 surrogate"}, {"o": object()}, {"f": 1.5, "b": True}],
)
def test_every_value_is_written_as_json(value: dict[str, Any]) -> None:
    decoded = json.loads(to_json_bytes(value))
    assert list(decoded) == list(value)
    if "n" in value:
        assert decoded["n"] == 2**70  # exactly, not rounded: json's encoder took it


def test_a_root_handler_muted_by_powertools_does_not_stop_the_direct_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In Lambda the runtime's root handler is there before the Logger, which mutes it for
    its service (SuppressFilter): the line is still written directly. A root handler that
    is not muted, added later, would see the record: then it goes through logging."""
    runtime = logging.StreamHandler(io.StringIO())
    monkeypatch.setattr(logging.root, "handlers", [runtime])
    _, request_log = logger_pair("obs-muted")
    assert request_log._direct()
    other = logging.StreamHandler(io.StringIO())
    logging.root.handlers.append(other)
    assert not request_log._direct()
    request_log.info("decision", FIELDS)
    assert other.stream.getvalue() == "decision\n"  # its own format
