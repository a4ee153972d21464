"""The task client stands alone: importing it loads nothing of the functions.

``token_broker.client`` ships as its own wheel (``scopegate-client``) that depends on
botocore only, so it must import no other module of ``token_broker``, nothing of
``authorizer`` or of the functions' shared core ``scopegate_core``, and no AWS library
but botocore (not boto3, not Powertools). Each check runs in a fresh interpreter, where
``sys.modules`` shows what one import really loads.
"""

from __future__ import annotations

import pytest

from tests.support.imports import ROOT, loaded_after, of_package

AWS_LIBRARIES = ("boto3", "s3transfer", "aws_lambda_powertools", "aws_xray_sdk", "moto")
AUTH_MODULES = {
    "token_broker.client.requests_auth": "requests",
    "token_broker.client.httpx_auth": "httpx",
}


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
        for name in of_package(loaded, "token_broker", "authorizer", "scopegate_core")
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
