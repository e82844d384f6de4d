"""What the Prometheus collector reports of past runs and calls: plain counters and
histograms, added to where the runs are counted and read at each scrape."""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

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
#: What the ``task`` label of ``asyncz_like_fires_total`` holds: the task's id, its name, or
#: nothing (``""``: fires counted by outcome only).
TaskLabel = Literal["id", "name"] | None
TASK_LABELS = ("id", "name", None)
#: The ``task`` label of the fires of the tasks beyond ``max_task_labels``.
OTHER_TASKS = "__other__"


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
        ordered = sorted(values)  # then one search per bound, not one per value
        counts, below = self.counts, 0
        for index, bound in enumerate(self.bounds):
            upto = bisect_right(ordered, bound)  # values <= bound
            counts[index] += upto - below
            below = upto
        counts[-1] += len(ordered) - below
        self.sum += sum(ordered)

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

    def __init__(
        self,
        bounds: Sequence[float] = BUCKETS,
        task_label: TaskLabel = "id",
        max_task_labels: int = 1000,
    ) -> None:
        self.bounds = tuple(bounds)
        self.lock = threading.Lock()
        self.task_label = task_label
        self.max_task_labels = max_task_labels
        #: outcome -> task label -> fires (None: submitted work, counted here, never reported)
        self.fires: dict[str, Counter[str | None]] = {}
        #: The task labels given out so far (at most max_task_labels, and None).
        self.labels: set[str | None] = {None}
        self.runs: Counter[tuple[str, str]] = Counter()
        self.durations: dict[str, Histogram] = {}
        self.lateness = Histogram(self.bounds)
        self.calls: dict[tuple[str, ...], Histogram] = {}

    # -- told by the scheduler ---------------------------------------------------------------

    def runs_ended(self, ended: EndedRuns) -> None:
        # Counted in C (Counter.update of an iterable, list.count): a burst's thousands of
        # fires without a Python step each. A RunStatus hashes in Python: a batch of one
        # status (the usual) is not hashed per run.
        queue, statuses = ended.queue or "", list(ended.statuses)
        if not statuses:
            return
        ids = self._labels_of(ended)
        first = statuses[0]
        uniform = statuses.count(first) == len(statuses)
        with self.lock:
            self._histogram(self.durations, queue).observe_many(_known(ended.durations))
            self.lateness.observe_many(_known(ended.lateness))
            if uniform:
                self.runs[queue, first.value] += len(statuses)
                self._fires_of(first.value).update(ids)
                return
            for status, n in Counter(statuses).items():
                self.runs[queue, status.value] += n
                mine = [task for task, s in zip(ids, statuses, strict=True) if s is status]
                self._fires_of(status.value).update(mine)

    def task_event(self, event: TaskEvent) -> None:
        """A listener of TASK_MISSED and TASK_MAX_INSTANCES: fires that did not run."""
        outcome = SKIPPED_FIRES.get(event.code)
        if event.task_id is not None and outcome is not None:
            label = self._label(event.task_id, event.task_name)
            with self.lock:
                self._fires_of(outcome)[self._admit(label)] += 1

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
                label = self._label(run.task_id, run.name)
                self._fires_of(status)[self._admit(label)] += 1

    # -- timed calls -------------------------------------------------------------------------

    def call_timer(self, labels: tuple[str, ...]) -> Histogram:
        with self.lock:
            return self._histogram(self.calls, labels)

    def observe_call(self, histogram: Histogram, seconds: float) -> None:
        with self.lock:
            histogram.observe(seconds)

    # -- task labels -------------------------------------------------------------------------

    def _label(self, task_id: str, name: str | None) -> str:
        mode = self.task_label
        if mode == "id":
            return task_id
        return (name or task_id) if mode == "name" else ""

    def _labels_of(self, ended: EndedRuns) -> Sequence[str | None]:
        """The task label of each run (None: submitted work), within max_task_labels."""
        ids, mode = ended.task_ids, self.task_label
        if mode == "name":
            labels: Sequence[str | None] = [
                None if task is None else (name or task)
                for task, name in zip(ids, ended.names, strict=True)
            ]
        elif mode is None:
            labels = [None if task is None else "" for task in ids]
        else:
            labels = ids
        if self.labels.issuperset(labels):  # in C: the usual case, no step per run
            return labels
        with self.lock:
            return [self._admit(label) for label in labels]

    def _admit(self, label: str | None) -> str | None:
        """``label``, or OTHER_TASKS once max_task_labels labels were given out (lock held)."""
        labels = self.labels
        if label in labels:
            return label
        if len(labels) > self.max_task_labels:  # None is in it too
            return OTHER_TASKS
        labels.add(label)
        return label

    def _fires_of(self, outcome: str) -> Counter[str | None]:
        fires = self.fires.get(outcome)
        if fires is None:
            fires = self.fires[outcome] = Counter()
        return fires

    def _histogram(self, table: dict[Any, Histogram], key: Any) -> Histogram:
        histogram = table.get(key)
        if histogram is None:
            histogram = table[key] = Histogram(self.bounds)
        return histogram


def _known(values: Sequence[float | None]) -> Sequence[float]:
    if None not in values:
        return values  # type: ignore[return-value]  # checked: no None in it
    return [value for value in values if value is not None]
