"""A run record for every fire of a task, at little cost on the fire's path.

When nobody listens for run events, a fire costs two time stamps and one tuple put in an
inbox. The records are built from the inbox when somebody reads runs (``get_run``,
``list_runs``, ``stats``, ``wait_for``); fires the history would drop at once (beyond
``max_run_history``) are only counted, which is also what a pass of the loop does when the
inbox has grown, so that its size stays bounded. When a listener
wants RUN_* events, fires are recorded as they go instead, so that RUN_STARTED comes first.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import itemgetter, sub
from typing import TYPE_CHECKING, Any, overload

from asyncz_like.clock import Clock, SystemClock
from asyncz_like.events.constants import RUN_CANCELLED, RUN_COMPLETED, RUN_FAILED, RUN_STARTED
from asyncz_like.runs.context import ProgressSink
from asyncz_like.runs.fires import FireRecord, Stamp, status_of
from asyncz_like.runs.observers import EndedRuns
from asyncz_like.runs.run import Run, RunError, new_run_id
from asyncz_like.runs.status import RunStatus

if TYPE_CHECKING:
    from asyncz_like.runs.stats import StatsCollector
    from asyncz_like.tasks.task import Task
    from asyncz_like.workers.ledger import Ledger

_SECONDS = timedelta.total_seconds
#: Fires turned into run records per hold of the run lock, in a drain.
DRAIN_SLICE = 32
_FIRE_CODES = RUN_STARTED | RUN_COMPLETED | RUN_FAILED | RUN_CANCELLED
_CODES = {
    RunStatus.COMPLETED: RUN_COMPLETED,
    RunStatus.FAILED: RUN_FAILED,
    RunStatus.CANCELLED: RUN_CANCELLED,
}


def _as_datetime(stamp: Stamp) -> datetime:
    return stamp if isinstance(stamp, datetime) else datetime.fromtimestamp(stamp, UTC)


def _fire_run(task_id: str, name: str | None, run_time: datetime, started: datetime) -> Run:
    """The RUNNING run of the fire of ``run_time`` that started at ``started``."""
    return Run(new_run_id(), task_id, name, RunStatus.RUNNING, 0.0, None, None, None, 1, 0,
               started, run_time, started)  # fmt: skip


class FireRecorder:
    """Records the fires of a scheduler's tasks in its ledger (history, stats, events)."""

    def __init__(
        self, ledger: Ledger, clock: Clock, wants: Callable[[int], bool], drain_at: int = 4096
    ) -> None:
        self._ledger = ledger
        self._draining = threading.Lock()
        self._now = clock.now
        # The system clock's datetimes are made when the records are read, not per fire.
        self._stamp: Callable[[], Stamp] = time.time if type(clock) is SystemClock else clock.now
        self._wants = wants
        self.inbox: deque[FireRecord] = deque()
        self.drain_at = drain_at

    # -- on the fire's path -----------------------------------------------------------------

    def begin(self, task: Task, run_time: datetime) -> Any:
        if self._wants(_FIRE_CODES):
            return self._begin_live(task, run_time)
        return self._stamp()

    def completed(self, task: Task, run_time: datetime, record: Any, value: Any) -> None:
        if record.__class__ is not Run:
            self.inbox.append(
                (
                    task.id,
                    task.name,
                    run_time,
                    record,
                    self._stamp(),
                    RunStatus.COMPLETED,
                    value,
                    None,
                )
            )
        else:
            self._end_live(record, RunStatus.COMPLETED, value, None, None)

    def failed(self, task: Task, run_time: datetime, record: Any, exc: BaseException) -> None:
        if record.__class__ is not Run:
            self.inbox.append(
                (task.id, task.name, run_time, record, self._stamp(), status_of(exc), None, exc)
            )
        else:
            self._end_live(record, status_of(exc), None, RunError.from_exception(exc), exc)

    def promote(self, task: Task, run_time: datetime, record: Any) -> Run:
        """The live run of a fire begun with ``record`` (made now when it was a stamp)."""
        if record.__class__ is Run:
            return record
        return self._enter(task, run_time, _as_datetime(record))

    @property
    def sink(self) -> ProgressSink:
        return self._ledger

    def replay(self, records: list[FireRecord]) -> None:
        """Take the records of fires that ran in a worker process."""
        self.inbox.extend(records)

    # -- recorded as they go (somebody listens) ---------------------------------------------

    def _begin_live(self, task: Task, run_time: datetime) -> Run:
        run = self._enter(task, run_time, self._now())
        if self._wants(RUN_STARTED):
            self._ledger.announce(RUN_STARTED, run)
        return run

    def _enter(self, task: Task, run_time: datetime, started: datetime) -> Run:
        """The RUNNING run of a fire that started at ``started``, entered in the ledger."""
        run = _fire_run(task.id, task.name, run_time, started)
        ledger = self._ledger
        with ledger.lock:
            ledger.enter(run)
        return run

    def _end_live(
        self,
        run: Run,
        status: RunStatus,
        value: Any,
        error: RunError | None,
        exc: BaseException | None,
    ) -> None:
        ledger = self._ledger
        with ledger.lock:
            _finish(run, status, value, error)
            wakes = ledger.move(run, status, self._now())
        ledger.announce(_CODES[status], run, wakes, exc)

    # -- off the fire's path ----------------------------------------------------------------

    def drain(self) -> None:
        """Turn the fires in the inbox into run records (before runs are read). Those the
        history would drop at once (beyond ``max_run_history``) are only counted.

        The records are built a slice at a time, each under the run lock, with the GIL
        offered between slices: a drain of thousands of fires (a persistent history's thread
        does one every second) must not hold the scheduler's loop and passes for long."""
        capacity = self._capacity()
        ledger = self._ledger
        with self._draining:  # one drain at a time; fires go on appending meanwhile
            with ledger.lock:
                items = self._pop(len(self.inbox))
                skip = 0 if capacity is None else max(len(items) - capacity, 0)
                self._count(items[:skip])
                ledger.stats.gather()  # the observers hear of the built ones in one batch
            try:
                for start in range(skip, len(items), DRAIN_SLICE):
                    if start > skip:
                        time.sleep(0)  # let a waiting thread take the GIL now, not in 5 ms
                    with ledger.lock:
                        self._build(items[start : start + DRAIN_SLICE])
            finally:
                with ledger.lock:
                    ledger.stats.tell_gathered()

    def compact(self) -> None:
        """Count the fires the history would drop at once and keep only the newest in the
        inbox (a pass of the loop, when nobody reads: no record is built)."""
        capacity = self._capacity()
        if capacity is None:
            self.drain()
            return
        with self._ledger.lock:
            self._count(self._pop(len(self.inbox) - capacity))

    def _capacity(self) -> int | None:
        capacity = getattr(self._ledger.history, "max_run_history", None)
        return capacity if isinstance(capacity, int) else None

    def _pop(self, count: int) -> list[FireRecord]:
        popleft = self.inbox.popleft
        return [popleft() for _ in range(count)]

    def _count(self, items: list[FireRecord]) -> None:
        """Count fires in the stats without making their records (batched: a pass counts a
        burst's thousands at once)."""
        stats = self._ledger.stats
        stats.entered_many([item[5] for item in items])
        durations: list[float] = []
        seconds: list[int] = []
        for _, _, _, started, finished, _, _, _ in items:
            if finished.__class__ is float and started.__class__ is float:  # system clock
                durations.append(finished - started)
                seconds.append(int(finished))
                continue
            if durations:  # in order: what came before is counted first
                stats.executed_many(durations, seconds)
                durations, seconds = [], []
            begun, ended = _as_datetime(started), _as_datetime(finished)
            stats.executed((ended - begun).total_seconds(), ended)
        if durations:
            stats.executed_many(durations, seconds)
        _observe(stats, items)

    def _build(self, items: list[FireRecord]) -> None:
        ledger = self._ledger
        for task_id, name, run_time, started, finished, status, value, error in items:
            run = _fire_run(task_id, name, run_time, _as_datetime(started))
            ledger.enter(run)
            if isinstance(error, BaseException):
                error = RunError.from_exception(error)
            _finish(run, status, value, error)
            ledger.move(run, status, _as_datetime(finished))


def _observe(stats: StatsCollector, items: list[FireRecord]) -> None:
    """Keep the lateness of counted fires (only of those the window keeps, unless observers
    want to hear of each) and tell the observers. In C where it can (map over the columns):
    a burst counts thousands of fires here."""
    observers = stats.observers
    kept = items if observers else items[-(stats.lateness.maxlen or len(items)) :]
    if not kept:
        return
    late: list[float]
    took: list[float] = []
    ends: Sequence[float] = []
    try:  # the system clock's stamps are POSIX times: one subtraction each
        late = _late_posix(list(map(itemgetter(2), kept)), list(map(itemgetter(3), kept)))
        if observers:
            ends = list(map(itemgetter(4), kept))
            took = list(map(sub, ends, map(itemgetter(3), kept)))
    except TypeError:  # another clock's datetimes
        late, took, ends = _late_took_ends(kept, bool(observers))
    stats.lateness.extend(late)
    if observers:
        ids, names, statuses = (list(map(itemgetter(k), items)) for k in (0, 1, 5))
        stats.tell(EndedRuns(None, ids, names, statuses, took, late, ends))


def _late_posix(run_times: list[datetime], starts: list[Any]) -> list[float]:
    """Seconds from each run time to its POSIX start (TypeError for datetimes). A burst's
    fires share one run time: its ``timestamp()`` (costly) is taken once."""
    first = run_times[0]
    if run_times.count(first) == len(run_times):
        return list(map(sub, starts, repeat(first.timestamp(), len(starts))))
    return [start - at.timestamp() for at, start in zip(run_times, starts, strict=True)]


def _late_took_ends(
    kept: list[FireRecord], observed: bool
) -> tuple[list[float], list[float], Sequence[float]]:
    """Lateness (and, ``observed``, durations and POSIX ends) of fires stamped with datetimes:
    in C (map over the columns), or one by one when the stamps are mixed (fires replayed from
    a worker process)."""
    starts = list(map(itemgetter(3), kept))
    try:
        late = list(map(_SECONDS, map(sub, starts, map(itemgetter(2), kept))))
        if not observed:
            return late, [], []
        finished = list(map(itemgetter(4), kept))
        took = list(map(_SECONDS, map(sub, finished, starts)))
    except TypeError:
        late = [_late(at, started) for _, _, at, started, _, _, _, _ in kept]
        if not observed:
            return late, [], []
        finished = list(map(itemgetter(4), kept))
        took = [_took(started, end) for _, _, _, started, end, _, _, _ in kept]
    return late, took, PosixEnds(finished)


class PosixEnds(Sequence[float]):
    """The ends of fires stamped with datetimes, in POSIX seconds, made on first use: an
    observer that never reads ``ended_at`` (the Prometheus one) does not pay for them."""

    __slots__ = ("_stamps", "_values")

    def __init__(self, stamps: list[Stamp]) -> None:
        self._stamps = stamps
        self._values: list[float] | None = None

    def _made(self) -> list[float]:
        values = self._values
        if values is None:
            values = self._values = [_as_datetime(end).timestamp() for end in self._stamps]
        return values

    def __len__(self) -> int:
        return len(self._stamps)

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[float]: ...

    def __getitem__(self, index: int | slice) -> float | Sequence[float]:
        return self._made()[index]

    def __iter__(self) -> Iterator[float]:
        return iter(self._made())


def _late(run_time: datetime, started: Stamp) -> float:
    """Seconds from a fire's scheduled time to its start."""
    if isinstance(started, float):
        return started - run_time.timestamp()
    return (started - run_time).total_seconds()


def _took(started: Stamp, finished: Stamp) -> float:
    if isinstance(started, float) and isinstance(finished, float):
        return finished - started
    return (_as_datetime(finished) - _as_datetime(started)).total_seconds()


def _finish(run: Run, status: RunStatus, value: Any, error: RunError | None) -> None:
    run.result, run.error = value, error
    if status is RunStatus.COMPLETED:
        run.progress = 100.0
