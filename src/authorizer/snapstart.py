"""Lambda SnapStart: after a restore, forget what the snapshot remembered.

With SnapStart, Lambda runs the init phase once, when a version is published, and resumes
every new execution environment from a snapshot of it, possibly weeks later. The handler's
init phase loads the configuration and fetches the issuers' keys. Resumed as they were,
both could be stale while looking fresh: their ages are measured with ``time.monotonic``,
which need not count the time the snapshot spent cached, so keys the issuer has since
withdrawn, or an SSM document edited since, would be trusted for another full TTL.

The hook therefore drops both: the first request after a restore reads the configuration
and fetches the keys again, exactly as after a cold start. It fetches nothing itself: the
runtime and the after-restore hooks must be done within 10 seconds, and an identity
provider slow to answer must not fail the restore. Nothing else needs reseeding: the
authorizer draws no random numbers, and key fetches open a new connection each time.

``snapshot_restore_py`` ships with Lambda's Python runtimes (3.12 and later); elsewhere
``register`` registers nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from authorizer.sources import ConfigSource

if TYPE_CHECKING:
    from authorizer.handler import Runtime

Registrar = Callable[..., Any]


def forget_snapshot_state(
    state: Runtime, new_source: Callable[[], ConfigSource] = ConfigSource
) -> None:
    """Make ``state`` reload its configuration and refetch every issuer's keys on next use."""
    state.source = new_source()  # the old one holds the document and when it was read
    state.authorizer = None  # holds the verifier, and the verifier every issuer's keys
    # A restored environment reports a broken configuration once, as a cold one does.
    state.problems.clear()


def register(state: Runtime, registrar: Registrar | None = None) -> bool:
    """Run ``forget_snapshot_state(state)`` after every SnapStart restore.

    Returns False where no registrar exists (outside Lambda, or a runtime without
    SnapStart hooks): there is then no snapshot to forget either.
    """
    if registrar is None:
        registrar = _lambda_registrar()
        if registrar is None:
            return False
    registrar(forget_snapshot_state, state)
    return True


def _lambda_registrar() -> Registrar | None:
    try:
        module = importlib.import_module("snapshot_restore_py")
    except ImportError:
        return None
    registrar: Registrar = module.register_after_restore
    return registrar
