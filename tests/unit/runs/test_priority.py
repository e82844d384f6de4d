"""When work is due beyond the workers, the highest priority starts first, FIFO within."""

from __future__ import annotations

import random

from asyncz_like.events import RUN_STARTED
from asyncz_like.executors import AsyncIOExecutor, DebugExecutor, ThreadPoolExecutor
from asyncz_like.runs import RunStatus, TaskPriority
from tests.helpers import FakeClock, Recorder, manual_scheduler
from tests.unit.runs.helpers import HeldExecutor


def test_a_burst_of_1000_over_4_workers_starts_strictly_by_priority(clock: FakeClock) -> None:
    executor = HeldExecutor(max_workers=4)
    scheduler = manual_scheduler(clock, executors={"default": executor})
    started: list[int] = []
    scheduler.start()
    rng = random.Random(4)
    priorities = [rng.choice(list(TaskPriority)) for _ in range(1000)]
    runs = [scheduler.submit(started.append, i, priority=p) for i, p in enumerate(priorities)]
    assert all(run.status is RunStatus.PENDING for run in runs)
    scheduler.process_tasks()
    assert len(executor.held) == 4
    while executor.held:
        executor.run_next()  # each end hands the next run over
    expected = sorted(range(1000), key=lambda index: (-priorities[index], index))
    assert started == expected
    assert executor.most_held == 4
    assert all(run.status is RunStatus.COMPLETED for run in runs)


def test_a_higher_priority_submitted_later_overtakes_the_queue(clock: FakeClock) -> None:
    executor = HeldExecutor(max_workers=1)
    scheduler = manual_scheduler(clock, executors={"default": executor})
    events = Recorder()
    scheduler.add_listener(events.listener, RUN_STARTED)
    scheduler.start()
    first = scheduler.submit(print, priority=TaskPriority.LOW)
    scheduler.process_tasks()
    low = [scheduler.submit(print, priority=TaskPriority.LOW) for _ in range(3)]
    urgent = scheduler.submit(print, priority=TaskPriority.CRITICAL)
    executor.run_all()
    order = [event.run_id for event in events.events]
    assert order == [first.id, urgent.id, *(run.id for run in low)]


def test_a_run_due_later_joins_the_queue_at_its_priority(clock: FakeClock) -> None:
    executor = HeldExecutor(max_workers=1)
    scheduler = manual_scheduler(clock, executors={"default": executor})
    started: list[str] = []
    scheduler.start()
    scheduler.submit(started.append, "busy")
    scheduler.process_tasks()
    scheduler.submit(started.append, "normal")
    scheduler.submit(started.append, "high later", priority=TaskPriority.HIGH, delay=5)
    clock.advance(5)
    scheduler.process_tasks()
    executor.run_all()
    assert started == ["busy", "high later", "normal"]


def test_lanes_of_the_executors() -> None:
    assert ThreadPoolExecutor(max_workers=3).run_lane(False) == ("workers", 3)
    assert ThreadPoolExecutor(max_workers=3).run_lane(True) == ("workers", 3)
    assert DebugExecutor().run_lane(False) == ("workers", None)
    asyncio_executor = AsyncIOExecutor(max_workers=2, max_concurrent=5)
    assert asyncio_executor.run_lane(True) == ("coroutines", 5)
    assert asyncio_executor.run_lane(False) == ("threads", 2)
    assert AsyncIOExecutor().run_lane(True) == ("coroutines", None)


def test_stats_show_the_queue_and_the_workers(clock: FakeClock) -> None:
    executor = HeldExecutor(max_workers=2)
    scheduler = manual_scheduler(clock, executors={"default": executor})
    scheduler.start()
    for priority in (0, 0, 10, -10, 10, 0):
        scheduler.submit(print, priority=priority)
    scheduler.process_tasks()
    stats = scheduler.stats()
    assert list(stats.queued_by_priority.items()) == [(0, 3), (-10, 1)]  # the 10s started
    worker = stats.workers["default"]
    assert (worker.capacity, worker.busy, worker.idle) == (2, 2, 0)
