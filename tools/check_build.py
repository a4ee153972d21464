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
- the CodeUri's own Python packages (src/scopegate_core, src/authorizer,
  src/token_broker) byte for byte, so a stale cached build fails too;
- bytecode for every module, compiled for CPython 3.13 and valid without a look at the
  source's mtime (unchecked-hash, PEP 552; src/Makefile writes it): /var/task is read-only,
  so without it every cold start compiles every module it imports.

The checks are tools/build_check/'s; this module finds the functions and reports.

Usage: python -m tools.check_build [--template template.yaml] [--build-dir .aws-sam/build]
Exits 0 when every function passes, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement
from packaging.utils import canonicalize_name

from tools.build_check.bytecode import check_bytecode
from tools.build_check.distributions import (
    check_dependencies,
    check_record,
    import_names,
    importable,
    read_distributions,
    read_requirements,
)
from tools.build_check.lambda_platform import check_compiled, tag_problem
from tools.build_check.own_packages import check_own_packages, own_packages
from tools.cfn import load_template

ROOT = Path(__file__).resolve().parents[1]

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


@dataclass(frozen=True)
class Function:
    logical_id: str
    source_dir: Path


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
            if not importable(function_dir, module):
                report.fail(f"{name}: import name {module} ({requirement.name}) missing")

    compiled_problems, compiled = check_compiled(name, function_dir)
    report.problems.extend(compiled_problems)
    bytecode_problems, modules = check_bytecode(name, function_dir)
    report.problems.extend(bytecode_problems)
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
            f" bytecode for {modules} modules;"
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
