"""stats(): every figure against values computed by hand, on the fake clock."""

from __future__ import annotations

import pytest

from asyncz_like.runs import RunStatus
from tests.helpers import FakeClock, manual_scheduler
from tests.unit.runs.helpers import double


def test_figures_against_hand_computed_values(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()

    def takes(seconds: float) -> float:
        clock.advance(seconds)  # the run lasts this long on the scheduler's clock
        return seconds

    def fails_after(seconds: float) -> None:
        clock.advance(seconds)
        raise RuntimeError("no")

    def times_out_after(seconds: float) -> None:
        clock.advance(seconds)
        scheduler.process_tasks()  # the loop's pass sees the deadline passed

    for seconds in range(1, 11):
        scheduler.submit(takes, seconds)
    scheduler.submit(fails_after, 20)
    scheduler.submit(times_out_after, 30, timeout=5)
    scheduler.submit(takes, 1, delay=1000, priority=5)
    cancelled = scheduler.submit(takes, 1, delay=1000)
    scheduler.cancel_run(cancelled.id)
    scheduler.process_tasks()  # runs the twelve due ones inline, one after the other

    stats = scheduler.stats()
    # finished at 1, 3, 6, 10, 15, 21, 28, 36, 45, 55 s; failed at 75 s; timed out at 105 s
    assert stats.by_status == {
        "pending": 1,
        "running": 0,
        "retrying": 0,
        "completed": 10,
        "failed": 1,
        "cancelled": 1,
        "timeout": 1,
    }
    assert stats.queued_by_priority == {5: 1}
    assert stats.running == 0
    assert stats.uptime == 105.0
    # executed in the last 60 whole seconds (45, 105]: at 55, 75 and 105 s
    assert stats.runs_per_second == pytest.approx(3 / 60)
    # durations 1..10, 20, 30: mean 105/12; nearest rank p50 = 6th, p95 = p99 = 12th
    times = stats.execution_time
    assert times.count == 12
    assert times.avg == pytest.approx(105 / 12)
    assert (times.p50, times.p95, times.p99) == (6.0, 30.0, 30.0)
    assert stats.error_rate == pytest.approx(2 / 12)
    assert stats.workers["default"].capacity is None
    assert stats.workers["default"].idle is None

    clock.advance(60)
    later = scheduler.stats()
    assert later.runs_per_second == 0.0 and later.uptime == 165.0


def test_empty_stats(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    stats = scheduler.stats()
    assert stats.running == 0 and stats.uptime == 0.0 and stats.error_rate == 0.0
    assert stats.execution_time.count == 0 and stats.execution_time.p50 is None
    assert set(stats.by_status) == {status.value for status in RunStatus}


def test_fires_count_in_the_stats(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(double, "interval", seconds=1, args=[1], id="tick")
    for _ in range(3):
        clock.advance(1)
        scheduler.process_tasks()
    stats = scheduler.stats()
    assert stats.by_status["completed"] == 3 and stats.execution_time.count == 3
