"""tools/check_build.py on small fake `sam build` outputs.

Each test lays out a project (template.yaml, src/requirements.txt, src/<package>) and a
build dir shaped like `sam build`'s: one directory per function holding the unpacked
wheels (*.dist-info with METADATA, WHEEL and RECORD) and our packages. Compiled
extensions are files with a real ELF header whose e_machine says the architecture.
"""

from __future__ import annotations

import compileall
import py_compile
import shutil
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools import check_build
from tools.build_check.lambda_platform import EM_AARCH64, tag_problem
from tools.cfn import load_template

EM_X86_64 = 62
EM_ARM = 40
AARCH64_TAG = "cp313-cp313-manylinux_2_17_aarch64.manylinux2014_aarch64"

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform:
  - AWS::LanguageExtensions
  - AWS::Serverless-2016-10-31
Parameters:
  Names:
    Type: CommaDelimitedList
    Default: ""
Globals:
  Function:
    Runtime: python3.13
    Architectures: [arm64]
    CodeUri: src/
Resources:
  FirstFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler.lambda_handler
      Environment:
        Variables:
          NAME: !Sub "${AWS::StackName}-first"
  SecondFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler.lambda_handler
      Role: !GetAtt SomeRole.Arn
  InlineFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      InlineCode: "def handler(event, context): return event"
  Fn::ForEach::Topics:
    - Name
    - !Ref Names
    - Topic&{Name}:
        Type: AWS::SNS::Topic
"""

FUNCTIONS = ("FirstFunction", "SecondFunction")


def elf_header(machine: int, elf_class: int = 2, data: int = 1) -> bytes:
    """The first 64 bytes of an ELF shared object (e_type ET_DYN) for `machine`."""
    order = "<" if data == 1 else ">"
    ident = b"\x7fELF" + bytes([elf_class, data, 1, 0]) + bytes(8)
    return ident + struct.pack(f"{order}HHI", 3, machine, 1) + bytes(40)


@dataclass
class Dist:
    name: str
    version: str
    files: dict[str, bytes]
    requires: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=lambda: ["py3-none-any"])


def good_dists() -> list[Dist]:
    return [
        Dist(
            "aws-lambda-powertools",
            "3.37.0",
            {"aws_lambda_powertools/__init__.py": b""},
            requires=["jmespath<2.0.0,>=1.0.1", 'boto3<2,>=1.34 ; extra == "aws-sdk"'],
        ),
        Dist("jmespath", "1.1.0", {"jmespath/__init__.py": b""}),
        Dist(
            "cryptography",
            "50.0.2",
            {
                "cryptography/__init__.py": b"",
                "cryptography/hazmat/bindings/_rust.abi3.so": elf_header(EM_AARCH64),
            },
            requires=[
                "cffi>=2.0.0 ; platform_python_implementation != 'PyPy'",
                "typing-extensions>=4.13.2 ; python_full_version < '3.11'",
            ],
            tags=["cp311-abi3-manylinux_2_17_aarch64", "cp311-abi3-manylinux2014_aarch64"],
        ),
        Dist(
            "cffi",
            "2.1.1",
            {
                "cffi/__init__.py": b"",
                "_cffi_backend.cpython-313-aarch64-linux-gnu.so": elf_header(EM_AARCH64),
            },
            tags=[AARCH64_TAG],
        ),
        Dist(
            "PyYAML",
            "6.0.3",
            {
                "yaml/__init__.py": b"",
                "_yaml/__init__.py": b"",
                "yaml/_yaml.cpython-313-aarch64-linux-gnu.so": elf_header(EM_AARCH64),
            },
            tags=[AARCH64_TAG],
        ),
    ]


def write_dist(function_dir: Path, dist: Dist) -> None:
    dist_info = f"{dist.name.replace('-', '_').lower()}-{dist.version}.dist-info"
    record = []
    for relative, content in dist.files.items():
        path = function_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        record.append(f"{relative},sha256=x,{len(content)}")
    info = function_dir / dist_info
    info.mkdir(parents=True)
    metadata = [f"Metadata-Version: 2.1\nName: {dist.name}\nVersion: {dist.version}"]
    metadata += [f"Requires-Dist: {requirement}" for requirement in dist.requires]
    (info / "METADATA").write_text("\n".join(metadata) + "\n\nlong description\n")
    wheel = ["Wheel-Version: 1.0", "Root-Is-Purelib: false"]
    wheel += [f"Tag: {tag}" for tag in dist.tags]
    (info / "WHEEL").write_text("\n".join(wheel) + "\n")
    record += [f"{dist_info}/METADATA,,", f"{dist_info}/WHEEL,,", f"{dist_info}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose build is complete and aarch64 throughout."""
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / "__init__.py").write_text("")
    (src / "app" / "handler.py").write_text("def lambda_handler(event, context): ...\n")
    (src / "app" / "py.typed").write_text("")
    (src / "app" / "__pycache__").mkdir()
    (src / "app" / "__pycache__" / "handler.cpython-313.pyc").write_bytes(b"\0")
    (src / "requirements.txt").write_text(
        "# Runtime dependencies\n"
        "aws-lambda-powertools==3.37.0\n"
        "cryptography==50.0.2  # wheels for aarch64\n"
        "PyYAML==6.0.3\n"
    )
    for function in FUNCTIONS:
        build_function(tmp_path, function)
    return tmp_path


def build_function(root: Path, function: str, dists: Iterable[Dist] | None = None) -> Path:
    function_dir = root / ".aws-sam" / "build" / function
    function_dir.mkdir(parents=True)
    for dist in good_dists() if dists is None else dists:
        write_dist(function_dir, dist)
    for path in (root / "src").rglob("*"):
        relative = path.relative_to(root / "src")
        if path.is_file() and "__pycache__" not in relative.parts:
            (function_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (function_dir / relative).write_bytes(path.read_bytes())
    compile_like_the_build(function_dir)
    return function_dir


def compile_like_the_build(function_dir: Path) -> None:
    """What src/Makefile does after installing: unchecked-hash bytecode for every module."""
    compiled = compileall.compile_dir(
        function_dir, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    assert compiled


def rebuild(root: Path, function: str, dists: Iterable[Dist]) -> Path:
    shutil.rmtree(root / ".aws-sam" / "build" / function)
    return build_function(root, function, dists)


def run(root: Path) -> check_build.Report:
    return check_build.check_build(root / "template.yaml", root / ".aws-sam" / "build")


def replaced(name: str, **changes: object) -> list[Dist]:
    dists = []
    for dist in good_dists():
        if dist.name == name:
            for key, value in changes.items():
                setattr(dist, key, value)
        dists.append(dist)
    return dists


def test_complete_aarch64_build_passes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(project)

    assert report.problems == []
    assert len(report.notes) == 2
    assert report.notes[0].startswith("FirstFunction: ok (5 distributions for 3 requirements;")
    assert (
        "imports aws_lambda_powertools, cryptography, yaml; 3 aarch64 ELF files"
        in (report.notes[0])
    )
    args = ["--template", str(project / "template.yaml")]
    assert check_build.main([*args, "--build-dir", str(project / ".aws-sam/build")]) == 0
    assert "is ready for Lambda python3.13 arm64" in capsys.readouterr().out


def test_template_functions_follow_globals_and_skip_inline_code(project: Path) -> None:
    template = load_template(project / "template.yaml")

    functions = check_build.template_functions(template, project)

    assert [f.logical_id for f in functions] == list(FUNCTIONS)
    assert {f.source_dir for f in functions} == {(project / "src").resolve()}


def test_x86_64_extension_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {
        "yaml/__init__.py": b"",
        "_yaml/__init__.py": b"",
        "yaml/_yaml.cpython-313-x86_64-linux-gnu.so": elf_header(EM_X86_64),
    }
    rebuild(project, "SecondFunction", replaced("PyYAML", files=files))

    report = run(project)

    assert report.problems == [
        "SecondFunction: yaml/_yaml.cpython-313-x86_64-linux-gnu.so is x86_64"
        " (64-bit little-endian), not aarch64"
    ]
    args = ["--template", str(project / "template.yaml")]
    assert check_build.main([*args, "--build-dir", str(project / ".aws-sam/build")]) == 1
    err = capsys.readouterr().err
    assert "FAIL SecondFunction: yaml/_yaml.cpython-313-x86_64-linux-gnu.so is x86_64" in err
    assert "1 problem(s)" in err


@pytest.mark.parametrize(
    ("header", "description"),
    [
        (elf_header(EM_ARM, elf_class=1), "ARM (32-bit) (32-bit little-endian)"),
        (elf_header(EM_AARCH64, data=2), "aarch64 (64-bit big-endian)"),
    ],
)
def test_other_arm_flavours_fail(project: Path, header: bytes, description: str) -> None:
    (project / ".aws-sam/build/FirstFunction/cffi/libffi.so.8").write_bytes(header)

    assert run(project).problems == [
        f"FirstFunction: cffi/libffi.so.8 is {description}, not aarch64"
    ]


def test_shared_object_that_is_not_elf_fails(project: Path) -> None:
    (project / ".aws-sam/build/FirstFunction/cffi/_helper.so").write_bytes(b"\xcf\xfa\xed\xfe")

    assert run(project).problems == [
        "FirstFunction: cffi/_helper.so is not a Linux ELF shared object"
    ]


def test_missing_dependency_fails(project: Path) -> None:
    rebuild(project, "FirstFunction", [d for d in good_dists() if d.name != "cryptography"])

    problems = run(project).problems

    assert problems == [
        "FirstFunction: missing dependency cryptography==50.0.2 (wanted by requirements.txt):"
        " no cryptography-*.dist-info in the build"
    ]


def test_missing_transitive_dependency_fails(project: Path) -> None:
    rebuild(project, "FirstFunction", [d for d in good_dists() if d.name != "cffi"])

    assert run(project).problems == [
        "FirstFunction: missing dependency cffi>=2.0.0; platform_python_implementation !="
        ' "PyPy" (wanted by cryptography 50.0.2): no cffi-*.dist-info in the build'
    ]


def test_dependency_of_an_extra_or_older_python_is_not_required(project: Path) -> None:
    # boto3 (extra "aws-sdk") and typing-extensions (Python < 3.11) are not in good_dists().
    assert run(project).problems == []


def test_wrong_version_fails(project: Path) -> None:
    rebuild(project, "FirstFunction", replaced("PyYAML", version="6.0.2"))

    assert run(project).problems == [
        "FirstFunction: pyyaml 6.0.2 does not satisfy PyYAML==6.0.3 (wanted by requirements.txt)"
    ]


def test_distribution_missing_its_import_package_fails(project: Path) -> None:
    shutil.rmtree(project / ".aws-sam/build/FirstFunction/aws_lambda_powertools")

    assert run(project).problems == [
        "FirstFunction: aws-lambda-powertools 3.37.0 is incomplete: 1 file(s) of its RECORD"
        " missing (aws_lambda_powertools/__init__.py)",
        "FirstFunction: import name aws_lambda_powertools (aws-lambda-powertools) missing",
    ]


@pytest.mark.parametrize(
    "tag",
    [
        "py3-none-any",
        "py2.py3-none-any",
        "cp313-cp313-manylinux2014_aarch64",
        "cp311-abi3-manylinux_2_28_aarch64",
        "cp313-cp313-manylinux_2_34_aarch64",
        "cp313-cp313-manylinux_2_17_x86_64.manylinux_2_17_aarch64",
    ],
)
def test_wheel_tags_for_lambda_arm64(tag: str) -> None:
    assert tag_problem(tag) is None


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("cp313-cp313-manylinux2014_x86_64", "platform manylinux2014_x86_64, not aarch64"),
        ("cp313-cp313-macosx_11_0_arm64", "platform macosx_11_0_arm64, not aarch64"),
        ("cp312-cp312-manylinux2014_aarch64", "ABI cp312, not cp313"),
        ("cp314-cp314-manylinux2014_aarch64", "built for Python 3.14"),
        ("py2-none-any", "built for Python 2"),
        ("pp310-pypy310_pp73-manylinux2014_aarch64", "interpreter pp310 is not CPython"),
        (
            "cp313-cp313-musllinux_1_2_aarch64",
            "platform musllinux_1_2_aarch64 is not manylinux (Lambda runs glibc)",
        ),
        (
            "cp313-cp313-manylinux_2_39_aarch64",
            "platform manylinux_2_39_aarch64 needs glibc 2.39 (Lambda has 2.34)",
        ),
    ],
)
def test_wheel_tags_not_for_lambda_arm64(tag: str, reason: str) -> None:
    assert tag_problem(tag) == reason


def test_x86_64_wheel_fails_even_without_extension(project: Path) -> None:
    rebuild(project, "FirstFunction", replaced("jmespath", tags=["py3-none-manylinux1_x86_64"]))

    assert run(project).problems == [
        "FirstFunction: jmespath 1.1.0 is a wheel for py3-none-manylinux1_x86_64:"
        " platform manylinux1_x86_64, not aarch64"
    ]


def test_missing_own_package_fails(project: Path) -> None:
    shutil.rmtree(project / ".aws-sam/build/SecondFunction/app")

    assert run(project).problems == ["SecondFunction: package app missing from the build"]


def test_stale_own_package_fails(project: Path) -> None:
    (project / "src/app/handler.py").write_text("def lambda_handler(event, context): return 1\n")
    (project / "src/app/new.py").write_text("")

    problems = run(project).problems

    assert problems[:2] == [
        "FirstFunction: package app lacks 1 file(s): new.py",
        "FirstFunction: package app differs from src/ in 1 file(s) (handler.py): the build is"
        " stale, run `make build` again",
    ]
    assert len(problems) == 4


def test_missing_function_directory_fails(project: Path) -> None:
    function_dir = project / ".aws-sam/build/SecondFunction"
    shutil.rmtree(function_dir)

    assert run(project).problems == [
        f"SecondFunction: no build directory {function_dir} (did `sam build` run?)"
    ]


def test_no_build_at_all_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    args = ["--template", str(tmp_path / "template.yaml")]
    assert check_build.main([*args, "--build-dir", str(tmp_path / "missing")]) == 1
    assert "no build directory" in capsys.readouterr().err


def test_template_without_functions_fails(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    (tmp_path / "build").mkdir()

    report = check_build.check_build(tmp_path / "template.yaml", tmp_path / "build")

    assert report.problems == [
        f"{tmp_path / 'template.yaml'}: no function built from a local CodeUri"
    ]


def test_modules_without_bytecode_fail(project: Path) -> None:
    """A build by SAM's own Python builder ships no bytecode: every cold start compiles."""
    function_dir = project / ".aws-sam" / "build" / FUNCTIONS[0]
    for pyc in function_dir.rglob("*.pyc"):
        pyc.unlink()
    assert any("without unchecked-hash cpython-313 bytecode" in p for p in run(project).problems)


def test_timestamp_bytecode_fails(project: Path) -> None:
    """Lambda's zip keeps no exact mtimes: timestamp bytecode would be recompiled each time."""
    function_dir = project / ".aws-sam" / "build" / FUNCTIONS[0]
    handler = function_dir / "app" / "handler.py"
    py_compile.compile(
        str(handler), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP, doraise=True
    )
    problems = run(project).problems
    assert any("app/handler.py" in p and "bytecode" in p for p in problems), problems
