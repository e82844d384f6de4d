"""``with scheduler:`` and ``async with scheduler:``: start on entry, shut down on exit."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Protocol, TypeVar


class _Startable(Protocol):
    def start(self, paused: bool = False) -> Any: ...
    def shutdown(self, wait: bool = True) -> Any: ...


S = TypeVar("S", bound=_Startable)


class ContextMethods:
    """The context-manager protocols over ``start()`` and ``shutdown()`` (no state)."""

    def __enter__(self: S) -> S:
        self.start()
        return self

    def __exit__(
        self: _Startable,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    async def __aenter__(self: S) -> S:
        result = self.start()  # NativeAsyncIOScheduler's is a coroutine
        if asyncio.iscoroutine(result):
            await result
        return self

    async def __aexit__(
        self: _Startable,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        result = self.shutdown()
        if asyncio.iscoroutine(result):
            await result
