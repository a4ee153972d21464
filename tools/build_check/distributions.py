"""The distributions in a function's build: every one its requirements.txt names, at the
pinned version, with the whole of their runtime dependency closure (Requires-Dist
evaluated for CPython 3.13 on Linux aarch64), each with every file its RECORD lists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tools.build_check.own_packages import SKIPPED_SOURCE_SUFFIXES

MARKER_ENVIRONMENT = {
    "implementation_name": "cpython",
    "implementation_version": "3.13.0",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.13.0",
    "python_version": "3.13",
    "sys_platform": "linux",
}


@dataclass
class Distribution:
    name: str  # canonical
    version: str
    dist_info: Path
    requires: list[Requirement]
    tags: list[str]
    record: list[str]


def read_requirements(path: Path) -> list[Requirement]:
    requirements = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise ValueError(f"{path}:{number}: pip option {line!r} is not supported here")
        try:
            requirements.append(Requirement(line))
        except InvalidRequirement as error:
            raise ValueError(f"{path}:{number}: {error}") from error
    return requirements


def read_distributions(function_dir: Path) -> dict[str, Distribution]:
    distributions: dict[str, Distribution] = {}
    for dist_info in sorted(function_dir.glob("*.dist-info")):
        metadata_path = dist_info / "METADATA"
        if not metadata_path.is_file():
            continue
        metadata = HeaderParser().parsestr(metadata_path.read_text(encoding="utf-8"))
        name = canonicalize_name(metadata.get("Name", ""))
        requires = [Requirement(value) for value in metadata.get_all("Requires-Dist") or []]
        wheel_path = dist_info / "WHEEL"
        tags: list[str] = []
        if wheel_path.is_file():
            wheel = HeaderParser().parsestr(wheel_path.read_text(encoding="utf-8"))
            tags = [tag.strip() for tag in wheel.get_all("Tag") or []]
        record_path = dist_info / "RECORD"
        record = []
        if record_path.is_file():
            for line in record_path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record.append(_record_path(line))
        distributions[name] = Distribution(
            name, metadata.get("Version", ""), dist_info, requires, tags, record
        )
    return distributions


def _record_path(line: str) -> str:
    # RECORD is CSV: path,hash,size. Paths with commas are quoted.
    if line.startswith('"'):
        return line[1:].split('",', 1)[0].replace('""', '"')
    return line.rsplit(",", 2)[0]


def requirement_applies(requirement: Requirement, extras: Iterable[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(
        requirement.marker.evaluate({**MARKER_ENVIRONMENT, "extra": extra})
        for extra in ("", *extras)
    )


def check_dependencies(
    function: str, requirements: list[Requirement], distributions: dict[str, Distribution]
) -> tuple[list[str], set[str]]:
    """Problems with the requirement closure, and the names of the distributions in it."""
    problems = []
    seen: set[str] = set()
    pending: list[tuple[Requirement, str]] = [
        (requirement, "requirements.txt") for requirement in requirements
    ]
    while pending:
        requirement, wanted_by = pending.pop(0)
        if not requirement_applies(requirement, ()):
            continue
        name = canonicalize_name(requirement.name)
        distribution = distributions.get(name)
        if distribution is None:
            problems.append(
                f"{function}: missing dependency {requirement} (wanted by {wanted_by}):"
                f" no {name}-*.dist-info in the build"
            )
            continue
        if requirement.specifier and not requirement.specifier.contains(
            distribution.version, prereleases=True
        ):
            problems.append(
                f"{function}: {name} {distribution.version} does not satisfy"
                f" {requirement} (wanted by {wanted_by})"
            )
        if name in seen:
            continue
        seen.add(name)
        for dependency in distribution.requires:
            if requirement_applies(dependency, requirement.extras):
                pending.append((dependency, f"{name} {distribution.version}"))
    return problems, seen


def check_record(function: str, function_dir: Path, distribution: Distribution) -> list[str]:
    if not distribution.record:
        return [f"{function}: {distribution.dist_info.name} has no RECORD"]
    missing = [
        path
        for path in distribution.record
        if not path.startswith(("../", "/"))
        and not (function_dir / path).exists()
        and Path(path).suffix not in SKIPPED_SOURCE_SUFFIXES
    ]
    if not missing:
        return []
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return [
        f"{function}: {distribution.name} {distribution.version} is incomplete:"
        f" {len(missing)} file(s) of its RECORD missing ({shown})"
    ]


def import_names(distribution: Distribution) -> list[str]:
    """Top-level names a distribution installs (from its RECORD): 'yaml', '_yaml', ..."""
    names = set()
    for path in distribution.record:
        top = path.split("/", 1)[0]
        if top.endswith((".dist-info", ".data")) or top.startswith(".."):
            continue
        if "/" in path:
            name = top
        elif top.endswith(".py"):
            name = top[: -len(".py")]
        elif top.endswith(".so"):
            name = top.split(".", 1)[0]
        else:
            continue
        if name.isidentifier():
            names.add(name)
    return sorted(names)


def importable(function_dir: Path, module: str) -> bool:
    return (
        (function_dir / module / "__init__.py").is_file()
        or (function_dir / module).is_dir()
        or (function_dir / f"{module}.py").is_file()
        or any(function_dir.glob(f"{module}.*so"))
    )
