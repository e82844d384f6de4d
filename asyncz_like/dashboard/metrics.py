"""Per-minute figures of the last hour, collected from the scheduler's events."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asyncz_like.events.base import RunEvent, TaskExecutionEvent, TaskSubmissionEvent
from asyncz_like.events.constants import (
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_TIMEOUT,
    TASK_ERROR,
    TASK_EXECUTED,
    TASK_MISSED,
    TASK_SUBMITTED,
)

#: The events the collector listens to.
EVENT_MASK = (
    TASK_SUBMITTED | TASK_EXECUTED | TASK_ERROR | TASK_MISSED
    | RUN_COMPLETED | RUN_FAILED | RUN_TIMEOUT | RUN_CANCELLED
)  # fmt: skip
MINUTES = 60
#: Samples kept per minute for the percentiles (the latest ones).
MAX_SAMPLES = 2000
_MAX_OUTCOMES = 10_000


@dataclass(slots=True)
class Minute:
    """What happened in one minute."""

    fires: int = 0
    runs: int = 0
    errors: int = 0
    executed: int = 0
    lateness: list[float] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a task's latest fire ended: ``ok``, ``error`` or ``missed``."""

    kind: str
    at: datetime
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Series:
    """One value per minute of the last hour, oldest first (None: nothing to measure, or a
    minute before the collector started)."""

    fires: list[float | None]
    runs: list[float | None]
    error_rate: list[float | None]
    lateness_p50: list[float | None]
    lateness_p99: list[float | None]
    duration_p50: list[float | None]
    duration_p99: list[float | None]
    totals: dict[str, float | None]


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


class MetricsCollector:
    """A listener (``listen``) that counts fires, finished runs and errors per minute and
    keeps samples of fire lateness and run duration. Thread-safe: events come from the
    scheduler's threads. ``now`` is the scheduler's clock."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._first = _minute_key(now())
        self._lock = threading.Lock()
        self._minutes: dict[int, Minute] = {}
        self.outcomes: dict[str, Outcome] = {}

    def listen(self, event: Any) -> None:
        now = self._now()
        with self._lock:
            minute = self._minute(now)
            if isinstance(event, TaskSubmissionEvent):
                self._fired(minute, event, now)
            elif isinstance(event, TaskExecutionEvent):
                self._executed(minute, event, now)
            elif isinstance(event, RunEvent) and event.run is not None:
                self._finished(minute, event)

    def _minute(self, now: datetime) -> Minute:
        key = _minute_key(now)
        minute = self._minutes.get(key)
        if minute is None:
            minute = self._minutes[key] = Minute()
            for old in [k for k in self._minutes if k <= key - MINUTES]:
                del self._minutes[old]
        return minute

    def _fired(self, minute: Minute, event: TaskSubmissionEvent, now: datetime) -> None:
        for run_time in event.scheduled_run_times:
            minute.fires += 1
            _sample(minute.lateness, max((now - run_time).total_seconds(), 0.0))

    def _executed(self, minute: Minute, event: TaskExecutionEvent, now: datetime) -> None:
        if event.task_id is None:
            return
        if event.code == TASK_MISSED:
            outcome = Outcome("missed", now)
        else:
            minute.executed += 1
            if event.code == TASK_ERROR:
                minute.errors += 1
                error = event.exception
                detail = f"{type(error).__name__}: {error}" if error is not None else ""
                outcome = Outcome("error", now, detail)
            else:
                outcome = Outcome("ok", now)
        if len(self.outcomes) < _MAX_OUTCOMES or event.task_id in self.outcomes:
            self.outcomes[event.task_id] = outcome

    def _finished(self, minute: Minute, event: RunEvent) -> None:
        run = event.run
        assert run is not None
        minute.runs += 1
        if run.duration is not None:
            _sample(minute.durations, run.duration)
        if run.task_id is None and event.code != RUN_CANCELLED:  # a fire counts as executed
            minute.executed += 1
            minute.errors += event.code in (RUN_FAILED, RUN_TIMEOUT)

    def outcome(self, task_id: str) -> Outcome | None:
        return self.outcomes.get(task_id)

    def series(self) -> Series:
        """The last hour, one entry per minute, the current minute last."""
        last = _minute_key(self._now())
        with self._lock:
            minutes = [
                self._minutes.get(key, Minute()) if key >= self._first else None
                for key in range(last - MINUTES + 1, last + 1)
            ]
            return _series(minutes, [m for m in minutes if m is not None])


def _series(minutes: list[Minute | None], known: list[Minute]) -> Series:
    """``minutes`` (None: before the collector started) as series; totals over ``known``."""

    def each(figure: Callable[[Minute], float | None]) -> list[float | None]:
        return [figure(m) if m is not None else None for m in minutes]

    lateness = [value for m in known for value in m.lateness]
    durations = [value for m in known for value in m.durations]
    executed = sum(m.executed for m in known)
    return Series(
        fires=each(lambda m: float(m.fires)),
        runs=each(lambda m: float(m.runs)),
        error_rate=each(lambda m: m.errors / m.executed if m.executed else None),
        lateness_p50=each(lambda m: percentile(m.lateness, 0.5)),
        lateness_p99=each(lambda m: percentile(m.lateness, 0.99)),
        duration_p50=each(lambda m: percentile(m.durations, 0.5)),
        duration_p99=each(lambda m: percentile(m.durations, 0.99)),
        totals={
            "fires": float(sum(m.fires for m in known)),
            "runs": float(sum(m.runs for m in known)),
            "error_rate": sum(m.errors for m in known) / executed if executed else None,
            "lateness_p50": percentile(lateness, 0.5),
            "lateness_p99": percentile(lateness, 0.99),
            "duration_p50": percentile(durations, 0.5),
            "duration_p99": percentile(durations, 0.99),
        },
    )


def _minute_key(now: datetime) -> int:
    return math.floor(now.timestamp() / 60)


def _sample(samples: list[float], value: float) -> None:
    if len(samples) >= MAX_SAMPLES:
        del samples[0]
    samples.append(value)


__all__ = ["EVENT_MASK", "MetricsCollector", "Outcome", "Series", "percentile"]
