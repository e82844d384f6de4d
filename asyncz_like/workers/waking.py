"""A future of the running loop that any thread may resolve: how a coroutine waits for an
end that a thread reports (a run finished, a cancelled attempt stopped)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def thread_waker() -> tuple[asyncio.Future[None], Callable[[], None]]:
    """A future of the running loop, and a function that resolves it from any thread: once,
    and not at all once the loop is closed."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(_resolve, done)

    return done, wake


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
