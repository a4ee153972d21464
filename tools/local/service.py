"""What the local stand-ins have in common: started by ``start()`` or a ``with`` block,
stopped by ``stop()`` or leaving it."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """A stand-in that runs between ``start`` and ``stop`` (a server, a child process)."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
