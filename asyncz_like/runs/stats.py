"""Run statistics, kept up to date as runs move, so that reading them is cheap."""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from asyncz_like.runs.observers import EndedRuns, RunObserver
from asyncz_like.runs.status import RunStatus

if TYPE_CHECKING:
    from asyncz_like.runs.run import Run

#: Statuses whose runs count as executed (for throughput, execution times and error rate).
EXECUTED = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.TIMEOUT)
RATE_WINDOW = 60  # seconds
_ONE_SECOND = timedelta(seconds=1)
#: An ended run for the observers: queue, task id, name, status, duration, lateness, end.
_Row = tuple[str | None, str | None, str | None, RunStatus, float | None, float | None, float]


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """A lane of an executor: how many background runs it may run at once, and holds now."""

    capacity: int | None
    busy: int

    @property
    def idle(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.busy, 0)


@dataclass(frozen=True, slots=True)
class WorkerCounts:
    """The workers a broker knows: ``alive`` and ``gone`` ones (see
    :meth:`~asyncz_like.brokers.base.BaseBroker.list_workers`), and the runs the alive ones
    held (``busy``) of their ``slots`` (their concurrency, summed) at their last heartbeat."""

    alive: int = 0
    gone: int = 0
    busy: int = 0
    slots: int = 0


@dataclass(frozen=True, slots=True)
class ExecutionTimes:
    """Seconds, over the latest runs (nearest-rank percentiles); None without runs. Used for
    execution times (executed runs) and fire lateness (fires started)."""

    count: int = 0
    avg: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


@dataclass(frozen=True, slots=True)
class RunStats:
    """A snapshot of the run figures; see :meth:`RunAPI.stats`."""

    by_status: Mapping[str, int]
    queued_by_priority: Mapping[int, int]
    running: int
    workers: Mapping[str, WorkerStats]
    runs_per_second: float
    execution_time: ExecutionTimes = field(default_factory=ExecutionTimes)
    error_rate: float = 0.0
    uptime: float = 0.0
    #: Per broker queue, its :class:`~asyncz_like.brokers.QueueStats` (with a broker only).
    queues: Mapping[str, Any] = field(default_factory=dict)
    #: Seconds from a fire's scheduled time to its start, over the latest fires of tasks.
    fire_lateness: ExecutionTimes = field(default_factory=ExecutionTimes)
    #: Bytes of this process's resident memory (None where it cannot be read).
    memory_rss: int | None = None
    #: The workers the broker knows, in any process (with a broker only).
    broker_workers: WorkerCounts | None = None


class StatsCollector:
    """Counts by status (a final status is never left, so those counts are totals), the
    execution times of the latest ``window`` executed runs, the lateness of the latest
    ``window`` fires, and executed runs per second. ``observers`` are told of every run that
    ends (:class:`~asyncz_like.runs.observers.RunObserver`)."""

    def __init__(self, window: int = 1000) -> None:
        self.counts: dict[RunStatus, int] = dict.fromkeys(RunStatus, 0)
        self.durations: deque[float] = deque(maxlen=window)
        self.lateness: deque[float] = deque(maxlen=window)
        self.observers: tuple[RunObserver, ...] = ()
        #: Runs ended since :meth:`gather`, told as one batch at its end (None: at once).
        self._gathered: list[_Row] | None = None
        self._seconds = [-1] * RATE_WINDOW
        self._hits = [0] * RATE_WINDOW
        self._second = -1  # the second the current slot counts, and when it ends:
        self._second_end: datetime | None = None

    def entered(self, status: RunStatus) -> None:
        self.counts[status] += 1

    def moved(self, old: RunStatus, new: RunStatus) -> None:
        counts = self.counts
        counts[old] -= 1
        counts[new] += 1

    def executed(self, duration: float | None, now: datetime) -> None:
        """A run ended as COMPLETED, FAILED or TIMEOUT at ``now``."""
        if duration is not None:
            self.durations.append(duration)
        end = self._second_end
        if end is not None and end - _ONE_SECOND <= now < end:  # the same second: cheap
            self._hits[self._second % RATE_WINDOW] += 1
        else:
            self.executed_in(None, math.floor(now.timestamp()))

    def ended(self, run: Run) -> None:
        """``run`` reached a final status: keep a fire's lateness, tell the observers."""
        started, scheduled = run.started_at, run.scheduled_at
        lateness = None
        fired = run.task_id is not None
        if fired and started is not None and scheduled is not None:
            lateness = (started - scheduled).total_seconds()
            self.lateness.append(lateness)
        if self.observers:
            end = run.finished_at
            ended_at = end.timestamp() if end is not None else time.time()
            row: _Row = (
                run.queue,
                run.task_id,
                run.name,
                run.status,
                run.duration,
                lateness,
                ended_at,
            )
            if self._gathered is not None:
                self._gathered.append(row)
                return
            self.tell(_batch(run.queue, [row]))

    def gather(self) -> None:
        """From now on, keep the runs that end for :meth:`tell_gathered` instead of telling
        the observers one by one: a drain builds thousands of fire records at once."""
        if self.observers and self._gathered is None:
            self._gathered = []

    def tell_gathered(self) -> None:
        """Tell the observers of the runs kept since :meth:`gather`: one batch per queue."""
        rows, self._gathered = self._gathered, None
        for queue in dict.fromkeys(row[0] for row in rows or ()):
            self.tell(_batch(queue, [row for row in rows or () if row[0] == queue]))

    def tell(self, ended: EndedRuns) -> None:
        for observer in self.observers:
            observer.runs_ended(ended)

    def executed_in(self, duration: float | None, second: int, count: int = 1) -> None:
        """Like :meth:`executed`, given the POSIX second it ended in; ``count`` runs ended
        then (``duration`` is the last one's)."""
        if duration is not None:
            self.durations.append(duration)
        slot = second % RATE_WINDOW
        if second != self._second:
            self._second = second
            self._second_end = datetime.fromtimestamp(second + 1, UTC)
            if self._seconds[slot] != second:
                self._seconds[slot] = second
                self._hits[slot] = 0
        self._hits[slot] += count

    def executed_many(self, durations: list[float], seconds: list[int]) -> None:
        """Runs that ended, in order: their durations and the POSIX seconds they ended in."""
        self.durations.extend(durations[-(self.durations.maxlen or len(durations)) :])
        for second, count in Counter(seconds).items():  # in order of first appearance
            self.executed_in(None, second, count)

    def entered_many(self, statuses: list[RunStatus]) -> None:
        counts = self.counts
        for status, count in Counter(statuses).items():
            counts[status] += count

    def runs_per_second(self, now: datetime) -> float:
        """Executed runs in the last 60 whole seconds (this one included), per second."""
        current = math.floor(now.timestamp())
        total = sum(
            hits
            for second, hits in zip(self._seconds, self._hits, strict=True)
            if current - RATE_WINDOW < second <= current
        )
        return total / RATE_WINDOW

    @staticmethod
    def times_of(durations: list[float]) -> ExecutionTimes:
        """Average and percentiles of ``durations`` (a copy taken under the lock)."""
        values = sorted(durations)
        if not values:
            return ExecutionTimes()
        return ExecutionTimes(
            count=len(values),
            avg=sum(values) / len(values),
            p50=_nearest_rank(values, 50),
            p95=_nearest_rank(values, 95),
            p99=_nearest_rank(values, 99),
        )

    def error_rate(self) -> float:
        """(FAILED + TIMEOUT) / executed runs, since the start; 0.0 before any."""
        counts = self.counts
        executed = sum(counts[status] for status in EXECUTED)
        if not executed:
            return 0.0
        return (counts[RunStatus.FAILED] + counts[RunStatus.TIMEOUT]) / executed


def _batch(queue: str | None, rows: list[_Row]) -> EndedRuns:
    """The ``rows`` (of one queue) as the columns of a batch."""
    return EndedRuns(
        queue,
        [row[1] for row in rows],
        [row[2] for row in rows],
        [row[3] for row in rows],
        [row[4] for row in rows],
        [row[5] for row in rows],
        [row[6] for row in rows],
    )


def _nearest_rank(ordered: list[float], percent: float) -> float:
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return ordered[rank - 1]
