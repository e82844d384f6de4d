"""A fire claimed ahead stays claimed until its executor takes it up, not only until its run
time: a scheduler killed while the fire waits for a busy worker loses nothing."""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.executors import AsyncIOExecutor
from asyncz_like.executors.ahead import AheadRunTimes, take_up
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.executors.pool import ThreadPoolExecutor
from asyncz_like.schedulers import AsyncIOScheduler
from asyncz_like.schedulers.held_claims import TAKE_UP_RECHECK
from asyncz_like.stores.sqlalchemy import SQLAlchemyStore
from asyncz_like.tasks import Task
from asyncz_like.triggers import DateTrigger
from tests.helpers import START, FakeClock, ManualScheduler, Recorder, manual_scheduler
from tests.store_hooks import drop_sql_table
from tests.unit.test_processing import HoldingExecutor, RetakingStore, claiming_ahead

#: Set by the test to let the blocking task end; the blocking task sets BLOCKING once it runs.
UNBLOCK = threading.Event()
BLOCKING = threading.Event()
RAN = threading.Event()


def block() -> None:
    """Keeps the executor's one worker busy until the test lets it go."""
    BLOCKING.set()
    UNBLOCK.wait(timeout=10)


def run() -> None:
    RAN.set()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLAlchemyStore]:
    for event in (UNBLOCK, BLOCKING, RAN):
        event.clear()
    store = SQLAlchemyStore(database=f"sqlite:///{tmp_path / 'tasks.db'}", lease_seconds=5)
    yield store
    UNBLOCK.set()  # a failed test must not leave the worker blocked
    drop_sql_table(store)


def _scheduler(clock: FakeClock, store: SQLAlchemyStore, executor: BaseExecutor) -> ManualScheduler:
    scheduler = manual_scheduler(
        clock, claim_ahead=0.02, stores={"default": store}, executors={"default": executor}
    )
    scheduler.start()
    return scheduler


def _taken_over(tmp_path: Path, at: datetime) -> dict[str, datetime | None]:
    """What another scheduler on the same database claims at ``at``: (task id, run time)."""
    other = SQLAlchemyStore(database=f"sqlite:///{tmp_path / 'tasks.db'}", lease_seconds=5)
    watcher = manual_scheduler(FakeClock(at), stores={"default": other})
    watcher.start(paused=True)
    try:
        return {task.id: task.next_run_time for task in other.acquire_due_tasks(at, 10)}
    finally:
        watcher.shutdown(wait=False)


def _fire_waits_for_the_worker(clock: FakeClock, scheduler: ManualScheduler) -> datetime:
    """The fire of "t" claimed ahead, queued behind a run that keeps the executor's only
    worker busy, and a pass at its run time: returns that run time."""
    scheduler.add_task(block, "date", run_at=START, id="blocker")
    fire = START + timedelta(seconds=0.01)
    scheduler.add_task(run, "interval", seconds=1, id="t", next_run_time=fire)
    scheduler.process_tasks()  # the blocker runs; "t" is claimed ahead and queued
    assert BLOCKING.wait(timeout=10)
    clock.advance(0.01)
    # its run time, the worker still busy; next, the pass that claims its next fire ahead
    assert scheduler.process_tasks() == pytest.approx(0.98)
    assert not RAN.is_set()
    return fire


def test_a_fire_claimed_ahead_waiting_for_a_worker_stays_claimed(
    clock: FakeClock, store: SQLAlchemyStore, tmp_path: Path
) -> None:
    """Its release is not written while the fire waits for a worker, so a scheduler killed
    meanwhile leaves the fire to another scheduler once the lease ends."""
    scheduler = _scheduler(clock, store, ThreadPoolExecutor(max_workers=1))
    try:
        fire = _fire_waits_for_the_worker(clock, scheduler)
        clock.advance(0.98)  # that pass: the worker is still busy, a pass looks again soon
        assert scheduler.process_tasks() == pytest.approx(TAKE_UP_RECHECK.total_seconds())
        stored = store.lookup_task("t")
        assert stored is not None and stored.next_run_time == fire  # not released
        # killed now: another scheduler takes the fire over once the lease has ended
        assert _taken_over(tmp_path, clock.now() + timedelta(seconds=6)) == {"t": fire}
    finally:
        UNBLOCK.set()
        scheduler.shutdown()


def test_a_fire_claimed_ahead_is_released_once_a_worker_takes_it_up(
    clock: FakeClock, store: SQLAlchemyStore
) -> None:
    scheduler = _scheduler(clock, store, ThreadPoolExecutor(max_workers=1))
    try:
        fire = _fire_waits_for_the_worker(clock, scheduler)
        UNBLOCK.set()
        assert RAN.wait(timeout=10)
        scheduler.process_tasks()  # it has started: the release is written
        stored = store.lookup_task("t")
        assert stored is not None and stored.next_run_time == fire + timedelta(seconds=1)
    finally:
        UNBLOCK.set()
        scheduler.shutdown()


GATE: list[asyncio.Event] = []


async def hold(name: str) -> None:
    await GATE[0].wait()


async def arrive(name: str) -> None:
    pass


def _task(task_id: str, fn: Any, *args: Any) -> Task:
    task = Task(fn, DateTrigger(START), id=task_id, args=list(args), max_instances=1)
    task.coalesce, task.mistrigger_grace_time = True, None
    task.executor, task.store_alias = "default", "default"
    return task


def test_the_asyncio_executor_takes_a_coroutine_up_when_it_has_its_turn() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        GATE[:] = [asyncio.Event()]
        executor = AsyncIOExecutor(max_concurrent=1)
        scheduler = AsyncIOScheduler(clock=FakeClock(), timezone="UTC")
        scheduler.add_executor(executor, "default")
        scheduler.start()
        first, second = AheadRunTimes([START]), AheadRunTimes([START])
        executor.send_tasks(
            [(_task("busy", hold, "busy"), first), (_task("next", arrive, "next"), second)]
        )
        await asyncio.sleep(0)  # "busy" has the one turn; "next" waits for it
        busy, waiting = first.taken_up(), second.taken_up()
        GATE[0].set()
        await asyncio.wait_for(executor.wait_idle(), 10)
        scheduler.shutdown()
        return busy, waiting, second.taken_up()

    busy, waiting, taken = asyncio.run(scenario())
    assert busy and not waiting and taken


def test_the_asyncio_executor_takes_a_function_up_in_a_worker_thread() -> None:
    async def scenario() -> tuple[bool, bool]:
        executor = AsyncIOExecutor(max_workers=1)
        scheduler = AsyncIOScheduler(clock=FakeClock(), timezone="UTC")
        scheduler.add_executor(executor, "default")
        scheduler.start()
        blocker, fire = _task("blocker", block), _task("t", run)
        later = AheadRunTimes([START])
        executor.send_tasks([(blocker, [START]), (fire, later)])
        await asyncio.to_thread(BLOCKING.wait, 10)
        early = later.taken_up()  # the one thread is busy
        UNBLOCK.set()
        await asyncio.to_thread(RAN.wait, 10)
        scheduler.shutdown()
        await executor.wait_idle()
        return early, later.taken_up()

    for event in (UNBLOCK, BLOCKING, RAN):
        event.clear()
    try:
        early, taken = asyncio.run(scenario())
    finally:
        UNBLOCK.set()
    assert not early and taken


def test_a_process_pool_fire_is_taken_up_once_its_future_runs() -> None:
    """The process pool's future runs once the pool moved the fire to its workers' queue;
    a future cancelled before then never ran."""
    run_times = AheadRunTimes([START])
    assert not run_times.taken_up()
    run_times.future = Future()
    assert not run_times.taken_up()
    run_times.future.set_running_or_notify_cancel()
    assert run_times.taken_up()
    cancelled = AheadRunTimes([START])
    cancelled.future = Future()
    cancelled.future.cancel()
    assert not cancelled.taken_up()


def test_run_times_claimed_ahead_cross_to_a_worker_process_as_a_plain_list() -> None:
    run_times = AheadRunTimes([START])
    copied = pickle.loads(pickle.dumps(run_times))
    assert copied == [START] and copied.__class__ is list
    take_up(copied)  # nothing to do for a plain list
    take_up(run_times)
    assert run_times.taken_up()


class QueueingExecutor(HoldingExecutor):
    """Reports take-ups; keeps each fire queued until the test takes it up."""

    reports_take_up = True

    def __init__(self) -> None:
        super().__init__()
        self.queued: list[list[datetime]] = []

    def do_send_task(self, task, run_times):  # type: ignore[no-untyped-def]
        super().do_send_task(task, run_times)
        self.queued.append(run_times)

    def run_lane(self, coroutine: bool) -> tuple[str, int | None]:
        return "workers", 0  # no room to start a fire at its hand-over


def test_a_claim_handed_out_again_while_its_fire_waits_for_a_worker_is_no_warning(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    executor = QueueingExecutor()
    store = RetakingStore()
    scheduler = claiming_ahead(clock, executor, 0.02, store)
    scheduler.add_task(Recorder(), "interval", seconds=1, id="t",
                       next_run_time=START + timedelta(seconds=0.01))  # fmt: skip
    scheduler.process_tasks()
    clock.advance(1.0)  # past its run time and the claim of its next fire: still queued
    with caplog.at_level(logging.DEBUG, logger="asyncz_like.schedulers"):
        scheduler.process_tasks()  # the store hands the claim out again: not handed over
    assert executor.held == ["t"]
    assert [r.levelno for r in caplog.records if "handed over already" in r.message] == [
        logging.DEBUG
    ]
    assert store.get_next_run_time() is None  # still claimed
    take_up(executor.queued[0])  # a worker has it, and ends it
    executor.finish_all()
    clock.advance(0.1)
    scheduler.process_tasks()  # the release is written; the fire at 1.01 s is handed over
    assert executor.held == ["t"] and len(executor.queued) == 2
    stored = store.lookup_task("t")  # due when claimed, and queued: held as well
    assert stored is not None and stored.next_run_time == START + timedelta(seconds=1.01)
    take_up(executor.queued[1])
    clock.advance(0.1)
    scheduler.process_tasks()
    stored = store.lookup_task("t")
    assert stored is not None and stored.next_run_time == START + timedelta(seconds=2.01)


def test_an_executor_with_a_hand_over_of_its_own_reports_no_take_ups() -> None:
    """asyncz code subclasses the pools with a ``do_send_task`` of its own, which does not
    call ``take_up``: its fires count as taken up at the hand-over, as before."""

    class OwnHandOver(ThreadPoolExecutor):
        def do_send_task(self, task, run_times):  # type: ignore[no-untyped-def]
            pass

    class SaysSo(OwnHandOver):
        reports_take_up = True

        def do_send_task(self, task, run_times):  # type: ignore[no-untyped-def]
            take_up(run_times)

    assert ThreadPoolExecutor.reports_take_up and AsyncIOExecutor.reports_take_up
    assert not OwnHandOver.reports_take_up and SaysSo.reports_take_up
    assert not BaseExecutor.reports_take_up
