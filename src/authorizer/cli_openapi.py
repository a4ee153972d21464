"""``python -m authorizer routes-from-openapi FILE [-o OUT]``: the ``routes:`` an OpenAPI
document implies, written whole or not at all; and how every command reports a bad
OpenAPI document (exit 2). The OpenAPI modules, and their parser, are imported only by
the commands that read a document, never at cold start."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from authorizer.errors import OpenApiError

if TYPE_CHECKING:
    from authorizer.base_path import BasePathMode


def routes_from_openapi(source: str, output: str | None, base_path: BasePathMode) -> int:
    from authorizer.openapi import read_document
    from authorizer.openapi_routes import render, rules_for, warnings

    try:
        document = read_document(source, base_path)
        rules = rules_for(document)
    except OpenApiError as e:
        return openapi_failed(source, e)
    text = render(document, rules, Path(source).name, base_path)
    for line in warnings(rules):
        print(f"warning: {line}", file=sys.stderr)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        _write_whole(Path(output), text)
    except OSError as e:
        print(f"{output}: cannot write: {e.strerror}", file=sys.stderr)
        return 2
    granted = sum(1 for r in rules if r.ungranted is None)
    print(f"{output}: {granted} route(s) written", file=sys.stderr)
    return 0


def openapi_failed(source: str, e: OpenApiError) -> int:
    print(f"{source}: {len(e.problems)} problem(s) ({e.reason})", file=sys.stderr)
    for problem in e.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 2


def _write_whole(target: Path, text: str) -> None:
    """Write all of ``text`` or leave ``target`` as it was (a temporary file, renamed)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
