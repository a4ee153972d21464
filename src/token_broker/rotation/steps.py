"""The four rotation steps; each harmless to re-run with the same token.

Identity providers generate client secrets themselves, so ``create_secret`` asks the
provider for the new secret and stages it as ``AWSPENDING`` in the same step (a value
that only existed at the provider would be lost if the step stopped in between; re-running
cleans such a leftover up, see ``providers.base``). ``set_secret`` then checks that the
provider really holds the pending secret; ``test_secret`` proves it with a client
credentials grant; ``finish_secret`` makes it current and, only if asked to, revokes every
other secret of the client. Until the next rotation the previous secret stays live wherever the
provider allows two, so broker instances still holding it keep working.
"""

from __future__ import annotations

from collections.abc import Callable

from token_broker.rotation.errors import ProviderError, RotationError
from token_broker.rotation.providers import SecretProvider
from token_broker.rotation.secret import RotatedSecret
from token_broker.rotation.versions import CURRENT, PENDING, SecretVersions

ProviderFor = Callable[[RotatedSecret], SecretProvider]
Tester = Callable[[RotatedSecret], int]


def create_secret(versions: SecretVersions, token: str, provider_for: ProviderFor) -> str:
    if versions.pending(token) is not None:
        return "already staged"
    current = versions.current()
    new = provider_for(current).add(current)
    versions.stage_pending(token, current.staged(new.id, new.value))
    return f"created {new.id} at {current.provider} and staged it"


def set_secret(versions: SecretVersions, token: str, provider_for: ProviderFor) -> str:
    pending = _pending(versions, token)
    provider = provider_for(pending)
    if pending.secret_id not in {s.id for s in provider.live()}:
        raise ProviderError(
            f"{pending.provider} no longer holds the pending secret {pending.secret_id!r} "
            "(deleted by hand?); the next rotation creates a new one",
            reason="pending_not_live",
        )
    return f"{pending.provider} holds {pending.secret_id}"


def test_secret(versions: SecretVersions, token: str, tester: Tester) -> str:
    attempts = tester(_pending(versions, token))
    return f"token endpoint accepted the pending secret (attempt {attempts})"


def finish_secret(
    versions: SecretVersions,
    token: str,
    stages: dict[str, list[str]],
    provider_for: ProviderFor,
    *,
    revoke_previous: bool,
) -> str:
    current_version = next((v for v, s in stages.items() if CURRENT in s), None)
    done = []
    if current_version != token:
        versions.make_current(token, current_version)
        done.append("made current")
    if PENDING in stages.get(token, []):
        versions.clear_pending(token)
        done.append("cleared AWSPENDING")
    if revoke_previous:
        done.append(_revoke_others(versions, token, provider_for))
    return ", ".join(done) or "already current"


def _revoke_others(versions: SecretVersions, token: str, provider_for: ProviderFor) -> str:
    """Leave the new secret the only live one (the previous may predate any secret_id)."""
    new = versions.version(token)
    provider = provider_for(new)
    others = [s.id for s in provider.live() if s.id != new.secret_id]
    for other in others:
        provider.revoke(other)
    return f"revoked {', '.join(others)}" if others else "nothing else live to revoke"


def _pending(versions: SecretVersions, token: str) -> RotatedSecret:
    pending = versions.pending(token)
    if pending is None:
        raise RotationError(f"version {token} of {versions.name!r} has no pending value")
    if pending.secret_id is None:
        raise RotationError(f"version {token} of {versions.name!r} has no secret_id")
    return pending
