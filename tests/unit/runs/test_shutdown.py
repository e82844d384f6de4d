"""Shutdown: wait=True lets running work finish and keeps pending work for the next start;
wait=False cancels running work."""

from __future__ import annotations

import asyncio
import threading

from asyncz_like.executors import ThreadPoolExecutor
from asyncz_like.runs import RunStatus, TaskPriority
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler
from tests.unit.runs.aio import until
from tests.unit.runs.helpers import HeldExecutor, cancellable_sleeper


def when_stopping(scheduler: ManualScheduler) -> threading.Event:
    """An event set once shutdown has dealt with the runs (before the executors stop)."""
    stopping = threading.Event()
    original = scheduler._stop_runs

    def spy(wait: bool) -> None:
        original(wait)
        stopping.set()

    scheduler._stop_runs = spy  # type: ignore[method-assign]
    return stopping


def test_wait_true_lets_a_running_thread_finish(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, executors={"default": ThreadPoolExecutor(max_workers=1)})
    stopping = when_stopping(scheduler)
    started = threading.Event()

    def work() -> str:
        started.set()
        stopping.wait(10)
        return "finished"

    scheduler.start()
    run = scheduler.submit(work)
    scheduler.process_tasks()
    assert started.wait(10)
    scheduler.shutdown(wait=True)
    assert run.status is RunStatus.COMPLETED and run.result == "finished"


def test_wait_false_cancels_a_running_thread(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, executors={"default": ThreadPoolExecutor(max_workers=1)})
    stopping = when_stopping(scheduler)
    started = threading.Event()

    def work() -> str:
        started.set()
        stopping.wait(10)
        return "dropped"

    scheduler.start()
    run = scheduler.submit(work)
    scheduler.process_tasks()
    assert started.wait(10)
    scheduler.shutdown(wait=False)
    assert run.status is RunStatus.CANCELLED and run.result is None


def test_wait_false_cancels_a_running_coroutine(clock: FakeClock) -> None:
    async def main() -> None:
        scheduler = manual_scheduler(clock)
        work, started, cancelled = cancellable_sleeper()

        scheduler.start()
        run = scheduler.submit(work)
        scheduler.process_tasks()
        await until(started.is_set)
        scheduler.shutdown(wait=False)
        assert run.status is RunStatus.CANCELLED
        await asyncio.wait_for(cancelled.wait(), 5)

    asyncio.run(main())


def test_pending_runs_wait_for_the_next_start(clock: FakeClock) -> None:
    executor = HeldExecutor(max_workers=1)
    scheduler = manual_scheduler(clock, executors={"default": executor})
    calls: list[str] = []
    scheduler.start()
    handed = scheduler.submit(calls.append, "handed over", priority=TaskPriority.HIGH)
    queued = scheduler.submit(calls.append, "queued")
    later = scheduler.submit(calls.append, "later", delay=60)
    scheduler.process_tasks()
    assert len(executor.held) == 1
    scheduler.shutdown(wait=True)
    executor.run_all()  # the executor runs what it was given: the stale hand-over does nothing
    assert calls == [] and handed.status is RunStatus.PENDING
    assert {run.status for run in (queued, later)} == {RunStatus.PENDING}
    scheduler.start()
    scheduler.process_tasks()
    executor.run_all()
    assert calls == ["handed over", "queued"]
    clock.advance(60)
    scheduler.process_tasks()
    executor.run_all()
    assert calls == ["handed over", "queued", "later"]
    scheduler.shutdown()
