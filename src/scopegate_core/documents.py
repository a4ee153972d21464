"""A configuration document's text as plain values, and its faults quoted briefly."""

from __future__ import annotations

import json
from typing import Any

from scopegate_core.errors import DocumentError


def parse_document(text: str) -> Any:
    """JSON, or YAML when it is not JSON (PyYAML is imported only then)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            return json.loads(stripped)
        except ValueError as e:
            raise DocumentError(f"configuration is not valid JSON: {e}") from e
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise DocumentError(f"configuration is not valid YAML or JSON: {e}") from e


def got(value: object) -> str:
    """The offending value for a problem, cut short (a config document holds no secret:
    secrets live in Secrets Manager)."""
    text = repr(value) if isinstance(value, str | int | float | list | tuple) else None
    text = text or f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."
