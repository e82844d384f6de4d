"""A fire claimed ahead stays claimed until its executor takes it up, not only until its run
time: a scheduler killed while the fire waits for a busy worker loses nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from asyncz_like.executors.base import BaseExecutor
from asyncz_like.executors.pool import ThreadPoolExecutor
from asyncz_like.stores.sqlalchemy import SQLAlchemyStore
from tests.helpers import START, FakeClock, ManualScheduler, manual_scheduler
from tests.store_hooks import drop_sql_table

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
    scheduler.process_tasks()  # its run time: the worker is still busy
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
