"""cancel_run(): pending work at once; running coroutines cancelled; threads marked and their
result dropped; processes terminated; finished or unknown runs are left alone."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading

from asyncz_like.events import RUN_CANCELLED
from asyncz_like.executors import ProcessPoolExecutor, ThreadPoolExecutor
from asyncz_like.runs import RunStatus
from tests.helpers import FakeClock, Recorder, manual_scheduler
from tests.unit.runs.aio import until
from tests.unit.runs.helpers import HeldExecutor, cancellable_sleeper, double, sleep_long


def test_pending_runs_are_cancelled_at_once_and_never_run(clock: FakeClock) -> None:
    executor = HeldExecutor(max_workers=1)
    scheduler = manual_scheduler(clock, executors={"default": executor})
    events = Recorder()
    scheduler.add_listener(events.listener, RUN_CANCELLED)
    scheduler.start()
    calls: list[str] = []
    busy = scheduler.submit(calls.append, "busy")
    queued = scheduler.submit(calls.append, "queued")
    later = scheduler.submit(calls.append, "later", delay=10)
    scheduler.process_tasks()
    assert scheduler.cancel_run(queued.id) and scheduler.cancel_run(later.id)
    assert queued.status is later.status is RunStatus.CANCELLED
    assert queued.finished_at is not None
    assert scheduler.stats().queued_by_priority == {}
    executor.run_all()
    clock.advance(10)
    scheduler.process_tasks()
    executor.run_all()
    assert calls == ["busy"] and busy.status is RunStatus.COMPLETED
    assert [event.run_id for event in events.events] == [queued.id, later.id]


def test_a_run_handed_over_but_not_started_does_not_start(clock: FakeClock) -> None:
    executor = HeldExecutor(max_workers=2)
    scheduler = manual_scheduler(clock, executors={"default": executor})
    scheduler.start()
    calls: list[int] = []
    run = scheduler.submit(calls.append, 1)
    scheduler.process_tasks()
    assert len(executor.held) == 1 and run.status is RunStatus.PENDING
    assert scheduler.cancel_run(run.id)
    executor.run_all()
    assert calls == [] and run.status is RunStatus.CANCELLED
    assert scheduler.stats().workers["default"].busy == 0


def test_finished_and_unknown_runs_are_not_cancelled(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    run = scheduler.submit(double, 1)
    scheduler.process_tasks()
    assert not scheduler.cancel_run(run.id) and run.status is RunStatus.COMPLETED
    assert not scheduler.cancel_run("no-such-run")


def test_a_running_coroutine_is_cancelled(clock: FakeClock) -> None:
    async def main() -> None:
        scheduler = manual_scheduler(clock)
        scheduler.start()
        forever, started, cancelled = cancellable_sleeper()

        run = scheduler.submit(forever)
        scheduler.process_tasks()
        await until(started.is_set)
        assert scheduler.cancel_run(run.id) and run.status is RunStatus.CANCELLED
        await asyncio.wait_for(cancelled.wait(), 5)
        scheduler.shutdown()

    asyncio.run(main())


def test_a_running_thread_is_marked_and_its_result_dropped(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, executors={"default": ThreadPoolExecutor(max_workers=1)})
    scheduler.start()
    started, release = threading.Event(), threading.Event()

    def work() -> str:
        started.set()
        release.wait(10)
        return "dropped"

    run = scheduler.submit(work)
    scheduler.process_tasks()
    assert started.wait(10)
    assert scheduler.cancel_run(run.id) and run.status is RunStatus.CANCELLED
    release.set()
    scheduler.shutdown(wait=True)
    assert run.status is RunStatus.CANCELLED and run.result is None


def test_a_running_process_is_terminated(clock: FakeClock) -> None:
    spawn = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=1, pool_kwargs={"mp_context": spawn})
    scheduler = manual_scheduler(clock, executors={"default": executor})
    scheduler.start()
    run = scheduler.submit(sleep_long)
    scheduler.process_tasks()
    attempt = scheduler._runs._submitted[run.id].handle
    assert attempt is not None
    assert scheduler.cancel_run(run.id) and run.status is RunStatus.CANCELLED
    attempt.join(30)
    assert attempt.process.exitcode is not None and attempt.process.exitcode < 0  # type: ignore[attr-defined]
    scheduler.shutdown()


def test_an_executor_that_gives_up_fails_the_run(clock: FakeClock) -> None:
    executor = HeldExecutor(max_workers=1)
    scheduler = manual_scheduler(clock, executors={"default": executor})
    scheduler.start()
    first = scheduler.submit(double, 1)
    second = scheduler.submit(double, 2)
    scheduler.process_tasks()
    task, _ = executor.held.popleft()
    executor.run_task_error(task.id, OSError("worker lost"))
    assert first.status is RunStatus.FAILED and first.error is not None
    assert first.error.type == "OSError"
    assert len(executor.held) == 1  # its worker went to the next run
    executor.run_all()
    assert second.result == 4
