"""The two functions stand apart: each builds on the shared core, never on the other.

``authorizer`` and ``token_broker`` take what they share (document parsing, the URL
policy, configuration sources, logging and metrics) from ``scopegate_core``, so a broker
function loads nothing of the authorizer and the authorizer nothing of the broker. Each
runtime check imports a handler in a fresh interpreter and reads ``sys.modules``; the
source check also finds an import made only inside a function, which no import at start
would run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.imports import ROOT, loaded_after, of_package

SRC = ROOT / "src"
# package -> the packages of this repository it may import
ALLOWED = {
    "scopegate_core": {"scopegate_core"},
    "authorizer": {"authorizer", "scopegate_core"},
    "token_broker": {"token_broker", "scopegate_core"},
}


@pytest.mark.parametrize("handler", ["token_broker.handler", "token_broker.rotation.handler"])
def test_a_broker_function_loads_nothing_of_the_authorizer(handler: str) -> None:
    loaded = loaded_after(handler)
    assert handler in loaded
    assert "scopegate_core.observability" in loaded  # what it shares, it takes from the core
    assert of_package(loaded, "authorizer") == set()


def test_the_authorizer_loads_nothing_of_the_broker() -> None:
    loaded = loaded_after("authorizer.handler")
    assert "authorizer.handler" in loaded
    assert "scopegate_core.observability" in loaded
    assert of_package(loaded, "token_broker") == set()


def test_the_core_loads_neither_function_package() -> None:
    core = sorted(
        "scopegate_core." + path.stem
        for path in (SRC / "scopegate_core").glob("*.py")
        if path.stem != "__init__"
    )
    assert "scopegate_core.sources" in core
    assert of_package(loaded_after(*core), "authorizer", "token_broker") == set()


def imported_packages(path: Path) -> set[str]:
    """The top-level names every ``import`` and ``from ... import`` of a file names,
    wherever in the file it stands."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_source_file_imports_a_package_it_must_not(package: str) -> None:
    ours = set(ALLOWED)
    files = sorted((SRC / package).rglob("*.py"))
    assert files
    crossing = {
        str(path.relative_to(SRC)): sorted((imported_packages(path) & ours) - ALLOWED[package])
        for path in files
    }
    assert {name: found for name, found in crossing.items() if found} == {}
