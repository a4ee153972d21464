"""Where a configuration document comes from: exactly one of three environment variables.

For a prefix such as ``AUTHORIZER_CONFIG`` (the authorizer) or ``BROKER_CONFIG`` (the
broker): ``PREFIX`` (the document), ``PREFIX_FILE`` (a path; relative paths resolve
against the code root) or ``PREFIX_PARAMETER`` (an SSM parameter, re-read after
``PREFIX_MAX_AGE`` seconds). Each package subclasses ``DocumentSource`` with its prefix,
its parser and its configuration error. Nothing is read at import time.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from scopegate_core.aws import request_client
from scopegate_core.errors import DocumentError

DEFAULT_MAX_AGE = 300.0
UNAVAILABLE_RETRY_SECONDS = 5.0  # SSM unreachable before any good load: ask again soon
CODE_ROOT = Path(os.environ.get("LAMBDA_TASK_ROOT") or Path(__file__).resolve().parents[1])


def read_file(path: str | Path, code_root: Path = CODE_ROOT) -> str:
    target = Path(path)
    if not target.is_absolute():
        target = code_root / target
    try:
        return target.read_text(encoding="utf-8")
    except OSError as e:
        raise DocumentError(f"cannot read config file {str(target)!r}: {e.strerror}") from e


class DocumentSource[T]:
    """Loads the config on first use; SSM documents are re-read when older than max age.

    A broken document fails closed (``get`` raises the same error every time); an SSM
    outage after a good load keeps serving the last good document. Subclasses name the
    environment prefix, the parser and the package's config error class.
    """

    prefix: ClassVar[str]
    error: ClassVar[type[Exception]]
    # Raised while SSM cannot be read and no document ever loaded (an outage, reason
    # ``config_unavailable``); ``error`` when a package answers both alike.
    unavailable: ClassVar[type[Exception] | None] = None

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
        self._config: T | None = None
        self._error: Exception | None = None
        self._text: str | None = None  # the document behind ``_config``
        self._loaded_at = 0.0
        self._next_load = -math.inf  # the first ``get`` loads

    def parse(self, text: str) -> T:
        raise NotImplementedError

    def get(self) -> T:
        # The environment is read when a document is loaded, not on every request: this
        # runs per request, and a function's environment does not change while it runs.
        if self._clock() >= self._next_load:
            self._load()
            reload_after = self._reload_after() if self._parameter else math.inf
            self._next_load = self._loaded_at + reload_after
        if self._error is not None:
            raise self._error
        assert self._config is not None
        return self._config

    @property
    def _parameter(self) -> str | None:
        return self._env.get(f"{self.prefix}_PARAMETER") or None

    def _max_age(self) -> float:
        try:
            return max(0.0, float(self._env.get(f"{self.prefix}_MAX_AGE", DEFAULT_MAX_AGE)))
        except ValueError:
            return DEFAULT_MAX_AGE

    def _reload_after(self) -> float:
        """The max age; but SSM is asked again soon when it failed before any good load."""
        never_loaded = self._config is None and getattr(self._error, "reason", "") == (
            "config_unavailable"
        )
        return min(UNAVAILABLE_RETRY_SECONDS, self._max_age()) if never_loaded else self._max_age()

    def _fail(self, message: str, reason: str = "config_invalid") -> Exception:
        return self.error(message, reason=reason)  # type: ignore[call-arg]

    def _load(self) -> None:
        self._loaded_at = self._clock()
        try:
            text = self._read_text()
            if self._config is not None and text == self._text:
                return  # unchanged: the same config object, so caches built on it stay
            config = self.parse(text)
        except _Unavailable as e:
            if self._config is None:
                kind = self.unavailable or self.error
                self._error = kind(str(e), reason="config_unavailable")  # type: ignore[call-arg]
            return  # keep serving the last good document
        except (DocumentError, self.error) as e:
            self._config = None
            self._error = e if isinstance(e, self.error) else self._fail(str(e))
            return
        self._config, self._error, self._text = config, None, text

    def _read_text(self) -> str:
        names = [f"{self.prefix}{suffix}" for suffix in ("", "_FILE", "_PARAMETER")]
        chosen = [name for name in names if self._env.get(name)]
        if len(chosen) > 1:
            raise self._fail(f"set only one of {', '.join(chosen)}")
        if not chosen:
            raise self._fail(f"no configuration: set {', '.join(names[:2])} or {names[2]}")
        value = self._env[chosen[0]]
        if chosen[0] == names[0]:
            return value
        if chosen[0] == names[1]:
            return read_file(value)
        return self._fetch_parameter(value)

    def _fetch_parameter(self, name: str) -> str:
        if self._ssm is None:
            self._ssm = request_client("ssm")  # a load runs inside a request
        try:
            answer = self._ssm.get_parameter(Name=name, WithDecryption=True)
        except Exception as e:
            code = getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)
            if code in ("ParameterNotFound", "AccessDeniedException", "ValidationException"):
                raise self._fail(f"SSM parameter {name!r} cannot be read: {code}") from e
            raise _Unavailable(f"SSM parameter {name!r} is unavailable: {code}") from e
        return str(answer["Parameter"]["Value"])


class _Unavailable(Exception):
    """SSM could not be reached; not the operator's document's fault."""
