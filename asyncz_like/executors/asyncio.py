"""Runs coroutine functions on the scheduler's event loop and sync functions in threads."""

from __future__ import annotations

import asyncio
import collections.abc
import concurrent.futures
import os
import threading
from collections.abc import Coroutine, Generator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from asyncz_like.executors.ahead import AheadRunTimes, take_up
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.executors.runner import (
    RunContext,
    run_coroutine_task,
    run_task,
    start_coroutine_task,
)
from asyncz_like.utils import as_positive_int, is_coroutine_callable

if TYPE_CHECKING:
    from asyncz_like.executors.base import ExecutorScheduler
    from asyncz_like.tasks.task import Task

T = TypeVar("T")


class AsyncIOExecutor(BaseExecutor):
    """Coroutines run on the loop; a sync function runs in a worker thread so that it never
    blocks the loop (``max_workers`` threads, default: as many as asyncio's default).

    ``max_concurrent`` limits how many coroutines run at once (fires and submitted runs
    alike; default: no limit); the others wait their turn, submitted runs by priority.
    """

    reports_take_up = True

    def __init__(
        self, max_workers: int | None = None, max_concurrent: int | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self.max_workers = (
            None if max_workers is None else as_positive_int(max_workers, "max_workers")
        )
        self.max_concurrent = (
            None if max_concurrent is None else as_positive_int(max_concurrent, "max_concurrent")
        )
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        self._handoff: list[tuple[Task, list[datetime]]] = []  # from other threads, in order
        self._handoff_lock = threading.Lock()
        self._handoff_scheduled = False

    @property
    def pending_futures(self) -> set[asyncio.Future[Any]]:
        """The runs started here that have not ended (asyncz's name)."""
        return self._pending

    def start(self, scheduler: ExecutorScheduler, alias: str) -> None:
        super().start(scheduler, alias)
        self._loop = getattr(scheduler, "event_loop", None)
        if self._loop is None:
            raise TypeError("AsyncIOExecutor needs a scheduler with an event loop")
        self._threads = concurrent.futures.ThreadPoolExecutor(
            self.max_workers,
            thread_name_prefix=f"asyncz_like-{alias}",
            initializer=self._register_worker_thread,
        )
        if self.max_concurrent is not None:
            self._slots = asyncio.Semaphore(self.max_concurrent)

    def run_lane(self, coroutine: bool) -> tuple[str, int | None]:
        if coroutine:
            return "coroutines", self.max_concurrent
        return "threads", self.max_workers or min(32, (os.cpu_count() or 1) + 4)

    def do_send_task(self, task: Task, run_times: list[datetime]) -> None:
        loop = self._loop
        assert loop is not None and self._threads is not None, "executor not started"
        if loop.is_closed():
            raise RuntimeError("The scheduler's event loop is closed")
        if in_loop_thread(loop):
            self._submit(loop, task, run_times)
            return
        # From another thread (a pass over stores that do I/O): one wake-up of the loop for
        # the fires handed over meanwhile, not one each.
        with self._handoff_lock:
            self._handoff.append((task, run_times))
            if self._handoff_scheduled:
                return
            self._handoff_scheduled = True
        loop.call_soon_threadsafe(self._submit_handed_off, loop)

    def send_tasks(self, fires: Sequence[tuple[Task, list[datetime]]]) -> list[Exception | None]:
        """On the loop's own thread a slice is handed over at once: the instances are counted
        under one hold of the lock, then each fire starts."""
        loop = self._loop
        if loop is None or loop.is_closed() or not in_loop_thread(loop):
            return super().send_tasks(fires)
        outcomes, in_flight = self._take_instances([task for task, _ in fires])
        in_flight -= outcomes.count(None)  # each fire is counted with those before it
        for index, (task, run_times) in enumerate(fires):
            if outcomes[index] is not None:
                continue
            in_flight += 1
            try:
                self._submit(loop, task, run_times)
            except Exception as exc:
                self._release(task.id)
                outcomes[index] = exc
            except BaseException:  # as send_task; the fires not yet started give theirs back
                self._release(task.id)
                for later in range(index + 1, len(fires)):
                    if outcomes[later] is None:
                        self._release(fires[later][0].id)
                raise
            if run_times.__class__ is AheadRunTimes and run_times.waiting:
                self._take_up_at_once(task, run_times, in_flight)
        return outcomes

    def _submit_handed_off(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._handoff_lock:
            handed, self._handoff = self._handoff, []
            self._handoff_scheduled = False
        for index, (task, run_times) in enumerate(handed):
            try:
                self._submit(loop, task, run_times)
            except Exception as exc:  # as a failed hand-over: the instance is freed
                take_up(run_times)  # never will be: its release waits for nothing
                self.run_task_error(task.id, exc)
            except BaseException:  # as send_tasks: this fire and those not yet started
                for later, _ in handed[index:]:
                    self._release(later.id)
                raise

    def _submit(
        self, loop: asyncio.AbstractEventLoop, task: Task, run_times: list[datetime]
    ) -> None:
        context = self.run_context(task)
        assert task.fn is not None
        future: asyncio.Future[Any]
        if is_coroutine_callable(task.fn):
            if self._slots is None:
                if run_times.__class__ is not list:  # claimed ahead: its release waits for this
                    take_up(run_times)
                started = self._start_eagerly(loop, task, run_times, context)
                if started is None:
                    return
                future = started
            else:
                future = loop.create_task(self._limited(task, run_times, context))
        else:
            run = run_task if run_times.__class__ is list else _take_up_and_run
            future = loop.run_in_executor(self._threads, run, task, run_times, context)
        self._pending.add(future)
        future.add_done_callback(lambda done: self._finished(task.id, done))

    def _start_eagerly(
        self,
        loop: asyncio.AbstractEventLoop,
        task: Task,
        run_times: list[datetime],
        context: RunContext,
    ) -> asyncio.Task[Any] | None:
        """Run the first step now (see start_coroutine_task): a fire that never waits ends
        here, without a Task or a trip through the loop's queue. One that waits goes on in a
        Task, in the same context (None: ended)."""
        try:
            events, rest, awaited, fire_context = start_coroutine_task(task, run_times, context)
        except Exception as exc:  # the runner catches the work's errors: this is ours
            self.run_task_error(task.id, exc)
            return None
        # CancelledError, KeyboardInterrupt, SystemExit go up, as out of a Task; the caller
        # that handed the fire over gives its instance back (once: not also here).
        if rest is None:
            # The run ended: reported (its instance freed) at once, its events on the loop's
            # next turn, so that listeners hear of its end after the pass announced it submitted.
            self.run_task_success(task.id, ())
            if events:
                loop.call_soon(self.dispatch_events, events)
            return None
        return loop.create_task(_Resumed(rest, awaited), context=fire_context)

    async def _limited(self, task: Task, run_times: list[datetime], context: RunContext) -> Any:
        assert self._slots is not None
        async with self._slots:
            take_up(run_times)
            return await run_coroutine_task(task, run_times, context)

    def _finished(self, task_id: str, future: asyncio.Future[Any]) -> None:
        self._pending.discard(future)
        self.finish_future(task_id, future)

    async def wait_idle(self) -> None:
        """Wait until every run handed over so far has ended."""
        while self._pending:
            await asyncio.wait(list(self._pending))

    def shutdown(self, wait: bool = True) -> None:
        """With ``wait``, block until running work ends, except on the loop's own thread,
        where blocking would stop that work: there it goes on after shutdown returns
        (``NativeAsyncIOScheduler`` awaits it instead). Without, cancel what is pending."""
        loop = self._loop
        if not wait:
            for future in list(self._pending):
                if loop is not None and not loop.is_closed() and not in_loop_thread(loop):
                    loop.call_soon_threadsafe(future.cancel)
                else:
                    future.cancel()
        elif (
            loop is not None and self._pending and not loop.is_closed()
        ) and not self.in_worker_thread():  # a task shutting us down cannot wait for itself
            if not loop.is_running():
                loop.run_until_complete(self.wait_idle())
            elif not in_loop_thread(loop):
                asyncio.run_coroutine_threadsafe(self.wait_idle(), loop).result()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=not wait)


def _take_up_and_run(task: Task, run_times: list[datetime], context: RunContext) -> Any:
    """``run_task`` of a fire claimed ahead, in a worker thread: first, say it started."""
    take_up(run_times)
    return run_task(task, run_times, context)


_STARTED: Any = object()


class _Resumed(collections.abc.Coroutine[Any, Any, T]):
    """A coroutine whose first step already ran (eagerly), for a Task to drive on: the
    Task's first step gets what that step awaited; every later step, and a cancellation
    whenever it comes (even before the Task's first step), go to the coroutine itself."""

    __slots__ = ("_awaited", "_coroutine")

    def __init__(self, coroutine: Coroutine[Any, Any, T], awaited: Any) -> None:
        self._coroutine = coroutine
        self._awaited = awaited

    def send(self, value: Any) -> Any:
        awaited, self._awaited = self._awaited, _STARTED
        if awaited is not _STARTED:
            return awaited
        return self._coroutine.send(value)

    def throw(self, typ: Any, value: Any = None, traceback: Any = None) -> Any:
        self._awaited = _STARTED
        if value is None and traceback is None:
            return self._coroutine.throw(typ)
        return self._coroutine.throw(typ, value, traceback)  # pragma: no cover - old form

    def close(self) -> None:
        self._coroutine.close()

    def __await__(self) -> Generator[Any, Any, T]:
        return self._coroutine.__await__()  # pragma: no cover - a Task drives send/throw


def in_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether the caller runs on ``loop``'s own thread, inside the loop."""
    # None outside a loop, where get_running_loop() raises: no exception on the fire path
    return asyncio._get_running_loop() is loop  # noqa: SLF001  # asyncio's own low-level API


__all__ = ["AsyncIOExecutor"]
