"""A function's logging and metrics, set up the same way by each of the three handlers.

Each Lambda function (the authorizer, the broker, the rotation function) makes one
``FunctionLog`` when its handler module is imported, in the init phase: the Powertools
``Logger`` formatted by ``LeanJsonFormatter``, the ``RequestLog`` for the one line per
request and the ``DecisionMetrics`` counters, named by ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE`` with the function's defaults. A handler's ``Runtime``
holds a ``ProblemReport`` from it, so a broken configuration is logged once, not once per
request, and again if it breaks anew after a good load.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Protocol

from aws_lambda_powertools import Logger

from scopegate_core.observability import DecisionMetrics, LeanJsonFormatter, RequestLog

DEFAULT_NAMESPACE = "scopegate"


def skip_unlogged_record_fields() -> None:
    """Stop ``logging`` computing what the lean formatter never prints.

    A record looks up its source location (a stack walk), thread and process names on
    every line; the logging HOWTO's "Optimization" section turns them off like this. It
    is process-wide, which is right in Lambda: the handler module is the application.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class FunctionLog:
    """The logger, the per-request line and the counters of one function."""

    def __init__(self, default_service: str, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        skip_unlogged_record_fields()
        self.service = env.get("POWERTOOLS_SERVICE_NAME", default_service)
        self.formatter = LeanJsonFormatter(self.service)
        self.logger = Logger(service=self.service, logger_formatter=self.formatter)
        self.request_log = RequestLog(self.logger, self.formatter)
        self.metrics = DecisionMetrics(env.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE))

    def problem_report(self, message: str) -> ProblemReport:
        """A new report of configuration problems, logged as ``message``."""
        return ProblemReport(self.logger, message)


class Problem(Protocol):
    """An error with a stable ``reason``, as every scopegate error has."""

    reason: str


class ProblemReport:
    """One ERROR line per distinct problem, without a traceback; ``clear`` after a good
    load, so the same problem coming back is reported again."""

    def __init__(self, logger: Logger, message: str) -> None:
        self._logger = logger
        self._message = message
        self._reported: str | None = None

    def report(self, error: Problem) -> None:
        problem = str(error)
        if problem == self._reported:
            return
        self._reported = problem
        self._logger.error(
            self._message, extra={"fields": {"reason": error.reason, "problem": problem}}
        )

    def clear(self) -> None:
        self._reported = None
