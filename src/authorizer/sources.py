"""The authorizer's configuration source: ``AUTHORIZER_CONFIG`` (the document),
``AUTHORIZER_CONFIG_FILE`` (a path; relative paths resolve against the code root) or
``AUTHORIZER_CONFIG_PARAMETER`` (an SSM parameter, re-read after
``AUTHORIZER_CONFIG_MAX_AGE`` seconds). The rules of the three variables are
``scopegate_core.sources``'s, which the broker follows too. Nothing is read at import time.
"""

from __future__ import annotations

from pathlib import Path

from authorizer.config import AuthorizerConfig, validate
from authorizer.errors import ConfigError
from scopegate_core.documents import parse_document
from scopegate_core.errors import DocumentError
from scopegate_core.sources import CODE_ROOT, DocumentSource, read_file


def load_text(text: str) -> AuthorizerConfig:
    try:
        doc = parse_document(text)
    except DocumentError as e:
        raise ConfigError(str(e)) from e
    return validate(doc)


def load_file(path: str | Path, code_root: Path = CODE_ROOT) -> AuthorizerConfig:
    try:
        text = read_file(path, code_root)
    except DocumentError as e:
        raise ConfigError(str(e)) from e
    return load_text(text)


class ConfigSource(DocumentSource[AuthorizerConfig]):
    """The authorizer's config: ``AUTHORIZER_CONFIG``, ``_FILE`` or ``_PARAMETER``."""

    prefix = "AUTHORIZER_CONFIG"
    error = ConfigError

    def parse(self, text: str) -> AuthorizerConfig:
        return load_text(text)
