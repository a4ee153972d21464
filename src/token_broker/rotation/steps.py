"""The four rotation steps; each harmless to re-run with the same token.

Identity providers generate client secrets themselves, so ``create_secret`` asks the
provider for the new secret and stages it as ``AWSPENDING`` in the same step (a value
that only existed at the provider would be lost if the step stopped in between; re-running
cleans such a leftover up, see ``providers.base``). ``set_secret`` then checks that the
provider really holds the pending secret; ``test_secret`` proves it with a client
credentials grant; ``finish_secret`` makes it current and, only if asked to, revokes the
secret the previous version used. Until the next rotation the previous secret stays live
wherever the provider allows two, so broker instances still holding it keep working.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from token_broker.rotation.errors import ProviderError, RotationError
from token_broker.rotation.providers import SecretProvider
from token_broker.rotation.secret import RotatedSecret
from token_broker.rotation.versions import CURRENT, PENDING, PREVIOUS, SecretVersions

ProviderFor = Callable[[RotatedSecret], SecretProvider]
Tester = Callable[[RotatedSecret], int]
LIST_ATTEMPTS = 3
LIST_RETRY_SECONDS = 1.0


def create_secret(versions: SecretVersions, token: str, provider_for: ProviderFor) -> str:
    if versions.pending(token) is not None:
        return "already staged"
    current = versions.current()
    new = provider_for(current).add(current)
    versions.stage_pending(token, current.staged(new.id, new.value))
    return f"created {new.id} at {current.provider} and staged it"


def set_secret(
    versions: SecretVersions,
    token: str,
    provider_for: ProviderFor,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    pending = _pending(versions, token)
    provider = provider_for(pending)
    for attempt in range(LIST_ATTEMPTS):
        if pending.secret_id in {s.id for s in provider.live()}:
            return f"{pending.provider} holds {pending.secret_id}"
        if attempt + 1 < LIST_ATTEMPTS:
            sleep(LIST_RETRY_SECONDS)  # a new secret may take a moment to be listed
    # Gone (deleted by hand?): unstage it, or every retry and RotateSecret would stall on it.
    versions.clear_pending(token)
    raise ProviderError(
        f"{pending.provider} does not list the pending secret {pending.secret_id!r}; "
        "it is unstaged so that the next rotation starts afresh",
        reason="pending_not_live",
    )


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
    if revoke_previous and current_version != token:
        done.append(_revoke_previous(versions, token, current_version, provider_for))
    return ", ".join(done) or "already current"


def _revoke_previous(
    versions: SecretVersions, token: str, previous_version: str | None, provider_for: ProviderFor
) -> str:
    """Revoke the secret the previous version used, and nothing the new one might need."""
    if previous_version is None:
        return "no previous version"
    # finishSecret has just moved AWSCURRENT to the new version and AWSPREVIOUS with it.
    previous = versions.version(previous_version, PREVIOUS)
    new = versions.version(token, CURRENT)
    if previous.secret_id is None or previous.secret_id == new.secret_id:
        return "previous secret has no secret_id: left live (delete it at the provider)"
    provider = provider_for(new)
    if new.secret_id not in {s.id for s in provider.live()}:
        raise ProviderError(
            f"{new.provider} does not list the new secret {new.secret_id!r}: nothing revoked",
            reason="pending_not_live",
        )
    provider.revoke(previous.secret_id)
    return f"revoked {previous.secret_id}"


def _pending(versions: SecretVersions, token: str) -> RotatedSecret:
    pending = versions.pending(token)
    if pending is None:
        raise RotationError(f"version {token} of {versions.name!r} has no pending value")
    if pending.secret_id is None:
        raise RotationError(f"version {token} of {versions.name!r} has no secret_id")
    return pending
