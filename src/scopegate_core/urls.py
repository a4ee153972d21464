"""The URL policy of every configured or discovered endpoint: ``https``, except on loopback
hosts (``localhost``, 127.0.0.0/8, ``::1``: what the task client allows too), which tests
and the local stack use."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from scopegate_core.errors import DocumentError


def is_loopback(hostname: str) -> bool:
    """``localhost`` or a loopback address; never a name that merely resolves to one."""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def check_url(url: object, what: str) -> str:
    """``url`` when it is an absolute ``https`` URL (``http`` on a loopback host), else
    ``DocumentError`` naming ``what``."""
    if not isinstance(url, str) or not url:
        raise DocumentError(f"{what} must be a non-empty URL string")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as e:
        raise DocumentError(f"{what} {url!r} is not a valid URL") from e
    if not parts.hostname:
        raise DocumentError(f"{what} {url!r} is not an absolute URL")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname)):
        return url
    raise DocumentError(f"{what} {url!r} must use https (http is allowed on loopback hosts only)")
