"""Where the configuration comes from: exactly one of three environment variables.

``AUTHORIZER_CONFIG`` (the document), ``AUTHORIZER_CONFIG_FILE`` (a path; relative paths
resolve against the code root) or ``AUTHORIZER_CONFIG_PARAMETER`` (an SSM parameter,
re-read after ``AUTHORIZER_CONFIG_MAX_AGE`` seconds). Nothing is read at import time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from authorizer.config import AuthorizerConfig, parse_document, validate
from authorizer.errors import ConfigError

ENV_INLINE = "AUTHORIZER_CONFIG"
ENV_FILE = "AUTHORIZER_CONFIG_FILE"
ENV_PARAMETER = "AUTHORIZER_CONFIG_PARAMETER"
ENV_MAX_AGE = "AUTHORIZER_CONFIG_MAX_AGE"
DEFAULT_MAX_AGE = 300.0
CODE_ROOT = Path(os.environ.get("LAMBDA_TASK_ROOT") or Path(__file__).resolve().parents[1])


def load_text(text: str) -> AuthorizerConfig:
    return validate(parse_document(text))


def load_file(path: str | Path, code_root: Path = CODE_ROOT) -> AuthorizerConfig:
    target = Path(path)
    if not target.is_absolute():
        target = code_root / target
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config file {str(target)!r}: {e.strerror}") from e
    return load_text(text)


class ConfigSource:
    """Loads the config on first use; SSM documents are re-read when older than max age.

    A broken document fails closed (``get`` raises the same ``ConfigError`` every time);
    an SSM outage after a good load keeps serving the last good document.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        ssm_client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._env = os.environ if env is None else env
        self._ssm = ssm_client
        self._clock = clock
        self._config: AuthorizerConfig | None = None
        self._error: ConfigError | None = None
        self._loaded_at = 0.0

    def get(self) -> AuthorizerConfig:
        first = self._config is None and self._error is None
        if first or (self._parameter and self._clock() - self._loaded_at >= self._max_age()):
            self._load()
        if self._error is not None:
            raise self._error
        assert self._config is not None
        return self._config

    @property
    def _parameter(self) -> str | None:
        return self._env.get(ENV_PARAMETER) or None

    def _max_age(self) -> float:
        try:
            return max(0.0, float(self._env.get(ENV_MAX_AGE, DEFAULT_MAX_AGE)))
        except ValueError:
            return DEFAULT_MAX_AGE

    def _load(self) -> None:
        self._loaded_at = self._clock()
        try:
            config = self._read()
        except _Unavailable as e:
            if self._config is None:
                self._error = ConfigError(str(e), reason="config_unavailable")
            return  # keep serving the last good document
        except ConfigError as e:
            self._config, self._error = None, e
            return
        self._config, self._error = config, None

    def _read(self) -> AuthorizerConfig:
        chosen = [name for name in (ENV_INLINE, ENV_FILE, ENV_PARAMETER) if self._env.get(name)]
        if len(chosen) > 1:
            raise ConfigError(f"set only one of {', '.join(chosen)}")
        if not chosen:
            raise ConfigError(f"no configuration: set {ENV_INLINE}, {ENV_FILE} or {ENV_PARAMETER}")
        value = self._env[chosen[0]]
        if chosen[0] == ENV_INLINE:
            return load_text(value)
        if chosen[0] == ENV_FILE:
            return load_file(value)
        return load_text(self._fetch_parameter(value))

    def _fetch_parameter(self, name: str) -> str:
        if self._ssm is None:
            import boto3

            self._ssm = boto3.client("ssm")
        try:
            answer = self._ssm.get_parameter(Name=name, WithDecryption=True)
        except Exception as e:
            code = getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)
            if code in ("ParameterNotFound", "AccessDeniedException", "ValidationException"):
                raise ConfigError(f"SSM parameter {name!r} cannot be read: {code}") from e
            raise _Unavailable(f"SSM parameter {name!r} is unavailable: {code}") from e
        return str(answer["Parameter"]["Value"])


class _Unavailable(Exception):
    """SSM could not be reached; not the operator's document's fault."""
