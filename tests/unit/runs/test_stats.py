"""stats(): every figure against values computed by hand, on the fake clock."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.runs import RunStatus
from asyncz_like.runs.observers import EndedRuns
from tests.helpers import START, FakeClock, manual_scheduler
from tests.unit.runs.helpers import double

COMPLETED = RunStatus.COMPLETED


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


def test_fire_lateness_is_from_the_scheduled_time_to_the_start(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.add_task(double, "interval", seconds=1, args=[1], id="tick")
    scheduler.start()
    scheduler.submit(double, 2, delay=0.5)  # submitted work has no lateness of a fire
    for step in (1.5, 0.75, 1.0):  # fires due at 1, 2, 3 s start at 1.5, 2.25, 3.25 s
        clock.advance(step)
        scheduler.process_tasks()
    lateness = scheduler.stats().fire_lateness
    assert lateness.count == 3
    assert (lateness.p50, lateness.p99) == (0.25, 0.5)
    assert lateness.avg == pytest.approx(1 / 3)


def test_counted_fires_keep_their_lateness(clock: FakeClock) -> None:
    """Fires the history drops at once are only counted; their lateness is kept all the same,
    from POSIX stamps (the system clock) and from datetimes alike."""
    scheduler = manual_scheduler(clock, max_run_history=1)
    fires = scheduler._runs.fires
    assert fires is not None
    due = START.timestamp()
    for late in (0.5, 0.125, 2.0):
        fires.inbox.append(("f", None, START, due + late, due + late + 1, COMPLETED, None, None))
    begun = START + timedelta(seconds=4)
    fires.inbox.append(("f", None, START, begun, begun, COMPLETED, None, None))
    fires.compact()
    assert len(fires.inbox) == 1  # the newest is built when read: lateness 4 s
    lateness = scheduler.stats().fire_lateness
    assert lateness.count == 4 and (lateness.p50, lateness.p99) == (0.5, 4.0)


def test_stats_give_the_resident_memory(clock: FakeClock) -> None:
    rss = manual_scheduler(clock).stats().memory_rss
    assert rss is not None and 1_000_000 < rss < 100_000_000_000
    statm = Path("/proc/self/statm")
    if statm.exists():  # the figure is now's, not a peak
        pages = int(statm.read_text().split()[1])
        assert abs(rss - pages * os.sysconf("SC_PAGE_SIZE")) < 50_000_000


class Observed:
    def __init__(self) -> None:
        self.batches: list[EndedRuns] = []

    def runs_ended(self, ended: EndedRuns) -> None:
        self.batches.append(ended)

    def rows(self) -> list[tuple[Any, ...]]:
        return [
            row
            for batch in self.batches
            for row in zip(
                [batch.queue] * len(batch),
                batch.names,
                batch.statuses,
                batch.durations,
                batch.lateness,
                strict=True,
            )
        ]


def test_observers_hear_of_every_ended_run(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, max_run_history=1)
    observed = Observed()
    scheduler.add_run_observer(observed)
    scheduler.add_task(double, "interval", seconds=1, args=[1], id="tick", name="ticker")
    scheduler.start()
    scheduler.submit(double, 3)
    scheduler.process_tasks()
    for _ in range(3):
        clock.advance(1.25)
        scheduler.process_tasks()
    scheduler.stats()  # reading counts the fires in the inbox
    rows = observed.rows()
    assert rows[0] == (None, "double", COMPLETED, 0.0, None)  # the submitted run
    # two counted in one batch, the newest built (max_run_history=1) and told alone
    assert [list(batch.task_ids) for batch in observed.batches] == [[None], ["tick"] * 2, ["tick"]]
    assert sorted(rows[1:], key=lambda row: row[4]) == [  # fires at 1.25, 2.5, 3.75 s
        (None, "ticker", COMPLETED, 0.0, 0.25),
        (None, "ticker", COMPLETED, 0.0, 0.5),
        (None, "ticker", COMPLETED, 0.0, 0.75),
    ]
    scheduler.remove_run_observer(observed)
    with pytest.raises(KeyError):
        scheduler.remove_run_observer(observed)


def test_fires_built_by_a_drain_are_told_in_one_batch_with_end_times(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, max_run_history=100)
    observed = Observed()
    scheduler.add_run_observer(observed)
    for index in range(40):  # more than one slice of a drain
        scheduler.add_task(double, "interval", seconds=1, args=[1], id=f"t{index}")
    scheduler.start()
    clock.advance(1)
    scheduler.process_tasks()
    scheduler.flush_run_records()
    assert [len(batch) for batch in observed.batches] == [40]
    assert list(observed.batches[0].ended_at) == [clock.now().timestamp()] * 40
    assert len(scheduler.list_runs(limit=None)) == 40  # built, not only counted
    scheduler.submit(double, 3)
    scheduler.process_tasks()
    assert list(observed.batches[-1].task_ids) == [None]  # told at once, outside a drain
    assert list(observed.batches[-1].ended_at) == [clock.now().timestamp()]
