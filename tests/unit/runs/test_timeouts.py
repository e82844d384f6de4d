"""Timeouts on the scheduler's clock: a coroutine is cancelled, a thread's result dropped,
a process terminated."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading

import pytest

from asyncz_like.events import RUN_TIMEOUT
from asyncz_like.executors import ProcessPoolExecutor, ThreadPoolExecutor
from asyncz_like.runs import RunStatus
from tests.helpers import FakeClock, Recorder, manual_scheduler
from tests.unit.runs.aio import until
from tests.unit.runs.helpers import cancellable_sleeper, double, sleep_long


def test_a_coroutine_is_cancelled_at_its_deadline(clock: FakeClock) -> None:
    async def main() -> None:
        scheduler = manual_scheduler(clock)
        events = Recorder()
        scheduler.add_listener(events.listener, RUN_TIMEOUT)
        scheduler.start()
        slow, started, cancelled = cancellable_sleeper()

        run = scheduler.submit(slow, timeout=5)
        scheduler.process_tasks()
        await until(started.is_set)
        assert run.status is RunStatus.RUNNING
        assert scheduler.process_tasks() == pytest.approx(5)  # the loop wakes at the deadline
        clock.advance(4.9)
        scheduler.process_tasks()
        assert run.status is RunStatus.RUNNING
        clock.advance(0.1)
        scheduler.process_tasks()
        assert run.status is RunStatus.TIMEOUT and run.result is None
        await asyncio.wait_for(cancelled.wait(), 5)
        assert [event.run_id for event in events.events] == [run.id]
        scheduler.shutdown()

    asyncio.run(main())


def test_a_thread_is_marked_timeout_and_its_result_dropped(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, executors={"default": ThreadPoolExecutor(max_workers=1)})
    scheduler.start()
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "too late"

    run = scheduler.submit(slow, timeout=5)
    scheduler.process_tasks()
    assert started.wait(10)
    clock.advance(5)
    scheduler.process_tasks()
    assert run.status is RunStatus.TIMEOUT
    waiting = scheduler.submit(double, 4)
    scheduler.process_tasks()
    assert waiting.status is RunStatus.PENDING  # the thread still holds the only worker
    assert scheduler.stats().workers["default"].busy == 1
    release.set()
    assert scheduler.wait_for_sync(waiting.id, timeout=10).result == 8
    assert run.status is RunStatus.TIMEOUT and run.result is None
    scheduler.shutdown()


def test_a_process_is_terminated_at_its_deadline(clock: FakeClock) -> None:
    spawn = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=1, pool_kwargs={"mp_context": spawn})
    scheduler = manual_scheduler(clock, executors={"proc": executor})
    scheduler.start()
    run = scheduler.submit(sleep_long, executor="proc", timeout=5)
    scheduler.process_tasks()
    assert run.status is RunStatus.RUNNING
    attempt = scheduler._runs._submitted[run.id].handle
    assert attempt is not None
    clock.advance(5)
    scheduler.process_tasks()
    assert run.status is RunStatus.TIMEOUT
    attempt.join(30)
    assert attempt.process.exitcode is not None and attempt.process.exitcode < 0  # type: ignore[attr-defined]
    assert scheduler.stats().workers["proc"].busy == 0
    assert run.status is RunStatus.TIMEOUT
    scheduler.shutdown()
