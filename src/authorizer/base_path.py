"""Base paths in OpenAPI ``servers``, read and applied as API Gateway's import does.

"Set the OpenAPI basePath property" in the API Gateway Developer Guide: the base path is a
``basePath`` server variable (the first one), else the path of the server URL; the import
option ``basepath`` then ignores it (the default), prepends it, or splits off its first
segment as the stage and prepends the rest. A method ARN holds the resource path without
the stage or a custom domain's base path mapping, which is why ``ignore`` is the default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

BasePathMode = Literal["ignore", "prepend", "split"]
_VARIABLE = re.compile(r"\{([^{}]*)\}")


def base_path_of(doc: Mapping[str, Any]) -> str:
    """The base path as API Gateway's import finds it: a ``basePath`` server variable's
    default, else the path of the first server URL (its variables at their defaults)."""
    servers = [s for s in doc.get("servers") or [] if isinstance(s, dict)]
    for server in servers:
        variable = (server.get("variables") or {}).get("basePath")
        if isinstance(variable, dict):
            return _clean(str(variable.get("default", "")))
    if not servers:
        return ""
    variables = servers[0].get("variables") or {}

    def default(m: re.Match[str]) -> str:
        return str((variables.get(m.group(1)) or {}).get("default", ""))

    return _clean(urlsplit(_VARIABLE.sub(default, str(servers[0].get("url", "")))).path)


def _clean(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts) if parts else ""


def with_base(template: str, base: str, mode: BasePathMode) -> str:
    """The resource path API Gateway makes of ``template`` under ``base`` in ``mode``."""
    parts = base.strip("/").split("/") if base and mode != "ignore" else []
    prefix = "/".join(parts[1:] if mode == "split" else parts)
    if not prefix:
        return template
    return "/" + prefix + ("" if template == "/" else template)
