"""Lambda entry point: ``authorizer.handler.lambda_handler``.

Thin by design: the event goes to ``Authorizer.decide``; this module adds the one
structured log line per decision, the metrics, and the fail-closed path for a broken
configuration. In Lambda, the module's start-up code loads the config and prefetches the
issuers' keys during the init phase; anywhere else (tests, tools) that happens on the
first invocation.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from authorizer import snapstart
from authorizer.decision import Authorizer, Decision, Unauthorized, fail_closed
from authorizer.errors import ConfigError
from authorizer.fetch import HttpJsonFetcher, JsonFetcher
from authorizer.sources import ConfigSource
from authorizer.verifier import Verifier
from scopegate_core.function_log import FunctionLog

log = FunctionLog("scopegate-authorizer")
SERVICE, logger, request_log, metrics = log.service, log.logger, log.request_log, log.metrics
CONFIG_PROBLEM = "configuration invalid: every request is denied"
_METRIC_NAMES = {"allow": "Allow", "deny": "Deny", "unauthenticated": "Unauthenticated"}


class Runtime:
    """The process-wide state: config source, fetcher and the authorizer built from them."""

    def __init__(self, source: ConfigSource | None = None, fetcher: JsonFetcher | None = None):
        self.source = source or ConfigSource()
        self.fetcher: JsonFetcher = fetcher or _TracedFetcher(HttpJsonFetcher())
        self.authorizer: Authorizer | None = None
        self.problems = log.problem_report(CONFIG_PROBLEM)

    def current(self) -> Authorizer:
        """The authorizer for the current config; raises ``ConfigError`` when it is broken."""
        try:
            config = self.source.get()
        except ConfigError as e:
            self.authorizer = None
            self.problems.report(e)  # one ERROR per distinct problem, no traceback
            raise
        if self.authorizer is None or self.authorizer.config is not config:
            verifier = Verifier(config.issuers, self.fetcher, on_fetch=_count_fetch)
            self.authorizer = Authorizer(config, verifier)
            self.problems.clear()
        return self.authorizer

    def start(self) -> None:
        """Init-phase work: load the config and prefetch keys. Never raises."""
        with contextlib.suppress(ConfigError):  # already logged; requests fail closed
            self.current().verifier.prefetch()

    def decide(self, event: object) -> Decision:
        try:
            authorizer = self.current()
        except ConfigError as e:
            return fail_closed(event, e.reason)
        return authorizer.decide(event)


class _TracedFetcher:
    """Wraps key fetches in an X-Ray subsegment when tracing is on (Tracer made lazily)."""

    def __init__(self, inner: JsonFetcher) -> None:
        self._inner = inner
        self._tracer: Any = None

    def get_json(self, url: str) -> Any:
        tracer = self._get_tracer()
        if tracer is None:
            return self._inner.get_json(url)
        with tracer.provider.in_subsegment("## fetch keys") as subsegment:
            subsegment.put_annotation("url", url)
            return self._inner.get_json(url)

    def _get_tracer(self) -> Any:
        if self._tracer is None:
            enabled = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and os.environ.get(
                "POWERTOOLS_TRACE_DISABLED", "false"
            ).lower() not in ("1", "true")
            self._tracer = False
            if enabled:
                try:
                    from aws_lambda_powertools import Tracer

                    self._tracer = Tracer(service=SERVICE)
                except ImportError:  # aws-xray-sdk missing: trace nothing rather than fail
                    self._tracer = False
        return self._tracer or None


def _count_fetch(detail: str, ok: bool) -> None:
    name = "JwksFetch" if ok else "JwksFetchFailed"
    metrics.event(name)
    if not ok:
        logger.warning("key fetch failed", extra={"fields": {"problem": detail}})


def decision_fields(decision: Decision) -> dict[str, Any]:
    """The fields of a decision's log line: what was asked, the answer and why, and who
    asked (``iss``, ``sub``, ``client_id``, ``jti``, ``kid``: ``verifier.identity_of``) when
    the token's signature verified, even if a claim then refused it; never the token."""
    fields: dict[str, Any] = {"decision": decision.effect, "reason": decision.reason}
    request = decision.request
    if request is not None:
        fields["api"] = request.kind
        fields["request"] = request.route_text
    if decision.route is not None:
        fields["route"] = decision.route
    if decision.claim is not None:
        fields["claim"] = decision.claim
    if decision.identity:
        fields.update(decision.identity)
    return fields


runtime = Runtime()
snapstart.register(runtime)
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    runtime.start()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway's entry point: a policy or simple response, or raise ``Unauthorized``."""
    return handle(runtime, event)


def handle(state: Runtime, event: object) -> dict[str, Any]:
    """One invocation against ``state``: decide, log one line, count it, answer."""
    decision = state.decide(event)
    request_log.info("decision", decision_fields(decision))
    metrics.count(_METRIC_NAMES[decision.effect], decision.reason)
    if decision.response is None:
        raise Unauthorized()
    return decision.response
