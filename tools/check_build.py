"""Check `sam build`'s artifacts: every function can run on Lambda python3.13 arm64.

For every function in the template (AWS::Serverless::Function or AWS::Lambda::Function
built from a local CodeUri), its directory under the build dir (.aws-sam/build/<LogicalId>)
must hold:

- every distribution named in its CodeUri's requirements.txt, at the pinned version, and
  the whole of their runtime dependency closure (Requires-Dist evaluated for CPython 3.13
  on Linux aarch64), each with every file its RECORD lists (so the import packages, for
  example aws_lambda_powertools, cryptography and yaml, are there);
- wheels for aarch64 or for any platform only (the Tag lines of each *.dist-info/WHEEL:
  manylinux up to glibc 2.34, the Lambda python3.13 runtime's Amazon Linux 2023), built
  for CPython 3.13 (cp313, abi3 or pure Python);
- compiled code for aarch64 only: every ELF file (*.so, *.so.N, ...) has e_machine 183
  (EM_AARCH64), 64-bit little-endian;
- the CodeUri's own Python packages (src/authorizer, src/token_broker) byte for byte, so a
  stale cached build fails too.

Usage: python -m tools.check_build [--template template.yaml] [--build-dir .aws-sam/build]
Exits 0 when every function passes, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tools.cfn import load_template

ROOT = Path(__file__).resolve().parents[1]

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")

EM_AARCH64 = 183
MACHINE_NAMES = {
    3: "x86 (i386)",
    8: "MIPS",
    20: "PowerPC",
    21: "PowerPC64",
    22: "s390",
    40: "ARM (32-bit)",
    62: "x86_64",
    183: "aarch64",
    243: "RISC-V",
}

# The Lambda python3.13 runtime: Amazon Linux 2023 (glibc 2.34) on Graviton.
LAMBDA_GLIBC = (2, 34)
LAMBDA_PYTHON = (3, 13)
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

SKIPPED_SOURCE_PARTS = {"__pycache__"}
SKIPPED_SOURCE_SUFFIXES = {".pyc", ".pyo"}


@dataclass(frozen=True)
class Function:
    logical_id: str
    source_dir: Path


@dataclass
class Distribution:
    name: str  # canonical
    version: str
    dist_info: Path
    requires: list[Requirement]
    tags: list[str]
    record: list[str]


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.problems.append(message)


def template_functions(template: dict[str, Any], template_dir: Path) -> list[Function]:
    """Functions that `sam build` builds from a local directory, with that directory."""
    globals_function = (template.get("Globals") or {}).get("Function") or {}
    functions = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        # Fn::ForEach::<name> entries are lists, not resources.
        if not isinstance(resource, dict) or resource.get("Type") not in FUNCTION_TYPES:
            continue
        properties = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function":
            package_type = properties.get("PackageType", globals_function.get("PackageType"))
            if package_type == "Image" or "InlineCode" in properties:
                continue
            code_uri = properties.get("CodeUri", globals_function.get("CodeUri"))
        else:
            code = properties.get("Code")
            if properties.get("PackageType") == "Image" or not isinstance(code, str):
                continue
            code_uri = code
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            continue
        functions.append(Function(logical_id, (template_dir / code_uri).resolve()))
    return functions


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


_MANYLINUX_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def tag_problem(tag: str) -> str | None:
    """None if a wheel tag runs on Lambda python3.13 arm64, else why not."""
    parts = tag.split("-")
    if len(parts) != 3:
        return f"malformed tag {tag!r}"
    interpreters, abis, platforms = (part.split(".") for part in parts)
    reasons = []
    for interpreter in interpreters:
        for abi in abis:
            for platform in platforms:
                reason = _single_tag_problem(interpreter, abi, platform)
                if reason is None:
                    return None
                reasons.append(reason)
    return "; ".join(dict.fromkeys(reasons))


def _single_tag_problem(interpreter: str, abi: str, platform: str) -> str | None:
    match = re.fullmatch(r"(py|cp)(\d)(\d*)", interpreter)
    if not match:
        return f"interpreter {interpreter} is not CPython"
    kind, major, minor = match.group(1), int(match.group(2)), match.group(3)
    if major != LAMBDA_PYTHON[0]:
        return f"built for Python {major}"
    if minor and int(minor) > LAMBDA_PYTHON[1]:
        return f"built for Python 3.{minor}"
    if abi == "none":
        if kind == "cp" and minor and int(minor) != LAMBDA_PYTHON[1]:
            return f"built for CPython 3.{minor}"
    elif abi == "abi3":
        if kind != "cp":
            return f"abi3 with interpreter {interpreter}"
    elif abi != f"cp{LAMBDA_PYTHON[0]}{LAMBDA_PYTHON[1]}":
        return f"ABI {abi}, not cp313"
    if platform == "any":
        return None
    if not platform.endswith("_aarch64"):
        return f"platform {platform}, not aarch64"
    legacy = _MANYLINUX_LEGACY.get(platform[: -len("_aarch64")])
    glibc_match = re.fullmatch(r"manylinux_(\d+)_(\d+)_aarch64", platform)
    glibc = legacy or (
        (int(glibc_match.group(1)), int(glibc_match.group(2))) if glibc_match else None
    )
    if glibc is None:
        return f"platform {platform} is not manylinux (Lambda runs glibc)"
    if glibc > LAMBDA_GLIBC:
        return f"platform {platform} needs glibc {glibc[0]}.{glibc[1]} (Lambda has 2.34)"
    return None


@dataclass(frozen=True)
class ElfHeader:
    machine: int  # e_machine
    elf_class: int  # EI_CLASS: 1 = 32-bit, 2 = 64-bit
    data: int  # EI_DATA: 1 = little-endian, 2 = big-endian

    @property
    def is_aarch64(self) -> bool:
        return self.machine == EM_AARCH64 and self.elf_class == 2 and self.data == 1

    def describe(self) -> str:
        name = MACHINE_NAMES.get(self.machine, f"e_machine {self.machine}")
        bits = {1: "32-bit", 2: "64-bit"}.get(self.elf_class, f"EI_CLASS {self.elf_class}")
        order = {1: "little-endian", 2: "big-endian"}.get(self.data, f"EI_DATA {self.data}")
        return f"{name} ({bits} {order})"


def read_elf_header(path: Path) -> ElfHeader | None:
    """The ELF identification and e_machine of a file, None if it is not ELF."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    elf_class, data = header[4], header[5]
    machine = int.from_bytes(header[18:20], "big" if data == 2 else "little")
    return ElfHeader(machine, elf_class, data)


def _importable(function_dir: Path, module: str) -> bool:
    return (
        (function_dir / module / "__init__.py").is_file()
        or (function_dir / module).is_dir()
        or (function_dir / f"{module}.py").is_file()
        or any(function_dir.glob(f"{module}.*so"))
    )


def _looks_compiled(path: Path) -> bool:
    name = path.name
    return name.endswith(".so") or ".so." in name or name.endswith((".dylib", ".pyd", ".dll"))


def check_compiled(function: str, function_dir: Path) -> tuple[list[str], int]:
    problems = []
    count = 0
    for path in sorted(function_dir.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(function_dir)
        if path.suffix in {".py", ".pyi", ".txt", ".json", ".typed"}:
            continue
        header = read_elf_header(path)
        if header is None:
            if _looks_compiled(path):
                problems.append(f"{function}: {relative} is not a Linux ELF shared object")
            continue
        count += 1
        if not header.is_aarch64:
            problems.append(f"{function}: {relative} is {header.describe()}, not aarch64")
    return problems, count


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


def check_function(function: Function, build_dir: Path, report: Report) -> None:
    name = function.logical_id
    function_dir = build_dir / name
    if not function_dir.is_dir():
        report.fail(f"{name}: no build directory {function_dir} (did `sam build` run?)")
        return
    before = len(report.problems)
    requirements_path = function.source_dir / "requirements.txt"
    requirements = read_requirements(requirements_path) if requirements_path.is_file() else []
    distributions = read_distributions(function_dir)

    problems, closure = check_dependencies(name, requirements, distributions)
    report.problems.extend(problems)
    for dist_name in sorted(distributions):
        distribution = distributions[dist_name]
        report.problems.extend(check_record(name, function_dir, distribution))
        if not distribution.tags:
            report.fail(f"{name}: {distribution.dist_info.name} has no WHEEL tags")
        reasons = [tag_problem(tag) for tag in distribution.tags]
        if distribution.tags and all(reasons):
            report.fail(
                f"{name}: {dist_name} {distribution.version} is a wheel for"
                f" {', '.join(distribution.tags)}: {reasons[0]}"
            )
    for requirement in requirements:
        required = distributions.get(canonicalize_name(requirement.name))
        for module in import_names(required) if required else ():
            if not _importable(function_dir, module):
                report.fail(f"{name}: import name {module} ({requirement.name}) missing")

    compiled_problems, compiled = check_compiled(name, function_dir)
    report.problems.extend(compiled_problems)
    report.problems.extend(check_own_packages(name, function.source_dir, function_dir))

    if len(report.problems) == before:
        imports = sorted(
            {
                module
                for requirement in requirements
                if (d := distributions.get(canonicalize_name(requirement.name)))
                for module in import_names(d)
                if not module.startswith("_")
            }
        )
        report.notes.append(
            f"{name}: ok ({len(closure)} distributions for {len(requirements)} requirements;"
            f" imports {', '.join(imports) or 'none'}; {compiled} aarch64 ELF files;"
            f" packages {', '.join(own_packages(function.source_dir))})"
        )


def check_build(template_path: Path, build_dir: Path) -> Report:
    report = Report()
    template = load_template(template_path)
    functions = template_functions(template, template_path.parent)
    if not functions:
        report.fail(f"{template_path}: no function built from a local CodeUri")
    if not build_dir.is_dir():
        report.fail(f"no build directory {build_dir}: run `make build` (sam build) first")
        return report
    for function in functions:
        check_function(function, build_dir, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    args = parser.parse_args(argv)
    try:
        report = check_build(args.template, args.build_dir)
    except (OSError, ValueError, yaml.YAMLError, InvalidRequirement) as error:
        print(f"check_build: {error}", file=sys.stderr)
        return 1
    for note in report.notes:
        print(f"check_build: {note}")
    if report.problems:
        for problem in report.problems:
            print(f"check_build: FAIL {problem}", file=sys.stderr)
        print(
            f"check_build: {len(report.problems)} problem(s) in {args.build_dir}",
            file=sys.stderr,
        )
        return 1
    print(f"check_build: {args.build_dir} is ready for Lambda python3.13 arm64")
    return 0


if __name__ == "__main__":
    sys.exit(main())
