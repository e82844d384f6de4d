"""Schedulers that live on an asyncio event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Any

from asyncz_like.executors.asyncio import AsyncIOExecutor, in_loop_thread
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.schedulers.async_task_api import AsyncTaskMethods
from asyncz_like.schedulers.base import BaseScheduler
from asyncz_like.schedulers.shutdown_report import WaitReport
from asyncz_like.utils import is_coroutine_callable


class AsyncIOScheduler(BaseScheduler, AsyncTaskMethods):
    """Runs on an asyncio loop: the running one when started inside it, else ``event_loop``
    or a new loop that the application runs.

    Passes over stores that do I/O run in a worker thread, so that a slow database never
    stalls the loop; the memory store is processed on the loop in slices of ``batch_size``.
    From coroutines, use the ``*_async`` forms of the task API (``await
    scheduler.add_task_async(...)``): they keep the store I/O of the call off the loop too.
    """

    default_executor_alias = "asyncio"
    #: Most due tasks of a pass that runs on the loop (memory stores): a pass plus the first
    #: steps of the coroutines it starts hold the loop. Passes over stores that do I/O run in
    #: a worker thread and take ``batch_size``: fewer, larger round trips to the server.
    loop_slice = 128
    #: The loop's timers wake up to a millisecond late (the poll's resolution): a pass due in
    #: 20 ms or more is armed this many seconds early, and one that wakes before its time
    #: yields to the loop until then, so that fires start within a fraction of a millisecond.
    timer_slack = 0.001

    def _extra_options(self) -> frozenset[str]:
        return frozenset({"event_loop"})

    def _configure_extra(self, options: Mapping[str, Any]) -> None:
        self.event_loop: asyncio.AbstractEventLoop | None = options.get("event_loop")
        self._timer: asyncio.Handle | None = None
        self._timer_deadline: float | None = None
        self._armed_for: datetime | None = None  # the wall time the armed timer stands for
        self._io_thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._pass_running = False
        self._background: set[asyncio.Future[Any]] = set()
        self._owns_loop = False
        #: The thread running the loop the scheduler made, when started outside any loop.
        self.event_loop_thread: threading.Thread | None = None
        self._draining = False

    def create_default_executor(self) -> BaseExecutor:
        return AsyncIOExecutor()

    def _before_start(self) -> None:
        self._draining = False
        try:
            self.event_loop = asyncio.get_running_loop()
        except RuntimeError:
            if self.event_loop is None or self.event_loop.is_closed():
                self.event_loop = asyncio.new_event_loop()
                self._owns_loop = True

    def _start_loop(self) -> None:
        loop = self.event_loop
        if self._owns_loop and loop is not None and self.event_loop_thread is None:
            # Started outside any loop: the loop made for it runs in a thread of its own, so
            # that a sync program's scheduler works (as asyncz's does).
            self.event_loop_thread = threading.Thread(
                target=_run_own_loop, args=(loop,), name="asyncz_like-event-loop", daemon=True
            )
            self.event_loop_thread.start()
        self.wakeup()

    def _stop_loop(self) -> None:
        loop = self.event_loop
        if loop is not None and not loop.is_closed():
            self._call_in_loop(self._cancel_timer)
        if self._io_thread is not None:
            self._io_thread.shutdown(wait=False)
            self._io_thread = None

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_deadline = None
            self._armed_for = None

    def _call_in_loop(self, callback: Any) -> None:
        loop = self.event_loop
        assert loop is not None
        if in_loop_thread(loop):
            callback()
        else:
            loop.call_soon_threadsafe(callback)

    def wakeup(self) -> None:
        if self.event_loop is not None and not self.event_loop.is_closed():
            self._call_in_loop(lambda: self._schedule_pass(0.0))

    def wakeup_at(self, run_time: datetime) -> None:
        armed = self._armed_for
        if armed is not None and run_time >= armed:
            return  # a pass is due by then anyway: it reads the stores after this add
        if self.event_loop is None or self.event_loop.is_closed():
            return
        delay = max((run_time - self.clock.now()).total_seconds(), 0.0)
        self._call_in_loop(lambda: self._schedule_pass(delay, run_time))

    def _schedule_pass(self, delay: float, run_time: datetime | None = None) -> None:
        """Arm the timer for a pass in ``delay`` seconds unless one is armed earlier;
        ``run_time``: the moment that delay was computed for (by ``wakeup_at``)."""
        loop = self.event_loop
        if loop is None or not self.running or self._draining:
            return
        deadline = loop.time() + delay
        if self._timer_deadline is not None and self._timer_deadline <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_deadline = deadline
        # Only ahead of a wait of 20 slacks or more: the yielding costs CPU (at most 5%).
        slack = self.timer_slack if delay >= 20 * self.timer_slack else 0.0
        self._timer = loop.call_at(deadline - slack, self._run_pass)
        # The run time itself when given: now + delay is a little later, so that other adds
        # due at that same instant would each arm the timer again.
        if run_time is None:
            run_time = self.clock.now() + timedelta(seconds=delay)
        self._armed_for = run_time

    def _run_pass(self) -> None:
        loop, deadline = self.event_loop, self._timer_deadline
        if deadline is not None and loop is not None and loop.time() < deadline:
            self._timer = loop.call_soon(self._run_pass)  # early by the slack: yield till due
            return
        self._timer = None
        self._timer_deadline = None
        self._armed_for = None
        if self._pass_running or not self.running or self._draining:
            return
        if self.stores_do_io():
            self._pass_running = True
            future = asyncio.ensure_future(self._io_pass())
            self._background.add(future)
            future.add_done_callback(self._background.discard)
        else:
            try:
                wait = self.process_tasks(min(self.batch_size, self.loop_slice))
            except Exception:  # keep the loop's timer chain alive whatever a pass meets
                self.logger.exception("Error processing the stores; retrying")
                wait = self.failed_pass_wait
            self._after_pass(wait)

    async def _io_pass(self) -> None:
        loop = asyncio.get_running_loop()
        if self._io_thread is None:
            self._io_thread = concurrent.futures.ThreadPoolExecutor(1, "asyncz_like-store-io")
        try:
            wait = await loop.run_in_executor(self._io_thread, self.process_tasks)
        except Exception:
            self.logger.exception("Error processing the stores; retrying")
            wait = self.failed_pass_wait
        finally:
            self._pass_running = False
        self._after_pass(wait)

    def _after_pass(self, wait: float | None) -> None:
        if wait is not None:
            self._schedule_pass(wait)

    def _finish_coroutine(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        loop = self.event_loop
        if loop is None or loop.is_closed():
            coroutine.close()
            self.logger.error("An async shutdown task could not run: the event loop is closed")
        elif not loop.is_running():
            loop.run_until_complete(coroutine)
        elif in_loop_thread(loop):  # shutdown() called on the loop: it cannot wait here
            future = loop.create_task(coroutine)
            self._background.add(future)
            future.add_done_callback(self._background.discard)
        else:  # the loop runs in another thread: run it there and wait
            asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    async def shutdown_async(self, wait: bool = True) -> bool:
        """Shut down from inside the running loop, awaiting what the sync form cannot: with
        ``wait``, the running work; always, async shutdown tasks (in the order added)."""
        with self._lock:
            last = self._refs == 1
        if last and wait:
            self._draining = True  # no new fires while the running ones finish
            with WaitReport(self.logger, self.running_work):
                for executor in list(self._plugins.executors.values()):
                    if isinstance(executor, AsyncIOExecutor):
                        await executor.wait_idle()
        if not self._release():
            return False
        if self._run_side.brokers.worker is not None:  # its graceful stop: not on the loop
            await asyncio.to_thread(self._run_side.brokers.stop_worker, wait)
        if self.stores_do_io():  # reading the stores for shutdown tasks: not on the loop
            shutdown_tasks = await asyncio.to_thread(self._shutdown_tasks)
        else:
            shutdown_tasks = self._shutdown_tasks()
        for task in shutdown_tasks:
            if is_coroutine_callable(task.fn):  # type: ignore[arg-type]
                await self._run_async_shutdown_task(task)
            else:
                self._run_shutdown_task(task)
        self._stop_plugins(wait)
        return True

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown_async()

    def _stop_plugins(self, wait: bool) -> None:
        super()._stop_plugins(wait)
        loop, thread = self.event_loop, self.event_loop_thread
        if thread is not None and loop is not None:
            self.event_loop_thread = None
            loop.call_soon_threadsafe(loop.stop)  # the thread closes the loop once stopped
            if thread is not threading.current_thread():  # not a task shutting us down
                thread.join()
            self.event_loop = None
            self._owns_loop = False
        elif self._owns_loop and loop is not None and not loop.is_running():
            loop.close()  # a loop we made and nobody ran: ours to close
            self.event_loop = None
            self._owns_loop = False


def _run_own_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class NativeAsyncIOScheduler(AsyncIOScheduler):
    """An AsyncIOScheduler whose ``start`` and ``shutdown`` are awaited inside a running loop:
    ``await scheduler.start()``, ``await scheduler.shutdown()``. Shutdown waits for running
    work when ``wait`` is true and for async shutdown tasks."""

    async def start(self, paused: bool = False) -> bool:
        return bool(super().start(paused))

    async def shutdown(self, wait: bool = True) -> bool:
        return await self.shutdown_async(wait)
