"""What ``cancel_run`` returns: whether it cancelled, usable as a bool, and awaitable until
the cancelled work has really stopped."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from asyncz_like.limits import check_timeout
from asyncz_like.workers.waking import thread_waker

if TYPE_CHECKING:
    from asyncz_like.workers.engine import RunEngine
    from asyncz_like.workers.submitted import SubmittedRun


class CancelResult:
    """Whether ``cancel_run`` cancelled the run: true or false like that bool (``if``,
    ``not``, ``== True``), and awaitable: ``await scheduler.cancel_run(run_id)`` returns the
    same bool once the cancelled attempt no longer runs (a coroutine has handled its
    cancellation, a process is gone, a thread has returned). The run's status is final
    (CANCELLED) as soon as ``cancel_run`` returns; ``wait()`` is the blocking form.
    """

    __slots__ = ("_engine", "_submitted", "cancelled", "run_id")

    def __init__(
        self, run_id: str, engine: RunEngine | None = None, submitted: SubmittedRun | None = None
    ) -> None:
        self.run_id = run_id
        self.cancelled = submitted is not None
        self._engine, self._submitted = engine, submitted

    def __bool__(self) -> bool:
        return self.cancelled

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CancelResult):
            return self.cancelled == other.cancelled
        if isinstance(other, bool):
            return self.cancelled == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.cancelled)

    def __repr__(self) -> str:
        return f"<CancelResult run_id={self.run_id!r} cancelled={self.cancelled}>"

    def __await__(self) -> Generator[Any, None, bool]:
        return self._stopped().__await__()

    async def _stopped(self) -> bool:
        engine, submitted = self._engine, self._submitted
        if engine is None or submitted is None:
            return self.cancelled
        done, wake = thread_waker()
        if engine.when_stopped(submitted, wake):
            try:
                await done
            finally:
                engine.forget_stop_waiter(submitted, wake)
        return self.cancelled

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the cancelled attempt has stopped (at most ``timeout`` seconds: then
        TimeoutError); return whether the run was cancelled."""
        timeout = check_timeout(timeout)
        engine, submitted = self._engine, self._submitted
        if engine is None or submitted is None:
            return self.cancelled
        stopped = threading.Event()
        if engine.when_stopped(submitted, stopped.set) and not stopped.wait(timeout):
            engine.forget_stop_waiter(submitted, stopped.set)
            raise TimeoutError(f"Run {self.run_id!r} did not stop within {timeout} s")
        return self.cancelled
