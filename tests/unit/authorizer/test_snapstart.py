"""After a SnapStart restore the authorizer trusts nothing the snapshot cached.

Each test plays the snapshot's life: the init phase (``Runtime.start``) loads the
configuration and fetches the keys, requests are served from that cache, then the restore
hook runs and the next request must read the configuration and fetch the keys again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from authorizer.decision import Unauthorized
from authorizer.handler import Runtime, handle
from authorizer.snapstart import forget_snapshot_state, register
from authorizer.sources import ConfigSource
from tests.support.issuer import AUDIENCE, ISSUER, JWKS_URI, LocalIssuer
from tests.support.paths import ROOT

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/orders"


def config(scope: str = "orders:read") -> dict[str, Any]:
    return {
        "issuers": [{"issuer": ISSUER, "audiences": [AUDIENCE]}],
        "routes": [{"route": "GET /orders", "scopes": [scope]}],
    }


def source(document: dict[str, Any]) -> ConfigSource:
    return ConfigSource({"AUTHORIZER_CONFIG": json.dumps(document)})


def event(token: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}


def allowed(state: Runtime, token: str) -> bool:
    statement = handle(state, event(token))["policyDocument"]["Statement"]
    return any(s["Effect"] == "Allow" and METHOD_ARN in s["Resource"] for s in statement)


def key_fetches(idp: LocalIssuer) -> int:
    return idp.requests.count(JWKS_URI)


def snapshot(idp: LocalIssuer, document: dict[str, Any]) -> Runtime:
    """The state the init phase leaves in the snapshot: configuration and keys loaded."""
    state = Runtime(source(document), idp)
    state.start()
    assert key_fetches(idp) == 1
    return state


def test_keys_cached_before_the_snapshot_are_fetched_again_after_a_restore() -> None:
    idp = LocalIssuer()
    state = snapshot(idp, config())
    assert allowed(state, idp.token())
    assert key_fetches(idp) == 1  # served from the snapshot's keys

    forget_snapshot_state(state, lambda: source(config()))
    assert key_fetches(idp) == 1  # the hook itself fetches nothing
    assert allowed(state, idp.token())
    assert key_fetches(idp) == 2


def test_a_key_withdrawn_while_the_snapshot_was_cached_no_longer_verifies() -> None:
    idp = LocalIssuer(kid="old")
    state = snapshot(idp, config())
    old_token = idp.token()
    idp.rotate("new", keep_old=False)  # the issuer withdrew the key the snapshot holds
    assert allowed(state, old_token)  # before the restore: the cached key still verifies

    forget_snapshot_state(state, lambda: source(config()))
    assert not _verifies(state, old_token)
    assert allowed(state, idp.token())


def test_the_configuration_is_read_again_after_a_restore() -> None:
    idp = LocalIssuer()
    state = snapshot(idp, config("orders:read"))
    token = idp.token("orders:read")
    assert allowed(state, token)

    # The document changed while the snapshot was cached: the route now needs another scope.
    forget_snapshot_state(state, lambda: source(config("orders:admin")))
    assert not allowed(state, token)


def test_a_broken_configuration_is_reported_again_by_a_restored_environment(
    caplog: pytest.LogCaptureFixture,
) -> None:
    idp = LocalIssuer()
    broken = ConfigSource({"AUTHORIZER_CONFIG": "{not json"})
    state = Runtime(broken, idp)
    state.start()  # logs the problem once, into the snapshot's init log
    caplog.clear()

    forget_snapshot_state(state, lambda: ConfigSource({"AUTHORIZER_CONFIG": "{not json"}))
    with caplog.at_level("ERROR"):
        handle(state, event(idp.token()))
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "configuration invalid: every request is denied"
    ]


def test_register_hands_the_hook_and_the_state_to_the_registrar() -> None:
    idp = LocalIssuer()
    state = snapshot(idp, config())
    hooks: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
    assert register(state, lambda hook, *args: hooks.append((hook, args)))
    ((hook, args),) = hooks

    hook(*args)  # what the runtime does after a restore
    assert state.authorizer is None
    assert isinstance(state.source, ConfigSource)


def test_without_the_lambda_runtime_nothing_is_registered() -> None:
    assert register(Runtime(source(config()), LocalIssuer())) is False


def test_the_handler_registers_its_runtime_with_the_lambda_runtime(tmp_path: Path) -> None:
    """A stand-in ``snapshot_restore_py`` records what importing the handler registers."""
    (tmp_path / "snapshot_restore_py.py").write_text(
        "hooks = []\n"
        "def register_after_restore(func, *args, **kwargs):\n"
        "    hooks.append((func, args, kwargs))\n"
    )
    script = textwrap.dedent(
        """
        import snapshot_restore_py
        from authorizer import handler
        ((func, args, kwargs),) = snapshot_restore_py.hooks
        assert args == (handler.runtime,) and kwargs == {}
        handler.runtime.authorizer = object()
        func(*args)
        assert handler.runtime.authorizer is None
        print("ok")
        """
    )
    paths = [str(tmp_path), str(ROOT / "src"), str(ROOT)]
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": ":".join(paths), "POWERTOOLS_METRICS_NAMESPACE": "test"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "ok", result.stderr


def _verifies(state: Runtime, token: str) -> bool:
    try:
        handle(state, event(token))
    except Unauthorized:  # API Gateway answers 401
        return False
    return True
