"""Per-minute figures from batches of ended runs, on a clock moved by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from asyncz_like.dashboard.metrics import MAX_SAMPLES, MINUTES, MetricsCollector, percentile
from asyncz_like.events.base import RunEvent, TaskExecutionEvent
from asyncz_like.events.constants import RUN_COMPLETED, RUN_FAILED, TASK_ERROR, TASK_MISSED
from asyncz_like.runs import Run, RunStatus
from asyncz_like.runs.observers import EndedRuns
from tests.helpers import FakeClock, manual_scheduler

OK, FAILED, TIMEOUT = RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.TIMEOUT


def batch(clock: FakeClock, *runs: tuple[str | None, RunStatus, float, float | None]) -> EndedRuns:
    """Runs ``(task_id, status, duration, lateness)`` that ended now."""
    now = clock.now().timestamp()
    return EndedRuns(
        None,
        [run[0] for run in runs],
        [None] * len(runs),
        [run[1] for run in runs],
        [run[2] for run in runs],
        [run[3] for run in runs],
        [now] * len(runs),
    )


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0
    assert percentile([5.0], 0.99) == 5.0


def test_fires_lateness_errors_and_durations_per_minute(clock: FakeClock) -> None:
    collector = MetricsCollector(clock.now)
    collector.runs_ended(
        batch(clock, ("a", OK, 9.0, 0.5), ("b", FAILED, 0.1, 2.0), (None, OK, 3.0, None))
    )
    collector.runs_ended(batch(clock, (None, TIMEOUT, 1.0, None)))
    series = collector.series()
    assert len(series.fires) == MINUTES
    assert series.fires[-1] == 2 and series.runs[-1] == 4
    assert series.error_rate[-1] == pytest.approx(2 / 4)  # b's fire and the timed-out run
    assert series.lateness_p50[-1] == 0.5 and series.lateness_p99[-1] == 2.0
    assert series.duration_p99[-1] == 9.0 and series.duration_p50[-1] == 1.0
    assert series.fires[:-1] == [None] * (MINUTES - 1)  # before the collector started
    assert series.totals["fires"] == 2 and series.totals["error_rate"] == pytest.approx(0.5)


def test_a_batch_counts_in_the_minutes_its_runs_ended(clock: FakeClock) -> None:
    collector = MetricsCollector(clock.now)
    earlier = batch(clock, ("a", OK, 1.0, 0.0))
    clock.advance(120)  # told two minutes late (nobody read the runs meanwhile)
    later = batch(clock, ("a", OK, 2.0, 0.0), ("b", OK, 3.0, 0.0))
    mixed = EndedRuns(
        None, [*earlier.task_ids, *later.task_ids], [None] * 3,
        [*earlier.statuses, *later.statuses], [*earlier.durations, *later.durations],
        [*earlier.lateness, *later.lateness], [*earlier.ended_at, *later.ended_at],
    )  # fmt: skip
    collector.runs_ended(mixed)
    series = collector.series()
    assert series.fires[-3:] == [1.0, 0.0, 2.0]
    assert series.duration_p99[-3] == 1.0 and series.duration_p99[-1] == 3.0


def test_a_batch_without_end_times_counts_now(clock: FakeClock) -> None:
    collector = MetricsCollector(clock.now)
    clock.advance(60)
    collector.runs_ended(EndedRuns(None, ["a"], [None], [OK], [1.0], [0.0]))
    assert collector.series().fires[-2:] == [0.0, 1.0]


def test_outcome_of_a_task_error_detail_and_missed_fires(clock: FakeClock) -> None:
    collector = MetricsCollector(clock.now)
    assert collector.outcome("b") is None
    collector.task_event(TaskExecutionEvent(TASK_ERROR, task_id="b", exception=KeyError("k")))
    collector.runs_ended(batch(clock, ("a", OK, 1.0, 0.0), ("b", FAILED, 1.0, 0.0)))
    outcome = collector.outcome("b")
    assert outcome is not None and outcome.kind == "error" and outcome.detail == "KeyError: 'k'"
    assert outcome.at == clock.now()
    assert collector.outcome("a").kind == "ok"  # type: ignore[union-attr]
    clock.advance(5)
    collector.task_event(TaskExecutionEvent(TASK_MISSED, task_id="b"))
    assert collector.outcome("b").kind == "missed"  # type: ignore[union-attr]
    clock.advance(5)
    collector.runs_ended(batch(clock, ("b", TIMEOUT, 1.0, 0.0)))  # a later fire timed out
    outcome = collector.outcome("b")
    assert outcome is not None and outcome.kind == "error" and outcome.at == clock.now()


def test_samples_are_capped_to_the_latest(clock: FakeClock) -> None:
    collector = MetricsCollector(clock.now)
    collector.runs_ended(batch(clock, (None, OK, 100.0, None)))
    collector.runs_ended(batch(clock, *[(None, OK, 1.0, None)] * MAX_SAMPLES))
    series = collector.series()
    assert series.runs[-1] == MAX_SAMPLES + 1  # every run counted
    assert series.duration_p99[-1] == 1.0  # the oldest sample (100 s) was dropped
    assert series.lateness_p50[-1] is None  # submitted work has no lateness


def test_minutes_older_than_an_hour_are_dropped(clock: FakeClock) -> None:
    collector = MetricsCollector(clock.now)
    collector.runs_ended(batch(clock, ("a", OK, 1.0, 0.0)))
    clock.advance(30 * 60)
    collector.runs_ended(batch(clock, ("a", OK, 1.0, 0.0)))
    assert collector.series().totals["fires"] == 2
    clock.advance(31 * 60)
    collector.runs_ended(batch(clock, ("a", OK, 1.0, 0.0)))
    series = collector.series()
    assert series.totals["fires"] == 2 and series.fires[-1] == 1
    assert None not in series.fires  # every minute shown came after the start
    assert len(collector._minutes) == 2  # the first minute is gone, not only hidden


def test_worker_run_events_count_as_ended_runs(clock: FakeClock) -> None:
    collector = MetricsCollector(clock.now)
    started = clock.now() - timedelta(seconds=4)
    fire = Run("f", task_id="t", status=RunStatus.FAILED, scheduled_at=started,
               started_at=started + timedelta(seconds=1), finished_at=clock.now())  # fmt: skip
    collector.run_event(RunEvent(RUN_FAILED, run=fire))
    collector.run_event(RunEvent(RUN_COMPLETED, run=Run("w", status=RunStatus.RUNNING)))
    series = collector.series()
    assert series.fires[-1] == 1 and series.runs[-1] == 1 and series.error_rate[-1] == 1.0
    assert series.lateness_p50[-1] == 1.0 and series.duration_p50[-1] == 3.0
    assert collector.outcome("t").detail == "the run ended failed"  # type: ignore[union-attr]


def crash() -> None:
    raise ZeroDivisionError("no rows")


def test_installed_it_hears_fires_in_batches_not_as_live_runs(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    collector = MetricsCollector(clock.now)
    collector.install(scheduler)
    assert not scheduler.wants_event(RUN_COMPLETED)  # fires stay cheap tuples
    scheduler.add_task(crash, "interval", seconds=10, id="flaky")
    scheduler.add_task(lambda: None, "interval", seconds=10, id="fine")
    clock.advance(10)
    scheduler.process_tasks()
    assert collector.series().fires[-1] == 0  # not told yet: nobody read the runs
    scheduler.flush_run_records()
    series = collector.series()
    assert series.fires[-1] == 2 and series.error_rate[-1] == 0.5
    outcome = collector.outcome("flaky")
    assert outcome is not None and outcome.detail == "ZeroDivisionError: no rows"
    collector.uninstall(scheduler)
    clock.advance(10)
    scheduler.process_tasks()
    scheduler.flush_run_records()
    assert collector.series().fires[-1] == 2
    scheduler.shutdown()
