"""Per-minute figures of the last hour, from the batches of ended runs the scheduler tells.

The collector is a run observer (:class:`~asyncz_like.runs.observers.RunObserver`): the
scheduler tells it of its ended fires and runs in batches, off the fire's path, so that a
mounted dashboard does not make the scheduler record each fire as a live run. Each batch is
added to the minute each run ended in (a burst lands in one minute: counted with C-level
list methods, not a Python step per fire); percentiles are computed only when a page asks.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice, repeat
from typing import TYPE_CHECKING, Any, cast

from asyncz_like.events.base import RunEvent, TaskEvent, TaskExecutionEvent
from asyncz_like.events.constants import (
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_TIMEOUT,
    TASK_ERROR,
    TASK_MISSED,
)
from asyncz_like.runs.observers import EndedRuns
from asyncz_like.runs.status import RunStatus

if TYPE_CHECKING:
    from asyncz_like.schedulers.base import BaseScheduler

#: The scheduler events the collector listens to: rare ones (a fire's error, a missed fire).
EVENT_MASK = TASK_ERROR | TASK_MISSED
#: The events of the scheduler's embedded worker it listens to: runs from a broker that end.
WORKER_EVENT_MASK = RUN_COMPLETED | RUN_FAILED | RUN_TIMEOUT | RUN_CANCELLED
MINUTES = 60
#: Samples kept per minute for the percentiles (the latest ones).
MAX_SAMPLES = 2000
MAX_OUTCOMES = 10_000
_ERRORS = (RunStatus.FAILED, RunStatus.TIMEOUT)


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
    """Counts fires, ended runs and errors per minute and keeps samples of fire lateness
    and run duration, and each task's latest outcome. Thread-safe (the scheduler tells it
    from its threads). ``now`` is the scheduler's clock: the runs' end times come from it
    too. Hook it to a scheduler with :meth:`install`."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._first = _minute_key(now().timestamp())
        self._lock = threading.Lock()
        self._minutes: dict[int, Minute] = {}
        #: task id -> the status of its latest ended fire, and when it ended (POSIX)
        self._status: dict[str | None, RunStatus] = {}
        self._ended: dict[str | None, float] = {}
        #: task id -> (when, text) of its latest error, and when it was last missed
        self._errors: dict[str, tuple[float, str]] = {}
        self._missed: dict[str, float] = {}

    def install(self, scheduler: BaseScheduler) -> None:
        """Be told by ``scheduler``: a run observer, a listener of :data:`EVENT_MASK` and a
        listener of its embedded worker's :data:`WORKER_EVENT_MASK`."""
        scheduler.add_run_observer(self)
        scheduler.add_listener(self.task_event, EVENT_MASK)
        scheduler.add_worker_listener(self.run_event, WORKER_EVENT_MASK)

    def uninstall(self, scheduler: BaseScheduler) -> None:
        """Undo :meth:`install`."""
        scheduler.remove_run_observer(self)
        scheduler.remove_listener(self.task_event)
        scheduler.remove_worker_listener(self.run_event)

    # -- told by the scheduler ---------------------------------------------------------------

    def runs_ended(self, ended: EndedRuns) -> None:
        """A batch of ended runs (fires and submitted work of this process)."""
        statuses = ended.statuses
        if not statuses:
            return
        ends = ended.ended_at
        if len(ends) != len(statuses):  # a batch without end times: they end now
            ends = list(repeat(self._now().timestamp(), len(statuses)))
        with self._lock:
            first, last = _minute_key(min(ends)), _minute_key(max(ends))
            if first == last:  # the usual: a burst ends within one minute
                self._add(self._minute(first), ended)
            else:  # told late (nobody read the runs for a while): split by minute
                by_minute: dict[int, list[int]] = {}
                for index, end in enumerate(ends):
                    by_minute.setdefault(_minute_key(end), []).append(index)
                for key, indices in by_minute.items():
                    self._add(self._minute(key), _some(ended, indices))
            self._remember(ended.task_ids, statuses, ends)

    def task_event(self, event: TaskEvent) -> None:
        """A listener of TASK_ERROR (the error of a fire, for its outcome) and TASK_MISSED."""
        task_id = event.task_id
        if task_id is None:
            return
        now = self._now().timestamp()
        with self._lock:
            if len(self._missed) + len(self._errors) >= 2 * MAX_OUTCOMES:
                self._missed.clear()
                self._errors.clear()
            if event.code == TASK_MISSED:
                self._missed[task_id] = now
            elif isinstance(event, TaskExecutionEvent) and event.exception is not None:
                error = event.exception
                self._errors[task_id] = (now, f"{type(error).__name__}: {error}")

    def run_event(self, event: RunEvent) -> None:
        """A listener of the embedded worker's ending run events (runs from a broker)."""
        run = event.run
        if run is None or not run.finished:
            return
        end = run.finished_at or self._now()
        lateness = None
        if run.task_id is not None and run.started_at and run.scheduled_at is not None:
            lateness = (run.started_at - run.scheduled_at).total_seconds()
        one = EndedRuns(
            run.queue,
            [run.task_id],
            [run.name],
            [run.status],
            [run.duration],
            [lateness],
            [end.timestamp()],
        )
        self.runs_ended(one)

    def _minute(self, key: int) -> Minute:
        minute = self._minutes.get(key)
        if minute is None:
            minute = self._minutes[key] = Minute()
            newest = max(self._minutes)
            for old in [k for k in self._minutes if k <= newest - MINUTES]:
                del self._minutes[old]
        return minute

    def _add(self, minute: Minute, ended: EndedRuns) -> None:
        statuses = ended.statuses
        total = len(statuses)
        minute.runs += total
        minute.fires += total - ended.task_ids.count(None)
        cancelled = statuses.count(RunStatus.CANCELLED)
        minute.executed += total - cancelled
        minute.errors += statuses.count(RunStatus.FAILED) + statuses.count(RunStatus.TIMEOUT)
        _sample(minute.lateness, ended.lateness)
        _sample(minute.durations, ended.durations)

    def _remember(
        self, ids: Sequence[str | None], statuses: Sequence[RunStatus], ends: Sequence[float]
    ) -> None:
        """Each task's latest status (dict updates in C: a burst of thousands of fires)."""
        self._status.update(zip(ids, statuses, strict=True))
        self._ended.update(zip(ids, ends, strict=True))
        self._status.pop(None, None)
        self._ended.pop(None, None)
        excess = len(self._status) - MAX_OUTCOMES
        if excess > 0:  # the tasks seen first go first
            for task_id in list(islice(self._status, excess)):
                del self._status[task_id], self._ended[task_id]

    # -- read by the pages -------------------------------------------------------------------

    def outcome(self, task_id: str) -> Outcome | None:
        """How the latest fire of ``task_id`` ended (None: none seen)."""
        with self._lock:
            status, ended = self._status.get(task_id), self._ended.get(task_id)
            missed, error = self._missed.get(task_id), self._errors.get(task_id)
        if missed is not None and (ended is None or missed >= ended):
            return Outcome("missed", _datetime(missed))
        if status is None or ended is None:
            return None
        if status not in _ERRORS:
            return Outcome("ok", _datetime(ended))
        detail = error[1] if error is not None else f"the run ended {status.value}"
        return Outcome("error", _datetime(ended), detail)

    def series(self) -> Series:
        """The last hour, one entry per minute, the current minute last."""
        last = _minute_key(self._now().timestamp())
        with self._lock:
            minutes = [
                _copy(self._minutes.get(key)) if key >= self._first else None
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


def _copy(minute: Minute | None) -> Minute:
    """A minute to read outside the lock (its samples are appended to meanwhile)."""
    if minute is None:
        return Minute()
    return Minute(
        minute.fires,
        minute.runs,
        minute.errors,
        minute.executed,
        list(minute.lateness),
        list(minute.durations),
    )


def _some(ended: EndedRuns, indices: list[int]) -> EndedRuns:
    """The runs at ``indices`` of a batch, as a batch of their own."""

    def column(values: Sequence[Any]) -> list[Any]:
        return [values[index] for index in indices] if values else []

    return EndedRuns(
        ended.queue,
        column(ended.task_ids),
        column(ended.names),
        column(ended.statuses),
        column(ended.durations),
        column(ended.lateness),
        column(ended.ended_at),
    )


def _minute_key(posix: float) -> int:
    return math.floor(posix / 60)


def _datetime(posix: float) -> datetime:
    return datetime.fromtimestamp(posix, UTC)


def _sample(samples: list[float], values: Sequence[float | None]) -> None:
    """Add the known ``values``, keeping the latest MAX_SAMPLES."""
    if None in values:
        samples.extend([value for value in values if value is not None])
    else:
        samples.extend(cast(Sequence[float], values))
    if len(samples) > MAX_SAMPLES:
        del samples[: len(samples) - MAX_SAMPLES]


__all__ = [
    "EVENT_MASK",
    "WORKER_EVENT_MASK",
    "MetricsCollector",
    "Outcome",
    "Series",
    "percentile",
]
