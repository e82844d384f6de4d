"""The thread executor (worker threads of our own) and the process executor (concurrent.futures)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asyncz_like.executors.ahead import AheadRunTimes, take_up
from asyncz_like.executors.base import BaseExecutor, FutureLike
from asyncz_like.executors.runner import RunContext, run_coroutine_task, run_task
from asyncz_like.executors.workers import CANCELLED, Outcome, WorkerThreads
from asyncz_like.utils import as_positive_int, is_coroutine_callable

if TYPE_CHECKING:
    from asyncz_like.executors.base import ExecutorScheduler
    from asyncz_like.tasks.task import Task


def _run_in_worker(task: Task, run_times: list[datetime], context: RunContext) -> list[Any]:
    """Entry point inside a pool worker: coroutine functions get a loop of their own."""
    if run_times.__class__ is not list:  # claimed ahead: its release waits for this
        take_up(run_times)
    assert task.fn is not None
    if is_coroutine_callable(task.fn):
        return asyncio.run(run_coroutine_task(task, run_times, context))
    return run_task(task, run_times, context)


def _run_in_process(
    task: Task, run_times: list[datetime], context: RunContext
) -> tuple[list[Any], list[Any]]:
    """Entry point inside a worker process: the events, and the run records of the fires
    (when the scheduler keeps them) for the scheduler to replay."""
    events = _run_in_worker(task, run_times, context)
    return events, getattr(context.recorder, "records", [])


class BasePoolExecutor(BaseExecutor):
    """Runs each fire in one of ``max_workers`` threads or processes."""

    def __init__(self, max_workers: int = 10, **options: Any) -> None:
        super().__init__(**options)
        self.max_workers = as_positive_int(max_workers, "max_workers")

    def _waits_at_shutdown(self, wait: bool) -> bool:
        # a task shutting the scheduler down cannot wait for itself
        return wait and not self.in_worker_thread()


class ThreadPoolExecutor(BasePoolExecutor):
    """Runs tasks in a pool of threads (alias ``threadpool`` or ``pool``): ``max_workers``
    threads, started with the executor, fed by one queue (see :mod:`.workers`)."""

    reports_take_up = True

    def __init__(self, max_workers: int = 10, **options: Any) -> None:
        super().__init__(max_workers, **options)
        self._workers: WorkerThreads | None = None

    def start(self, scheduler: ExecutorScheduler, alias: str) -> None:
        super().start(scheduler, alias)
        self._workers = WorkerThreads(
            self.max_workers, f"asyncz_like-{alias}", self._register_worker_thread
        )

    def do_send_task(self, task: Task, run_times: list[datetime]) -> None:
        assert self._workers is not None, "executor not started"
        task_id = task.id

        def done(outcome: Outcome) -> None:
            succeeded, value = outcome
            if succeeded:
                self.run_task_success(task_id, value)
            elif value is CANCELLED:  # dropped at shutdown before it started
                self._release(task_id)
            else:
                self.run_task_error(task_id, value)

        self._workers.submit(_run_in_worker, (task, run_times, self.run_context(task)), done)

    def _take_up_at_once(self, task: Task, run_times: AheadRunTimes, in_flight: int) -> None:
        # A thread still reporting the end of a run (its listeners) is busy, though that run
        # may no longer count in ``in_flight``. Its flag was set before the run was counted
        # ended, and is read after: read clear, the thread is free.
        workers = self._workers
        reporting = 0 if workers is None else workers.reporting()
        super()._take_up_at_once(task, run_times, in_flight + reporting)

    def shutdown(self, wait: bool = True) -> None:
        if self._workers is not None:
            wait = self._waits_at_shutdown(wait)
            self._workers.shutdown(wait=wait, cancel=None if wait else _cancel)


def _cancel(done: Callable[[Outcome], None]) -> None:
    done((False, CANCELLED))


class ProcessPoolExecutor(BasePoolExecutor):
    """Runs tasks in worker processes (alias ``processpool``). Functions and arguments must
    be importable and picklable; events come back to this process."""

    reports_take_up = True

    def __init__(
        self, max_workers: int = 10, pool_kwargs: dict[str, Any] | None = None, **options: Any
    ) -> None:
        super().__init__(max_workers, **options)
        self.pool_kwargs = dict(pool_kwargs or {})
        self._pool: concurrent.futures.Executor | None = None

    def start(self, scheduler: ExecutorScheduler, alias: str) -> None:
        super().start(scheduler, alias)
        self._pool = self._create_pool()

    def _create_pool(self) -> concurrent.futures.Executor:
        return concurrent.futures.ProcessPoolExecutor(self.max_workers, **self.pool_kwargs)

    def do_send_task(self, task: Task, run_times: list[datetime]) -> None:
        assert self._pool is not None, "executor not started"
        future = self._pool.submit(_run_in_process, task, run_times, self.run_context(task))
        if run_times.__class__ is AheadRunTimes:  # taken up once it goes to the workers' queue
            run_times.future = future
        future.add_done_callback(lambda done: self._finished(task.id, done))

    def _finished(self, task_id: str, future: concurrent.futures.Future[Any]) -> None:
        if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
            self.logger.error("The process pool broke; starting a new one")
            self._pool = self._create_pool()
        self.finish_future(task_id, future)

    def shutdown(self, wait: bool = True) -> None:
        if self._pool is not None:
            wait = self._waits_at_shutdown(wait)
            self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def finish_future(self, task_id: str, future: FutureLike) -> None:
        """Replay the run records sent back with the events, then report as usual."""
        if future.cancelled() or future.exception() is not None:
            super().finish_future(task_id, future)
            return
        events, records = future.result()
        recorder = getattr(self.scheduler, "fire_recorder", None)
        if records and recorder is not None:
            recorder.replay(records)
        self.run_task_success(task_id, events)
