"""The run history: bounded by count, finished runs expire after a TTL, on the scheduler clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from asyncz_like.runs import MemoryRunHistory, Run, RunHistory, RunStatus
from tests.helpers import START, FakeClock, manual_scheduler
from tests.unit.runs.helpers import HeldExecutor, double


def finished(run_id: str, seconds: float) -> Run:
    at = START + timedelta(seconds=seconds)
    return Run(run_id, status=RunStatus.COMPLETED, created_at=at, finished_at=at)


def test_memory_history_keeps_the_newest_finished_runs() -> None:
    history = MemoryRunHistory(max_run_history=3, run_result_ttl=None)
    active = Run("active", status=RunStatus.RUNNING)
    history.add(active)
    for index in range(5):
        run = finished(f"r{index}", index)
        history.add(run)
        history.finished(run)
    assert [run.id for run in history.list(None, None, None, START)] == [
        "r4",
        "r3",
        "r2",
        "active",
    ]
    assert history.get("r1", START) is None and len(history) == 4  # running ones stay


def test_memory_history_expires_finished_runs() -> None:
    history = MemoryRunHistory(max_run_history=10, run_result_ttl=60)
    for index in range(3):
        run = finished(f"r{index}", index * 30)  # finished at 0 s, 30 s, 60 s
        history.add(run)
        history.finished(run)
    now = START + timedelta(seconds=60)
    assert history.get("r0", now) is None  # expired: not returned even before a clean-up
    assert [run.id for run in history.list(None, None, None, now)] == ["r2", "r1"]
    assert history.cleanup(now) == 1 and len(history) == 2
    assert history.cleanup(now + timedelta(seconds=60)) == 2 and len(history) == 0


def test_zero_keeps_no_finished_run() -> None:
    history = MemoryRunHistory(max_run_history=0)
    run = finished("r", 0)
    history.add(run)
    history.finished(run)
    assert history.get("r", START) is None


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"max_run_history": -1}, ValueError),
        ({"max_run_history": 1.5}, TypeError),
        ({"run_result_ttl": -1}, ValueError),
        ({"run_result_ttl": "1h"}, TypeError),
    ],
)
def test_bad_limits(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        MemoryRunHistory(**options)


def test_the_scheduler_cleans_up_on_its_own_clock(clock: FakeClock) -> None:
    scheduler = manual_scheduler(
        clock, max_run_history=2, run_result_ttl=timedelta(minutes=5), run_cleanup_interval=60
    )
    assert isinstance(scheduler.run_history, MemoryRunHistory)
    assert isinstance(scheduler.run_history, RunHistory)
    scheduler.start()
    runs = [scheduler.submit(double, n) for n in range(3)]
    scheduler.process_tasks()
    assert scheduler.get_run(runs[0].id) is None  # beyond max_run_history
    assert [run.id for run in scheduler.list_runs()] == [runs[2].id, runs[1].id]
    clock.advance(299)
    scheduler.process_tasks()
    assert len(scheduler.run_history) == 2
    clock.advance(1)
    assert scheduler.get_run(runs[2].id) is None  # expired at once for readers
    scheduler.process_tasks()
    assert len(scheduler.run_history) == 2  # the last clean-up was at 299 s
    clock.advance(59)
    scheduler.process_tasks()  # the next one, run_cleanup_interval later, drops them
    assert len(scheduler.run_history) == 0


def test_list_runs_filters(clock: FakeClock) -> None:
    executor = HeldExecutor(max_workers=1)
    scheduler = manual_scheduler(clock, executors={"default": executor})
    scheduler.start()
    done = scheduler.submit(double, 1)
    scheduler.process_tasks()
    executor.run_all()
    pending = [scheduler.submit(double, n) for n in range(3)]
    scheduler.add_task(double, "interval", seconds=1, args=[5], id="tick", executor="default")
    assert scheduler.list_runs(status="completed") == [done]
    assert scheduler.list_runs(status=RunStatus.PENDING, limit=2) == pending[:0:-1]
    assert scheduler.list_runs(status=["pending", RunStatus.COMPLETED]) == [*pending[::-1], done]
    assert scheduler.list_runs(task_id="tick") == []
    with pytest.raises(ValueError, match="Unknown run status"):
        scheduler.list_runs(status="sleeping")
    with pytest.raises(ValueError, match="limit"):
        scheduler.list_runs(limit=0)


def test_a_custom_history_plugs_in(clock: FakeClock) -> None:
    class Recording(MemoryRunHistory):
        def __init__(self) -> None:
            super().__init__()
            self.changes: list[str] = []

        def changed(self, run: Run) -> None:
            self.changes.append(run.status.value)

    history = Recording()
    scheduler = manual_scheduler(clock, run_history=history)
    scheduler.start()
    scheduler.submit(double, 1)
    scheduler.process_tasks()
    assert history.changes == ["running"] and len(history) == 1
    with pytest.raises(TypeError, match="not both"):
        manual_scheduler(clock, run_history=history, max_run_history=3)
    with pytest.raises(TypeError, match="RunHistory"):
        manual_scheduler(clock, run_history=object())


def test_setup_again_keeps_the_runs(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    waiting = scheduler.submit(double, 1)
    scheduler.setup(timezone="UTC", clock=clock)
    assert scheduler.get_run(waiting.id) is waiting
    scheduler.setup(timezone="UTC", clock=clock, max_run_history=5)
    assert scheduler.get_run(waiting.id) is waiting  # moved into the new history
    scheduler.start()
    scheduler.process_tasks()
    assert waiting.status is RunStatus.COMPLETED and len(scheduler.run_history) == 1
