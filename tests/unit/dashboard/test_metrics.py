"""Per-minute figures from events, on a clock moved by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from asyncz_like.dashboard.metrics import MINUTES, MetricsCollector, percentile
from asyncz_like.events.base import RunEvent, TaskExecutionEvent, TaskSubmissionEvent
from asyncz_like.events.constants import (
    RUN_COMPLETED,
    RUN_FAILED,
    TASK_ERROR,
    TASK_EXECUTED,
    TASK_MISSED,
    TASK_SUBMITTED,
)
from asyncz_like.runs import Run, RunStatus
from tests.helpers import FakeClock


def finished(clock: FakeClock, seconds: float, task_id: str | None = None) -> Run:
    started = clock.now() - timedelta(seconds=seconds)
    return Run(
        "r",
        task_id=task_id,
        status=RunStatus.COMPLETED,
        started_at=started,
        finished_at=clock.now(),
    )


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0
    assert percentile([5.0], 0.99) == 5.0


def test_fires_lateness_errors_and_durations_per_minute(clock: FakeClock) -> None:
    collector = MetricsCollector(clock.now)
    late = [clock.now() - timedelta(seconds=s) for s in (0.5, 2.0)]
    collector.listen(TaskSubmissionEvent(TASK_SUBMITTED, task_id="a", scheduled_run_times=late))
    collector.listen(TaskExecutionEvent(TASK_EXECUTED, task_id="a"))
    collector.listen(TaskExecutionEvent(TASK_ERROR, task_id="b", exception=KeyError("k")))
    collector.listen(RunEvent(RUN_COMPLETED, run=finished(clock, 3.0)))
    collector.listen(RunEvent(RUN_FAILED, run=finished(clock, 1.0)))
    collector.listen(RunEvent(RUN_COMPLETED, run=finished(clock, 9.0, task_id="a")))  # a fire
    series = collector.series()
    assert len(series.fires) == MINUTES
    assert series.fires[-1] == 2 and series.runs[-1] == 3
    assert series.error_rate[-1] == pytest.approx(2 / 4)  # 2 fires, 2 submitted runs
    assert series.lateness_p50[-1] == 0.5 and series.lateness_p99[-1] == 2.0
    assert series.duration_p99[-1] == 9.0 and series.duration_p50[-1] == 3.0
    assert series.fires[:-1] == [None] * (MINUTES - 1)  # before the collector started
    assert series.error_rate[0] is None
    outcome = collector.outcome("b")
    assert outcome is not None and outcome.kind == "error" and outcome.detail == "KeyError: 'k'"
    collector.listen(TaskExecutionEvent(TASK_MISSED, task_id="b"))
    assert collector.outcome("b").kind == "missed"  # type: ignore[union-attr]


def test_minutes_older_than_an_hour_are_dropped(clock: FakeClock) -> None:
    collector = MetricsCollector(clock.now)
    collector.listen(TaskSubmissionEvent(TASK_SUBMITTED, scheduled_run_times=[clock.now()]))
    clock.advance(30 * 60)
    collector.listen(TaskSubmissionEvent(TASK_SUBMITTED, scheduled_run_times=[clock.now()]))
    assert collector.series().totals["fires"] == 2
    clock.advance(31 * 60)
    collector.listen(TaskSubmissionEvent(TASK_SUBMITTED, scheduled_run_times=[clock.now()]))
    series = collector.series()
    assert series.totals["fires"] == 2 and series.fires[-1] == 1
    assert None not in series.fires  # every minute shown came after the start
    assert len(collector._minutes) == 2  # the first minute is gone, not only hidden
