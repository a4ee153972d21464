"""The CodeUri's own Python packages (src/scopegate_core, src/authorizer,
src/token_broker), byte for byte in a function's build, so a stale cached build fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

SKIPPED_SOURCE_PARTS = {"__pycache__"}
SKIPPED_SOURCE_SUFFIXES = {".pyc", ".pyo"}


def _source_files(package_dir: Path) -> Iterator[Path]:
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if not path.is_file() or SKIPPED_SOURCE_PARTS.intersection(relative.parts):
            continue
        if path.suffix in SKIPPED_SOURCE_SUFFIXES:
            continue
        yield relative


def own_packages(source_dir: Path) -> list[str]:
    return sorted(
        child.name
        for child in source_dir.iterdir()
        if child.is_dir() and (child / "__init__.py").is_file()
    )


def check_own_packages(function: str, source_dir: Path, function_dir: Path) -> list[str]:
    problems = []
    packages = own_packages(source_dir)
    if not packages:
        problems.append(f"{function}: no Python package in {source_dir}")
    for package in packages:
        built = function_dir / package
        if not built.is_dir():
            problems.append(f"{function}: package {package} missing from the build")
            continue
        missing, stale = [], []
        for relative in _source_files(source_dir / package):
            target = built / relative
            if not target.is_file():
                missing.append(str(relative))
            elif target.read_bytes() != (source_dir / package / relative).read_bytes():
                stale.append(str(relative))
        if missing:
            problems.append(
                f"{function}: package {package} lacks {len(missing)} file(s): "
                + ", ".join(missing[:5])
            )
        if stale:
            problems.append(
                f"{function}: package {package} differs from {source_dir.name}/ in"
                f" {len(stale)} file(s) ({', '.join(stale[:5])}): the build is stale,"
                " run `make build` again"
            )
    return problems
