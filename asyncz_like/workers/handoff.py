"""Plain functions run in a worker's threads, their outcomes handed back to the event loop in
batches: one wake-up of the loop for all the functions that returned meanwhile.

``asyncio.wrap_future`` wakes the loop once per function (``call_soon_threadsafe`` writes to
its self-pipe each time). With 20 threads ending no-op runs, handing outcomes back in batches
cut the CPU of a thread hop from 17-20 µs to 8-9 µs in a micro-benchmark, and the worker's
CPU per no-op run in threads by the figures in docs/performance.md ("The worker's own cost").
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: (the loop's future, the value, the exception) of a function that ended
_Ended = tuple["asyncio.Future[Any]", Any, BaseException | None]


class ThreadHandoff:
    """A pool of ``size`` threads whose functions' outcomes come back to ``loop``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.loop = loop
        self.pool = ThreadPoolExecutor(size, "asyncz-like-run")
        self._lock = threading.Lock()
        self._ended: list[_Ended] = []

    def submit(self, fn: Callable[[], Any]) -> tuple[asyncio.Future[Any], Future[None]]:
        """Run ``fn`` in a thread: the loop's future of its outcome, and the thread's future
        (cancel it when the outcome is no longer wanted: a function not started yet then never
        starts; done once ``fn`` has returned or raised)."""
        answer: asyncio.Future[Any] = self.loop.create_future()
        return answer, self.pool.submit(self._run, fn, answer)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, fn: Callable[[], Any], answer: asyncio.Future[Any]) -> None:
        try:
            ended: _Ended = (answer, fn(), None)
        except BaseException as exc:  # the function's own exception is its outcome
            ended = (answer, None, exc)
        with self._lock:
            self._ended.append(ended)
            if len(self._ended) > 1:
                return  # the loop is woken already: it takes this one with the others
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for it now
            self.loop.call_soon_threadsafe(self._hand_back)

    def _hand_back(self) -> None:
        with self._lock:
            ended, self._ended = self._ended, []
        for answer, value, exception in ended:
            if answer.done():  # cancelled: the run was stopped or timed out meanwhile
                continue
            if exception is None:
                answer.set_result(value)
            elif isinstance(exception, StopIteration):  # a future refuses to hold one
                error = RuntimeError(f"the function raised {exception!r}")
                error.__cause__ = exception
                answer.set_exception(error)
            else:
                answer.set_exception(exception)
