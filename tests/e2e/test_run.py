"""`make run` as a user meets it: start `python -m tools.run`, paste the commands it prints
into a shell, read the answers, press Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def read_banner(process: subprocess.Popen[str]) -> str:
    """stdout up to the banner's last line (``Function logs follow.``).

    A thread keeps reading stdout afterwards, so the function logs never fill the pipe.
    """
    lines: queue.Queue[str] = queue.Queue()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")  # end of output

    threading.Thread(target=drain, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if not line:
            break
        seen.append(line)
        if "Function logs follow." in line:
            return "".join(seen)
    raise AssertionError("no banner:\n" + "".join(seen))


def pasted_commands(banner: str) -> str:
    """The block under "Paste into another shell", as a user would copy it."""
    block = banner.split("Paste into another shell", 1)[1].split("\nRoutes:", 1)[0]
    return "\n".join(line.removeprefix("  ") for line in block.splitlines()[1:])


@pytest.mark.skipif(shutil.which("curl") is None, reason="the printed commands use curl")
def test_the_printed_commands_work_when_pasted_and_ctrl_c_stops_everything() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"PYTHONPATH": "src:.", "AWS_CONFIG_FILE": os.devnull}
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = read_banner(process)
        issuer = re.search(r"identity provider \(issuer\)\s+(\S+)", banner)
        assert issuer is not None
        script = "set -e\n" + pasted_commands(banner).replace("curl -i", "curl -s -i")
        shell = subprocess.run(
            ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert shell.returncode == 0, shell.stderr
        statuses = re.findall(r"^HTTP/1\.[01] (\d{3})", shell.stdout, re.MULTILINE)
        # with the token, without it, with too few scopes, after the rotation
        assert statuses == ["200", "401", "403", "200"], shell.stdout
        assert '"client_id": "writer"' in shell.stdout  # the backend saw the task's client
        # the rotation printed the new version's id
        assert re.search(r"^[0-9a-f-]{36}$", shell.stdout, re.MULTILINE), shell.stdout

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        discovery = issuer.group(1) + "/.well-known/openid-configuration"
        with pytest.raises(urllib.error.URLError, match=r"[Cc]onnection refused"):
            opener.open(discovery, timeout=2)  # the IdP it started has stopped too
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the printed commands use curl")
@pytest.mark.parametrize("provider", ["cognito", "entra"])
def test_make_run_at_a_provider_prints_commands_that_work_when_pasted(provider: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"PYTHONPATH": "src:.", "AWS_CONFIG_FILE": os.devnull}
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.run", "--provider", provider],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = read_banner(process)
        assert "as identity provider" in banner
        issuer = re.search(r"identity provider \(issuer\), shaped as [^\n]*?\s(http\S+)", banner)
        assert issuer is not None, banner
        script = "set -e\n" + pasted_commands(banner).replace("curl -i", "curl -s -i")
        shell = subprocess.run(
            ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert shell.returncode == 0, shell.stderr
        statuses = re.findall(r"^HTTP/1\.[01] (\d{3})", shell.stdout, re.MULTILINE)
        assert statuses == ["200", "401", "403"], shell.stdout  # token, none, beyond its scopes
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(issuer.group(1) + "/.well-known/openid-configuration", timeout=5) as r:
            assert json.loads(r.read())["issuer"] == issuer.group(1)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the printed commands use curl")
def test_with_the_shared_cache_the_printed_commands_work_and_show_only_ciphertext() -> None:
    """`make run SHARED_CACHE=1`: the same commands, and the printed scan of the token
    table lists items that hold the token only encrypted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"PYTHONPATH": "src:.", "AWS_CONFIG_FILE": os.devnull}
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.run", "--shared-cache"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = read_banner(process)
        assert "table scopegate-broker-tokens, key alias/scopegate-broker" in banner
        script = "set -e\n" + pasted_commands(banner).replace("curl -i", "curl -s -i")
        shell = subprocess.run(
            ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert shell.returncode == 0, shell.stderr
        statuses = re.findall(r"^HTTP/1\.[01] (\d{3})", shell.stdout, re.MULTILINE)
        assert statuses == ["200", "401", "403", "200"], shell.stdout
        items = [line for line in shell.stdout.splitlines() if line.startswith("['")]
        # one per grant asked for: writer (read write), reader (read), writer (write)
        assert items == ["['data_key', 'expires_at', 'pk', 'sealed', 'valid_until']"] * 3
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
