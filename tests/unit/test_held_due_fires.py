"""A fire claimed at its run time (``claim_ahead=0``, or found due late) from a store that does
I/O stays claimed while it waits for a worker, as one claimed ahead does: a scheduler killed
meanwhile loses nothing. One that a worker can start at once is released in its own pass."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from asyncz_like.events.constants import TASK_EXECUTED
from asyncz_like.executors import AsyncIOExecutor
from asyncz_like.executors.ahead import AheadRunTimes
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.executors.pool import ThreadPoolExecutor
from asyncz_like.schedulers import AsyncIOScheduler
from asyncz_like.schedulers.held_claims import TAKE_UP_RECHECK
from asyncz_like.stores.sqlalchemy import SQLAlchemyStore
from tests.helpers import START, FakeClock, ManualScheduler, manual_scheduler
from tests.store_hooks import drop_sql_table
from tests.unit.test_ahead_release import _task, arrive, hold
from tests.unit.test_processing import IOMemoryStore

UNBLOCK = threading.Event()
BLOCKING = threading.Event()
RAN = threading.Event()

#: When the fire of "t" is due: the worker is busy with "blocker" by then.
FIRE = START + timedelta(seconds=0.01)


def block() -> None:
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


@pytest.fixture
def scheduler(clock: FakeClock, store: SQLAlchemyStore) -> Iterator[ManualScheduler]:
    """Claims at the run time, over the SQLite store, with one worker thread."""
    scheduler = manual_scheduler(
        clock,
        claim_ahead=0,
        stores={"default": store},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
    )
    scheduler.start()
    yield scheduler
    UNBLOCK.set()
    scheduler.shutdown()


def _taken_over(tmp_path: Path, at: datetime) -> dict[str, datetime | None]:
    """What another scheduler on the same database claims at ``at``: (task id, run time)."""
    other = SQLAlchemyStore(database=f"sqlite:///{tmp_path / 'tasks.db'}", lease_seconds=5)
    watcher = manual_scheduler(FakeClock(at), stores={"default": other})
    watcher.start(paused=True)
    try:
        return {task.id: task.next_run_time for task in other.acquire_due_tasks(at, 10)}
    finally:
        watcher.shutdown(wait=False)


def _due_behind_a_busy_worker(clock: FakeClock, scheduler: ManualScheduler) -> float:
    """A pass at the blocker's run time (it takes the one worker), then one at the fire of
    "t": returns the seconds that pass asks to wait."""
    scheduler.add_task(block, "date", run_at=START, id="blocker")
    assert scheduler.process_tasks() == pytest.approx(0.01)
    assert BLOCKING.wait(timeout=10)
    clock.advance(0.01)
    wait = scheduler.process_tasks()  # "t" is due: claimed, handed over, queued
    assert not RAN.is_set()
    return wait


@pytest.mark.parametrize("trigger", ["interval", "date"])
def test_a_due_fire_waiting_for_a_worker_stays_claimed(
    clock: FakeClock,
    store: SQLAlchemyStore,
    scheduler: ManualScheduler,
    tmp_path: Path,
    trigger: str,
) -> None:
    """Not released (a date task not deleted) while it waits: another scheduler takes the
    fire over once the killed one's lease has ended."""
    if trigger == "interval":
        scheduler.add_task(run, "interval", seconds=1, id="t", next_run_time=FIRE)
    else:
        scheduler.add_task(run, "date", run_at=FIRE, id="t")
    # a pass looks again soon whether a worker took it up
    assert _due_behind_a_busy_worker(clock, scheduler) == pytest.approx(
        TAKE_UP_RECHECK.total_seconds()
    )
    clock.advance(TAKE_UP_RECHECK.total_seconds())
    scheduler.process_tasks()  # the worker is still busy: still held
    stored = store.lookup_task("t")
    assert stored is not None and stored.next_run_time == FIRE
    assert _taken_over(tmp_path, clock.now() + timedelta(seconds=6)) == {"t": FIRE}


@pytest.mark.parametrize("trigger", ["interval", "date"])
def test_a_due_fire_is_released_once_a_worker_takes_it_up(
    clock: FakeClock, store: SQLAlchemyStore, scheduler: ManualScheduler, trigger: str
) -> None:
    if trigger == "interval":
        scheduler.add_task(run, "interval", seconds=1, id="t", next_run_time=FIRE)
    else:
        scheduler.add_task(run, "date", run_at=FIRE, id="t")
    _due_behind_a_busy_worker(clock, scheduler)
    UNBLOCK.set()
    assert RAN.wait(timeout=10)
    clock.advance(TAKE_UP_RECHECK.total_seconds())
    scheduler.process_tasks()  # it has started: the release is written
    stored = store.lookup_task("t")
    if trigger == "interval":
        assert stored is not None and stored.next_run_time == FIRE + timedelta(seconds=1)
    else:
        assert stored is None


def test_a_due_fire_with_a_free_worker_is_released_in_its_own_pass(
    clock: FakeClock, store: SQLAlchemyStore
) -> None:
    """The common case costs no pass more: the fire is taken up at its hand-over."""
    scheduler = manual_scheduler(
        clock,
        claim_ahead=0,
        stores={"default": store},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
    )
    scheduler.start()
    try:
        scheduler.add_task(block, "date", run_at=START, id="blocker")
        scheduler.add_task(run, "interval", seconds=1, id="t", next_run_time=FIRE)
        scheduler.process_tasks()
        assert BLOCKING.wait(timeout=10)
        clock.advance(0.01)
        assert scheduler.process_tasks() == pytest.approx(1.0)  # no pass to look again
        stored = store.lookup_task("t")
        assert stored is not None and stored.next_run_time == FIRE + timedelta(seconds=1)
        assert RAN.wait(timeout=10)
    finally:
        UNBLOCK.set()
        scheduler.shutdown()


def test_a_due_fire_refused_for_max_instances_is_skipped_and_released(
    clock: FakeClock,
) -> None:
    """Refused by the executor's count, it is never taken up: it must not be held for a
    worker."""
    scheduler = manual_scheduler(
        clock,
        claim_ahead=0,
        stores={"default": IOMemoryStore()},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
    )
    scheduler.start()
    try:
        scheduler.add_task(block, "interval", seconds=1, id="slow", next_run_time=START)
        scheduler.process_tasks()
        assert BLOCKING.wait(timeout=10)
        clock.advance(1)
        assert scheduler.process_tasks() == pytest.approx(1.0)  # skipped: nothing held
        assert scheduler.get_task("slow").next_run_time == START + timedelta(seconds=2)
    finally:
        UNBLOCK.set()
        scheduler.shutdown()


def test_a_due_fire_refused_a_run_slot_past_its_wait_is_skipped_and_released(
    clock: FakeClock, store: SQLAlchemyStore, scheduler: ManualScheduler, tmp_path: Path
) -> None:
    """Found due later than a run slot's lease after its run time, with the slot taken (by
    another scheduler), the fire is skipped at once, never handed over: not held either."""
    fire = START + timedelta(seconds=10)
    scheduler.add_task(
        run, "interval", seconds=10, id="t", next_run_time=fire, mistrigger_grace_time=None
    )
    clock.advance(16)  # 6 s late: longer than the lease (5 s)
    other = SQLAlchemyStore(database=f"sqlite:///{tmp_path / 'tasks.db'}", lease_seconds=5)
    watcher = manual_scheduler(FakeClock(clock.now()), stores={"default": other})
    watcher.start(paused=True)
    try:
        task = other.lookup_task("t")
        assert task is not None and other.acquire_run_slot(task, clock.now())
        # skipped: nothing held, no pass to look again (a shared store polls every second)
        assert scheduler.process_tasks() == pytest.approx(1.0)
    finally:
        watcher.shutdown(wait=False)
    stored = store.lookup_task("t")
    assert stored is not None and stored.next_run_time == START + timedelta(seconds=20)
    assert not RAN.is_set()


def test_a_due_fire_handed_over_after_a_run_slot_wait_stays_claimed_behind_a_busy_worker(
    clock: FakeClock, store: SQLAlchemyStore, scheduler: ManualScheduler, tmp_path: Path
) -> None:
    """A due fire waits for a run slot (another scheduler's run holds it), gets it, and
    is handed over to an executor whose worker is busy: held until a worker takes it up."""
    scheduler.add_task(block, "date", run_at=START, id="blocker")
    scheduler.add_task(run, "interval", seconds=1, id="t", next_run_time=FIRE)
    scheduler.process_tasks()
    assert BLOCKING.wait(timeout=10)
    clock.advance(0.01)
    other = SQLAlchemyStore(database=f"sqlite:///{tmp_path / 'tasks.db'}", lease_seconds=5)
    watcher = manual_scheduler(FakeClock(clock.now()), stores={"default": other})
    watcher.start(paused=True)
    try:
        task = other.lookup_task("t")
        assert task is not None
        token = other.acquire_run_slot(task, clock.now())
        assert token
        assert scheduler.process_tasks() == pytest.approx(0.25)  # it waits for the slot
        other.release_run_slot("t", token)
    finally:
        watcher.shutdown(wait=False)
    clock.advance(0.25)
    # handed over now, and queued: a pass looks again soon whether a worker took it up
    assert scheduler.process_tasks() == pytest.approx(TAKE_UP_RECHECK.total_seconds())
    stored = store.lookup_task("t")
    assert stored is not None and stored.next_run_time == FIRE
    UNBLOCK.set()
    assert RAN.wait(timeout=10)
    clock.advance(TAKE_UP_RECHECK.total_seconds())
    scheduler.process_tasks()
    stored = store.lookup_task("t")
    assert stored is not None and stored.next_run_time == FIRE + timedelta(seconds=1)


def test_the_thread_pool_takes_up_at_hand_over_only_with_a_worker_free(
    clock: FakeClock, store: SQLAlchemyStore
) -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    scheduler = manual_scheduler(clock, stores={"default": store}, executors={"default": executor})
    scheduler.start()
    try:
        first, second = AheadRunTimes([START]), AheadRunTimes([START])
        executor.send_task(_task("blocker", block), first)
        assert first.taken_up()  # at once: no need to wait for the worker to wake
        assert BLOCKING.wait(timeout=10)
        executor.send_task(_task("t", run), second)
        assert not second.taken_up()  # queued behind the blocker
        UNBLOCK.set()
        assert RAN.wait(timeout=10)
        assert second.taken_up()  # the worker took it up
    finally:
        UNBLOCK.set()
        scheduler.shutdown()


def test_the_asyncio_executor_takes_up_at_hand_over_within_max_concurrent() -> None:
    """From another thread (a pass over a store that does I/O) the loop starts the fires
    later: one that has a turn free is marked at the hand-over already, before the loop
    ran anything."""

    async def scenario() -> tuple[bool, bool, bool]:
        from tests.unit import test_ahead_release

        test_ahead_release.GATE[:] = [asyncio.Event()]
        executor = AsyncIOExecutor(max_concurrent=1)
        scheduler = AsyncIOScheduler(clock=FakeClock(), timezone="UTC")
        scheduler.add_executor(executor, "default")
        scheduler.start()
        first, second = AheadRunTimes([START]), AheadRunTimes([START])
        fires = [(_task("busy", hold, "busy"), first), (_task("next", arrive, "next"), second)]
        at_hand_over: list[bool] = []

        def hand_over() -> None:
            executor.send_tasks(fires)
            at_hand_over.extend((first.taken_up(), second.taken_up()))

        thread = threading.Thread(target=hand_over)
        thread.start()
        thread.join()  # blocks the loop: nothing has started yet
        test_ahead_release.GATE[0].set()
        await asyncio.wait_for(executor.wait_idle(), 10)
        scheduler.shutdown()
        return (*at_hand_over, second.taken_up())

    busy, waiting, taken = asyncio.run(scenario())
    assert busy and not waiting and taken


def test_in_flight_counts_only_runs_counted_as_instances() -> None:
    """Runs ended that were never counted (a queue executor's) leave the count alone."""

    class Counting(BaseExecutor):
        def do_send_task(self, task, run_times):  # type: ignore[no-untyped-def]
            pass

    executor = Counting()
    executor.send_task(_task("a", run), [START])
    executor._release("never-counted")
    executor._release("a")
    assert executor.instances == {} and executor._in_flight == 0


def test_a_thread_still_reporting_a_run_is_not_a_free_worker(
    clock: FakeClock, store: SQLAlchemyStore
) -> None:
    """The run has ended (its instance is free) but its thread is busy with its listeners:
    a fire handed over meanwhile waits for that thread, so it is not taken up at once."""
    executor = ThreadPoolExecutor(max_workers=1)
    scheduler = manual_scheduler(clock, stores={"default": store}, executors={"default": executor})
    scheduler.start()
    listening = threading.Event()

    def listener(event: object) -> None:
        listening.set()
        UNBLOCK.wait(timeout=10)

    scheduler.add_listener(listener, TASK_EXECUTED)
    try:
        executor.send_task(_task("first", run), [START])
        assert listening.wait(timeout=10)
        assert executor.instances == {}  # the run counts as ended
        fire = AheadRunTimes([START])
        executor.send_task(_task("t", run), fire)
        assert not fire.taken_up()
        UNBLOCK.set()
        executor.shutdown(wait=True)
        assert fire.taken_up()
    finally:
        UNBLOCK.set()
        scheduler.shutdown()
