"""Whether a wheel and compiled code run on Lambda's python3.13 on Graviton: wheel tags
for aarch64 or any platform (manylinux up to glibc 2.34, Amazon Linux 2023), built for
CPython 3.13 (cp313, abi3 or pure Python); every ELF file aarch64, 64-bit
little-endian."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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
