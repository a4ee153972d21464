"""Bytecode for every module, compiled for CPython 3.13 and valid without a look at the
source's mtime (unchecked-hash, PEP 552; src/Makefile writes it). /var/task is read-only,
so without it every cold start compiles every module it imports."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from tools.build_check.lambda_platform import LAMBDA_PYTHON

BYTECODE_TAG = "cpython-313"
UNCHECKED_HASH = 0b01  # the pyc flags field: hash-based, source not checked (PEP 552)


def check_bytecode(function: str, function_dir: Path) -> tuple[list[str], int]:
    """Modules without unchecked-hash CPython 3.13 bytecode; the number of modules."""
    magic = importlib.util.MAGIC_NUMBER if sys.version_info[:2] == LAMBDA_PYTHON else None
    missing: list[str] = []
    sources = sorted(function_dir.rglob("*.py"))
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.{BYTECODE_TAG}.pyc"
        header = pyc.read_bytes()[:16] if pyc.is_file() else b""
        flags = int.from_bytes(header[4:8], "little") if len(header) == 16 else None
        if flags != UNCHECKED_HASH or (magic is not None and header[:4] != magic):
            missing.append(str(source.relative_to(function_dir)))
    if not missing:
        return [], len(sources)
    return [
        f"{function}: {len(missing)} module(s) without unchecked-hash {BYTECODE_TAG} bytecode"
        f" ({', '.join(missing[:3])}): was it built by src/Makefile (BuildMethod makefile)?"
    ], len(sources)
