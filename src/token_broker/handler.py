"""Lambda entry point: ``token_broker.handler.lambda_handler`` (``POST /token``).

Thin by design: the event becomes an ``HttpRequest``; the caller, the grant and the token
come from pure decisions and the ``Broker``; this module writes the one audit line per
answer, counts the metrics and turns errors into RFC 6749 answers. Order matters and is
the contract's: route, caller identity, grant (403 before the body is read), body, token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scopegate_core.function_log import FunctionLog
from token_broker import wire
from token_broker.broker import Broker, Issued
from token_broker.config import BrokerConfig, BrokerConfigSource, SharedCacheConfig
from token_broker.errors import AccessDenied, BrokerError, ConfigError, Unavailable, UpstreamError
from token_broker.events import HttpRequest, parse_event
from token_broker.grants import grants_of, issue_for, pick
from token_broker.principal import Caller, PrincipalError, parse_caller
from token_broker.secret_store import SecretStore
from token_broker.upstream import IdpClient

if TYPE_CHECKING:
    from token_broker.shared_cache import SharedCache
    from token_broker.token_table import SharedCacheError

log = FunctionLog("scopegate-broker")
SERVICE, logger, metrics = log.service, log.logger, log.metrics
audit_log = log.request_log  # the one INFO line per request
CONFIG_PROBLEM = "broker misconfigured: requests are answered 500"

TIME_BUDGET_SECONDS = 9.0  # the contract: an answer within 10 s whatever happens upstream
SHARED_CACHE_WARNING_SECONDS = 60.0  # at most one WARNING a minute about the shared cache


class Runtime:
    """Process-wide state: the config source and the broker built from the current config."""

    def __init__(
        self,
        source: BrokerConfigSource | None = None,
        secrets: SecretStore | None = None,
        idp: IdpClient | None = None,
        clock: Callable[[], float] = time.time,
        *,
        dynamodb: Any = None,
        kms: Any = None,
    ) -> None:
        self.source = source or BrokerConfigSource()
        self.secrets = secrets or SecretStore()
        self.idp = idp or IdpClient()
        self.clock = clock
        self.config: BrokerConfig | None = None
        self.broker: Broker | None = None
        self.problems = log.problem_report(CONFIG_PROBLEM)
        self._dynamodb, self._kms = dynamodb, kms  # for the shared cache; default boto3's
        self._warned_at: float | None = None

    def current(self) -> tuple[BrokerConfig, Broker]:
        config = self.source.get()
        if self.broker is None or config is not self.config:
            # A changed document may change clients; tokens cached for the old one go.
            self.config = config
            self.broker = Broker(
                self.secrets,
                self.idp,
                min_remaining=config.min_remaining_seconds,
                shared=self._shared(config.shared_cache),
                clock=self.clock,
            )
            self.problems.clear()  # a problem of the old config, seen again, is new news
        assert self.broker is not None
        return config, self.broker

    def _shared(self, config: SharedCacheConfig | None) -> SharedCache | None:
        if config is None:
            return None
        # Imported here: a broker without a shared cache never loads them.
        from token_broker.envelope import Envelope
        from token_broker.shared_cache import SharedCache
        from token_broker.token_table import TokenTable

        table = TokenTable(config.table, Envelope(config.kms_key, self._kms), self._dynamodb)
        return SharedCache(table, on_error=self.shared_cache_failed, clock=self.clock)

    def shared_cache_failed(self, error: SharedCacheError) -> None:
        """Count every failure; one WARNING a minute at most (the request goes on)."""
        metrics.count("SharedCacheError", error.reason)
        now = self.clock()
        if self._warned_at is None or now - self._warned_at >= SHARED_CACHE_WARNING_SECONDS:
            self._warned_at = now
            logger.warning(
                "shared token cache failing: serving from this environment and the identity "
                "provider",
                extra={
                    "fields": {"reason": error.reason, "code": error.code, "problem": str(error)}
                },
            )


runtime = Runtime()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(runtime, event, context)


def handle(state: Runtime, event: object, context: Any = None) -> dict[str, Any]:
    request = parse_event(event)
    if request.path != "/token":
        return wire.not_routed(404, "not found: the broker serves POST /token")
    if request.method != "POST":
        return wire.not_routed(405, "method not allowed: use POST /token")
    audit: dict[str, Any] = {"request_id": request.request_id}
    calls_before = state.idp.calls
    try:
        issued = _issue(state, request, context, audit)
    except BrokerError as e:
        _refused(state, e, audit)
        return wire.failure(e)
    except Exception:  # a bug: answer 500 and keep the traceback in the log only
        logger.exception("unexpected error", extra={"fields": audit})
        metrics.count("TokenRefused", "internal_error")
        return wire.failure(BrokerError("the broker failed; see its log"))
    finally:
        calls = state.idp.calls - calls_before
        for _ in range(calls):
            metrics.count("IdpCall")
    audit |= {
        "event": "token_issued",
        "cache": issued.cache,
        "expires_at": int(issued.token.expires_at),
        "reason": "issued",
    }
    audit_log.info("token issued", audit)
    metrics.count("TokenIssued")
    if issued.cache == "hit":
        metrics.count("CacheHit")
    if issued.from_table:
        metrics.count("SharedCacheHit")
    return wire.success(issued.token.access_token, issued.expires_in, issued.token.scope)


def _issue(state: Runtime, request: HttpRequest, context: Any, audit: dict[str, Any]) -> Issued:
    deadline = _deadline(state.clock, context)  # from the start: a config load counts too
    caller = _caller(request)
    audit |= {"principal": caller.principal.arn, "task_id": caller.session}
    config, broker = state.current()
    grants = grants_of(config, caller.principal)
    token_request = wire.parse_body(
        request.body, base64_encoded=request.base64_encoded, content_type=request.content_type
    )
    # What was asked is logged even when it is refused; what is issued replaces it.
    if token_request.client is not None:
        audit["client"] = token_request.client
    audit["scopes"] = sorted(token_request.scopes)
    grant = pick(grants, token_request)
    audit["client"] = grant.client
    issue = issue_for(config, grant, token_request)
    audit["scopes"] = list(issue.scopes)
    return broker.issue(issue, deadline)


def _caller(request: HttpRequest) -> Caller:
    if request.caller_arn is None:
        raise AccessDenied("no caller identity: sign the request with SigV4", reason="no_identity")
    try:
        return parse_caller(request.caller_arn)
    except PrincipalError as e:
        raise AccessDenied(str(e), reason="unsupported_principal") from e


def _deadline(clock: Callable[[], float], context: Any) -> float:
    budget = TIME_BUDGET_SECONDS
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, remaining() / 1000.0 - 0.5)
    return clock() + budget


def _refused(state: Runtime, error: BrokerError, audit: dict[str, Any]) -> None:
    audit |= {
        "event": "token_refused",
        "reason": error.reason,
        "status": error.status,
        "detail": error.description,
    }
    if isinstance(error, ConfigError):
        state.problems.report(error)  # one ERROR per distinct problem, no traceback
    if error.status < 500:
        audit_log.info("token refused", audit)
    else:
        logger.warning("token refused", extra={"fields": audit})
    metrics.count("TokenRefused", error.reason)
    if isinstance(error, UpstreamError | Unavailable) and error.reason.startswith("idp"):
        metrics.count("IdpError", error.reason)
