"""API Gateway authorizer events in, authorizer responses out.

One shape for every API type: REST TOKEN and REQUEST, HTTP API payload 1.0 and 2.0, and
WebSocket ``$connect``. The request's method and path come from the method/route ARN,
the string API Gateway evaluates the returned policy against, so the decision and the
policy always talk about the same resource.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from authorizer.errors import TokenRejected
from authorizer.routes import ApiType

EventKind = Literal["rest_token", "rest_request", "http_v1", "http_v2", "websocket"]
ARN_PREFIX = "arn:"


class EventError(TokenRejected):
    """The event is not an authorizer event we understand: fail closed (401)."""

    reason = "event_malformed"


class AuthRequest(NamedTuple):  # a NamedTuple: see jws.RawJws
    kind: EventKind
    api: ApiType
    token: str | None
    method: str  # "" for WebSocket
    path: str  # the path, or the route key ("$connect") for WebSocket
    prefix: str  # "arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE"
    suffix: str  # what follows prefix + "/" in the ARN

    @property
    def route_text(self) -> str:
        return self.path if self.api == "websocket" else f"{self.method} {self.path}"


def bearer_token(value: object) -> str | None:
    """``Bearer <token>`` (scheme in any case) or a bare token; anything else is ``None``."""
    if not isinstance(value, str):
        return None
    parts = value.split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    if len(parts) == 1 and parts[0].lower() != "bearer":
        return parts[0]
    return None


def _header(headers: object, name: str) -> object:
    if not isinstance(headers, Mapping):
        return None
    found = [v for k, v in headers.items() if isinstance(k, str) and k.lower() == name]
    return found[0] if len(found) == 1 else None  # two spellings of one header: refuse


def _split_arn(arn: object) -> tuple[str, str]:
    """``arn:...:api/stage/rest`` into (``arn:...:api/stage``, ``rest``)."""
    if not isinstance(arn, str) or not arn.startswith(ARN_PREFIX) or len(arn) > 8192:
        raise EventError("the event has no method or route ARN")
    fields = arn.split(":", 5)
    if len(fields) != 6 or fields[2] != "execute-api":
        raise EventError("the event's ARN is not an execute-api ARN")
    api_id, sep1, rest = fields[5].partition("/")
    stage, sep2, suffix = rest.partition("/")
    if not (api_id and sep1 and stage and sep2 and suffix):
        raise EventError("the event's ARN has no API id, stage and route")
    return arn[: -len(suffix) - 1], suffix  # everything before "/" + suffix


def parse_event(event: object) -> AuthRequest:
    """Classify the event and pull out the token and the requested resource."""
    if type(event) is not dict and not isinstance(event, Mapping):  # a dict, in Lambda
        raise EventError("the event is not a JSON object")
    version = event.get("version")
    if version == "2.0":
        kind: EventKind = "http_v2"
        prefix, suffix = _split_arn(event.get("routeArn"))
    else:
        prefix, suffix = _split_arn(event.get("methodArn"))
        if event.get("type") == "TOKEN" and version is None:
            kind = "rest_token"
        elif event.get("type") == "REQUEST":
            kind = "http_v1" if version == "1.0" else "rest_request"
            if suffix.startswith("$"):
                kind = "websocket"
        else:
            raise EventError("unknown authorizer event type")
    if kind == "websocket":
        api: ApiType = "websocket"
        method, path = "", suffix
    else:
        api = "http" if kind.startswith("http") else "rest"
        method, _, rest = suffix.partition("/")
        path = "/" + rest
    raw = (
        event.get("authorizationToken")
        if kind == "rest_token"
        else _header(event.get("headers"), "authorization")
    )
    return AuthRequest(kind, api, bearer_token(raw), method, path, prefix, suffix)


# RFC 7493 section 2.2: integers outside this range are not exact in the IEEE 754 doubles
# most JSON readers (JavaScript, API Gateway's own mapping) turn numbers into.
_EXACT_INT = 2**53 - 1


def flatten_context(claims: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Claims as API Gateway context values: strings, numbers and booleans only.

    An integer beyond 2**53 - 1 travels as its decimal string, so a claim of any size
    reaches the backend exactly rather than rounded or refused.
    """
    context: dict[str, Any] = {}
    for name in names:
        value = claims.get(name)
        if value is None:
            continue
        kind = type(value)
        if kind is str or kind is float or kind is bool:  # JSON's types, exactly: most claims
            context[name] = value
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > _EXACT_INT:
            context[name] = str(value)
        elif isinstance(value, str | bool | int | float):
            context[name] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            context[name] = " ".join(value)
        else:
            context[name] = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return context
