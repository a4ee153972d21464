"""The functions' logs and metrics while the local stack runs them in this process."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

FUNCTION_SERVICES = ("scopegate-authorizer", "scopegate-broker", "scopegate-rotation")


@contextmanager
def function_logs_to(stream: io.TextIOBase) -> Iterator[None]:
    """Send the functions' log lines to ``stream`` (and put them back afterwards)."""
    handlers = [
        handler
        for name in FUNCTION_SERVICES
        for handler in logging.getLogger(name).handlers
        if isinstance(handler, logging.StreamHandler)
    ]
    previous = [handler.setStream(stream) for handler in handlers]
    try:
        yield
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            if old is not None:
                handler.setStream(old)


@contextmanager
def metrics_off() -> Iterator[None]:
    """Turn the functions' metric counters off while a stack runs, then back to as they were.

    Lambda gives each execution environment one event at a time; the stack serves each
    function's single runtime from many threads, which the counters are not made for
    (and their EMF lines would go to CloudWatch, which is not here).
    """
    import authorizer.handler
    import token_broker.handler
    import token_broker.rotation.handler

    counters = [
        module.metrics
        for module in (authorizer.handler, token_broker.handler, token_broker.rotation.handler)
    ]
    before = [counter.enabled for counter in counters]
    for counter in counters:
        counter.enabled = False
    try:
        yield
    finally:
        for counter, enabled in zip(counters, before, strict=True):
            counter.enabled = enabled
