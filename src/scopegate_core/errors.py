"""The core's one error: a configuration document, or a value in it, is unusable.

Each function package has its own configuration error under its own root (the
authorizer's ``ConfigError`` derives from this class; the broker's, which carries an HTTP
status, wraps it), so a caller catches its own package's errors only. ``reason`` is the
stable value logs and metrics use.
"""

from __future__ import annotations


class DocumentError(Exception):
    """A document that does not parse, or a value in it that cannot be used (a URL)."""

    reason: str = "config_invalid"
