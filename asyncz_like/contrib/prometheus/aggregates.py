"""What the Prometheus collector reports of past runs and calls: plain counters and
histograms, added to where the runs are counted and read at each scrape."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from asyncz_like.events.base import RunEvent, TaskEvent
from asyncz_like.events.constants import (
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_RETRYING,
    RUN_TIMEOUT,
    TASK_MAX_INSTANCES,
    TASK_MISSED,
)
from asyncz_like.runs.observers import EndedRuns

#: Bucket bounds in seconds, for lateness, run durations and call latency alike: a fire's
#: lateness is usually under a millisecond, a store's call a few, a run anything.
BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
#: The worker's run events that end an attempt (RUN_RETRYING: another attempt follows).
ENDING_EVENTS = RUN_COMPLETED | RUN_FAILED | RUN_TIMEOUT | RUN_CANCELLED | RUN_RETRYING
#: The task events counted as fires that did not run, and their outcome label.
SKIPPED_FIRES = {TASK_MISSED: "missed", TASK_MAX_INSTANCES: "max_instances"}


class Histogram:
    """Counts per bucket (``le`` inclusive, as Prometheus has it) and the sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float] = BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last: above every bound
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def observe_many(self, values: Sequence[float]) -> None:
        if len(values) < 8:
            for value in values:
                self.observe(value)
            return
        counts = self.counts
        for index, n in Counter(map(partial(bisect_left, self.bounds), values)).items():
            counts[index] += n
        self.sum += sum(values)

    def buckets(self) -> list[tuple[str, int]]:
        """Cumulative ``(le, count)`` pairs, ``+Inf`` last."""
        total, pairs = 0, []
        for bound, count in zip((*map(repr, self.bounds), "+Inf"), self.counts, strict=True):
            total += count
            pairs.append((bound, total))
        return pairs


class RunAggregates:
    """Fires by task and outcome, runs by queue and status, run durations by queue, fire
    lateness, and call latency: a :class:`~asyncz_like.runs.observers.RunObserver` of a
    scheduler and a listener of its (or a worker's) events. One lock guards every write
    (observers, listeners and timed calls come from several threads)."""

    def __init__(self, bounds: Sequence[float] = BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.lock = threading.Lock()
        self.fires: Counter[tuple[str, str]] = Counter()
        self.runs: Counter[tuple[str, str]] = Counter()
        self.durations: dict[str, Histogram] = {}
        self.lateness = Histogram(self.bounds)
        self.calls: dict[tuple[str, ...], Histogram] = {}

    # -- told by the scheduler ---------------------------------------------------------------

    def runs_ended(self, ended: EndedRuns) -> None:
        queue = ended.queue or ""
        statuses = [status.value for status in ended.statuses]
        with self.lock:
            runs = self.runs
            for status, n in Counter(statuses).items():
                runs[queue, status] += n
            self._histogram(self.durations, queue).observe_many(_known(ended.durations))
            self.lateness.observe_many(_known(ended.lateness))
            fires = self.fires
            pairs = Counter(zip(ended.task_ids, statuses, strict=True))
            for (task, status), n in pairs.items():
                if task is not None:  # submitted work is not a fire
                    fires[task, status] += n

    def task_event(self, event: TaskEvent) -> None:
        """A listener of TASK_MISSED and TASK_MAX_INSTANCES: fires that did not run."""
        outcome = SKIPPED_FIRES.get(event.code)
        if event.task_id is not None and outcome is not None:
            with self.lock:
                self.fires[event.task_id, outcome] += 1

    # -- told by a worker --------------------------------------------------------------------

    def run_event(self, event: RunEvent) -> None:
        """A listener of a worker's ENDING_EVENTS: an attempt of a run from a broker ended."""
        run = event.run
        if run is None:
            return
        queue = run.queue or ""
        status = "retrying" if event.code == RUN_RETRYING else run.status.value
        duration = run.duration
        with self.lock:
            self.runs[queue, status] += 1
            if duration is not None:
                self._histogram(self.durations, queue).observe(duration)
            if run.task_id is not None:  # a task's fire sent to a queue
                self.fires[run.task_id, status] += 1

    # -- timed calls -------------------------------------------------------------------------

    def call_timer(self, labels: tuple[str, ...]) -> Histogram:
        with self.lock:
            return self._histogram(self.calls, labels)

    def observe_call(self, histogram: Histogram, seconds: float) -> None:
        with self.lock:
            histogram.observe(seconds)

    def _histogram(self, table: dict[Any, Histogram], key: Any) -> Histogram:
        histogram = table.get(key)
        if histogram is None:
            histogram = table[key] = Histogram(self.bounds)
        return histogram


def _known(values: Iterable[float | None]) -> list[float]:
    return [value for value in values if value is not None]
