"""The grant decision: which upstream client and which scopes a caller gets. Pure.

The rules of the wire contract (docs/broker.md), in order: a caller with no grant is
refused before anything else; ``client`` picks the grant (403 when the caller has none
for it); otherwise the caller's only grant, or the one grant whose scopes cover the
request; scopes beyond the grant (or, with several grants and none chosen, beyond all of
them) are named in ``invalid_scope``; ``resource`` / ``audience`` must be the client's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from token_broker.config import BrokerConfig, ClientConfig, Grant
from token_broker.errors import AccessDenied, InvalidRequest, InvalidScope, InvalidTarget
from token_broker.principal import Principal


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """The request body, parsed. Empty ``scopes`` means every granted scope."""

    scopes: frozenset[str] = frozenset()
    client: str | None = None
    resource: str | None = None
    audience: str | None = None


@dataclass(frozen=True, slots=True)
class Issue:
    """What to ask the identity provider for."""

    client: ClientConfig
    scopes: tuple[str, ...]  # sorted: the token cache key and the upstream `scope`
    granted: frozenset[str] = frozenset()  # the grant's scopes: the most a token may carry


def grants_of(config: BrokerConfig, principal: Principal) -> tuple[Grant, ...]:
    """The caller's grants; refuses a caller that has none."""
    grants = config.grants_for(principal)
    if not grants:
        raise AccessDenied(f"{principal.arn} has no grant", reason="no_grant")
    return grants


def choose(config: BrokerConfig, grants: tuple[Grant, ...], request: TokenRequest) -> Issue:
    """The grant ``pick`` finds, and what it gives (``issue_for``)."""
    return issue_for(config, pick(grants, request), request)


def issue_for(config: BrokerConfig, grant: Grant, request: TokenRequest) -> Issue:
    """What ``grant`` gives for ``request``; refuses scopes or targets beyond it."""
    client = config.clients[grant.client]
    ungranted = request.scopes - grant.scopes
    if ungranted:
        raise InvalidScope(
            f"not granted for client {grant.client!r}: {' '.join(sorted(ungranted))}"
        )
    for field, wanted, own in (
        ("resource", request.resource, client.resource),
        ("audience", request.audience, client.audience),
    ):
        if wanted is not None and wanted != own:
            raise InvalidTarget(f"{field} is not the one configured for client {grant.client!r}")
    return Issue(client, tuple(sorted(request.scopes or grant.scopes)), grant.scopes)


def pick(grants: tuple[Grant, ...], request: TokenRequest) -> Grant:
    """The grant a request is for: named by ``client``, the only one, or the one covering."""
    if request.client is not None:
        for grant in grants:
            if grant.client == request.client:
                return grant
        raise AccessDenied(f"no grant for client {request.client!r}", reason="no_grant")
    if len(grants) == 1:
        return grants[0]
    covering = [g for g in grants if request.scopes and request.scopes <= g.scopes]
    if len(covering) == 1:
        return covering[0]
    ungranted = request.scopes.difference(*(g.scopes for g in grants))
    if ungranted:  # no grant of the caller's holds them: no client would change that
        raise InvalidScope(f"not granted to the caller: {' '.join(sorted(ungranted))}")
    candidates = ", ".join(sorted(g.client for g in (covering or grants)))
    raise InvalidRequest(f"several grants match: name one with 'client' ({candidates})")
