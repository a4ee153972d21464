"""The test identity provider's process: ``node tests/idp/server.js`` on 127.0.0.1.

The server reads its whole configuration from ``IDP_CONFIG`` (JSON), prints one
``{"ready": ...}`` line with its issuer and its tenants' URLs when it listens, and exits
when its stdin closes, so it never outlives the Python process that started it.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from tools.local.idp.errors import (
    IdentityProviderError,
    IdentityProviderUnavailableError,
    json_object,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
IDP_DIR = REPO_ROOT / "tests" / "idp"
SERVER_JS = IDP_DIR / "server.js"


class IdpProcess:
    """One run of the server with ``config``; ``start`` waits until it listens."""

    def __init__(self, config: Mapping[str, Any], start_timeout: float) -> None:
        self.config = config
        self.start_timeout = start_timeout
        self.issuer = ""
        self.tenants: dict[str, dict[str, str]] = {}
        self._proc: subprocess.Popen[str] | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=400)
        self._ready = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def started(self) -> bool:
        return self._proc is not None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> tuple[str, dict[str, dict[str, str]]]:
        """Start the server; returns its issuer and its tenants (name -> URLs)."""
        node = shutil.which("node")
        if node is None:
            raise IdentityProviderUnavailableError(
                "node is not installed or not on PATH; the integration tests need Node 20+ "
                "and the test identity provider: run `make idp`"
            )
        if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
            raise IdentityProviderUnavailableError(
                f"oidc-provider is not installed in {IDP_DIR / 'node_modules'}: run `make idp`"
            )
        env = dict(os.environ, IDP_CONFIG=json.dumps(self.config), IDP_EXIT_ON_STDIN_EOF="1")
        self._proc = subprocess.Popen(
            [node, str(SERVER_JS)],
            cwd=IDP_DIR,
            env=env,
            stdin=subprocess.PIPE,  # never written; closing it (or our death) stops the IdP
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._drain, args=(self._proc.stdout, True), daemon=True),
            threading.Thread(target=self._drain, args=(self._proc.stderr, False), daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if not self._wait_ready():
            code = self._proc.poll()
            self.stop()
            why = f"exited with code {code}" if code is not None else "timed out"
            raise IdentityProviderError(
                f"test identity provider failed to start ({why} after at most "
                f"{self.start_timeout:g} s); its output:\n" + self.output()
            )
        return self.issuer, self.tenants

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        waited = 0.0
        while waited < self.start_timeout:
            if self._ready.wait(0.1):
                return True
            if self._proc.poll() is not None:
                # Let the drain threads collect the last words.
                for thread in self._threads:
                    thread.join(timeout=1.0)
                return self._ready.is_set()
            waited += 0.1
        return False

    def _drain(self, stream: IO[str], is_stdout: bool) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if is_stdout and not self._ready.is_set() and line.startswith('{"ready"'):
                try:
                    ready = json_object(line)
                    self.issuer = str(ready["issuer"])
                    self.tenants = {
                        str(name): {str(k): str(v) for k, v in info.items()}
                        for name, info in ready.get("tenants", {}).items()
                    }
                except (ValueError, KeyError, AttributeError, IdentityProviderError):
                    self._output.append(line)
                    continue
                self._ready.set()
                continue
            self._output.append(line)

    def output(self) -> str:
        """The child's recent stdout/stderr lines (for error messages)."""
        return "\n".join(self._output)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc.stdin is not None:
            proc.stdin.close()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self._threads = []
        self._ready.clear()
