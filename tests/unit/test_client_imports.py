"""The task client stands alone: importing it loads nothing of the functions.

``token_broker.client`` ships as its own wheel (``scopegate-client``) that depends on
botocore only, so it must import no other module of ``token_broker`` nor of
``authorizer``, and no AWS library but botocore (not boto3, not Powertools). Each check
runs in a fresh interpreter, where ``sys.modules`` shows what one import really loads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AWS_LIBRARIES = ("boto3", "s3transfer", "aws_lambda_powertools", "aws_xray_sdk", "moto")
AUTH_MODULES = {
    "token_broker.client.requests_auth": "requests",
    "token_broker.client.httpx_auth": "httpx",
}


def loaded_after(*modules: str) -> set[str]:
    """The names in ``sys.modules`` of a fresh interpreter after importing ``modules``."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        cwd=ROOT / "src",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stdout))


def of_scopegate(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] in ("token_broker", "authorizer")}


@pytest.mark.parametrize(
    "module",
    [
        "token_broker.client",
        "token_broker.client.cli",
        "token_broker.client.requests_auth",
        "token_broker.client.httpx_auth",
    ],
)
def test_the_client_loads_no_module_of_the_functions(module: str) -> None:
    loaded = loaded_after(module)
    outside = {
        name
        for name in of_scopegate(loaded)
        if name != "token_broker" and not name.startswith("token_broker.client")
    }
    assert outside == set()
    assert "token_broker.client" in loaded


def test_botocore_is_the_only_aws_library_the_client_loads() -> None:
    loaded = loaded_after("token_broker.client", *AUTH_MODULES)
    assert "botocore" in loaded
    assert {n for n in loaded if n.split(".")[0] in AWS_LIBRARIES} == set()


def test_the_client_loads_no_http_library_until_an_auth_module_is_imported() -> None:
    loaded = loaded_after("token_broker.client")
    assert {"requests", "httpx", "anyio"} & loaded == set()
    assert "argparse" not in loaded  # the command line's, loaded by the command line only


@pytest.mark.parametrize(("module", "library"), AUTH_MODULES.items())
def test_each_auth_module_loads_its_own_library_only(module: str, library: str) -> None:
    other = ({"requests", "httpx"} - {library}).pop()
    loaded = loaded_after(module)
    assert library in loaded
    assert other not in loaded


def test_the_client_package_on_disk_is_what_the_wheel_ships() -> None:
    # packages/scopegate-client/hatch_build.py ships the *.py files and py.typed of this
    # directory: a subpackage or a data file added here would be left out of the wheel.
    package = ROOT / "src" / "token_broker" / "client"
    entries = {p.name for p in package.iterdir() if p.name != "__pycache__"}
    assert entries == {p.name for p in package.glob("*.py")} | {"py.typed"}
