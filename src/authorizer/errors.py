"""The authorizer's exception tree.

Every failure carries a stable, machine-readable ``reason`` used in logs and metrics.
``TokenRejected`` and its subclasses mean *unauthenticated* (401); a valid token that
lacks the route's scopes is not an exception but a ``deny`` decision (403).
"""

from __future__ import annotations

from collections.abc import Mapping

from scopegate_core.errors import DocumentError


class AuthorizerError(Exception):
    """Root of every error raised by the authorizer package."""

    reason: str = "authorizer_error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class ConfigError(AuthorizerError, DocumentError):
    """The configuration is missing or invalid: every request fails closed.

    A ``DocumentError`` too, like the core's own (a document that does not parse, a URL
    that is not https), so code reading a document catches both as one."""

    reason = "config_invalid"


class TokenRejected(AuthorizerError):
    """The token is missing, malformed, wrongly signed, expired or wrongly addressed."""

    reason = "token_invalid"


class MalformedToken(TokenRejected):
    """Not a strict compact JWS with JSON header and payload objects."""

    reason = "token_malformed"


class UnsupportedHeader(TokenRejected):
    """The header asks for something we never honour (unknown ``crit``, bad ``alg``)."""

    reason = "header_unsupported"


class AlgorithmNotAllowed(TokenRejected):
    """``alg`` is not on the issuer's allow-list."""

    reason = "alg_not_allowed"


class KeyNotFound(TokenRejected):
    """No key in the issuer's JWKS has this ``kid`` (after the rate-limited refetch)."""

    reason = "kid_unknown"


class KeyMismatch(TokenRejected):
    """The JWK's key type, curve or ``alg`` does not agree with the token's ``alg``."""

    reason = "key_mismatch"


class InvalidSignature(TokenRejected):
    """The signature does not verify under the issuer's key."""

    reason = "signature_invalid"


class ClaimRejected(TokenRejected):
    """A claim check failed; ``reason`` says which (``expired``, ``audience_mismatch``...)
    and ``claim``, when set, names the claim (or header) that decided."""

    reason = "claim_invalid"
    claim: str | None = None
    # Who the token names (``identity_of``), set once its signature has verified: only
    # then are its claims the issuer's word, fit for the decision's log line.
    identity: Mapping[str, str] | None = None

    def __init__(self, message: str, *, reason: str | None = None, claim: str | None = None):
        super().__init__(message, reason=reason)
        if claim is not None:
            self.claim = claim


class IssuerUnknown(TokenRejected):
    """``iss`` is not a configured issuer (exact match)."""

    reason = "issuer_unknown"


class KeysUnavailable(TokenRejected):
    """The issuer's keys cannot be fetched and no usable cached copy exists."""

    reason = "jwks_unavailable"


class FetchError(AuthorizerError):
    """An HTTP fetch (discovery or JWKS) failed; always chained to the cause."""

    reason = "fetch_failed"


class OpenApiError(AuthorizerError):
    """An OpenAPI document cannot be read or validated, or asks for what no rule can express.

    ``problems`` lists every fault found, so the command line can show them all at once.
    """

    reason = "openapi_invalid"

    def __init__(
        self, message: str, *, reason: str | None = None, problems: list[str] | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.problems = problems or [message]
