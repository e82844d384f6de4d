"""The Prometheus collector: the aggregates of past runs and calls, and what is true now
(queue depth, runs in progress, broken records), read at most once per ``cache_seconds``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from asyncz_like.contrib.prometheus.aggregates import Histogram, RunAggregates

logger = logging.getLogger("asyncz_like.contrib.prometheus")
PREFIX = "asyncz_like_"


@dataclass(slots=True)
class Now:
    """What is true now: ``(queue, priority)`` -> runs waiting, queue -> runs in progress,
    store -> broken records."""

    depth: dict[tuple[str, int], int] = field(default_factory=dict)
    in_progress: dict[str, int] = field(default_factory=dict)
    broken: dict[str, int] = field(default_factory=dict)


class RunCollector(Collector):
    """Yields the ``asyncz_like_*`` metrics at each scrape. ``read_now`` (I/O on a broker or a
    persistent store) is called at most once per ``cache_seconds``; when it fails, the last
    figures are kept and the failure logged."""

    def __init__(
        self,
        aggregates: RunAggregates,
        read_now: Callable[[], Now],
        cache_seconds: float,
        call_labels: dict[str, tuple[str, ...]],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.aggregates = aggregates
        self.read_now = read_now
        self.cache_seconds = cache_seconds
        self.call_labels = call_labels  # the label names of each kind of call ("store", ...)
        self.monotonic = monotonic
        self._now = Now()
        self._read_at: float | None = None
        #: Called first at each scrape: counts what was recorded but not yet counted.
        self.flush: Callable[[], None] | None = None

    def collect(self) -> Iterator[Any]:
        if self.flush is not None:
            self.flush()
        yield from self._past()
        yield from self._present(self._cached_now())

    def _cached_now(self) -> Now:
        moment = self.monotonic()
        if self._read_at is None or moment - self._read_at >= self.cache_seconds:
            self._read_at = moment
            try:
                self._now = self.read_now()
            except Exception as exc:
                logger.warning("Reading queue depth and broken records failed: %r", exc)
        return self._now

    def _past(self) -> Iterator[Any]:
        aggregates = self.aggregates
        with aggregates.lock:  # copies: the scrape formats them after the lock is let go
            fires = {
                (task, outcome): n
                for outcome, counts in aggregates.fires.items()
                for task, n in counts.items()
                if task is not None
            }
            runs = dict(aggregates.runs)
            durations = {queue: _copy(h) for queue, h in aggregates.durations.items()}
            lateness = _copy(aggregates.lateness)
            calls = {labels: _copy(h) for labels, h in aggregates.calls.items()}
        family = CounterMetricFamily(
            PREFIX + "fires", "Fires of tasks by task and outcome", labels=["task", "outcome"]
        )
        for (task, outcome), n in sorted(fires.items()):
            family.add_metric([task, outcome], n)
        yield family
        family = CounterMetricFamily(
            PREFIX + "runs",
            "Runs ended by queue ('' without a broker) and status; retrying counts attempts",
            labels=["queue", "status"],
        )
        for (queue, status), n in sorted(runs.items()):
            family.add_metric([queue, status], n)
        yield family
        yield _histogram_family(
            "fire_lateness_seconds",
            "Seconds from a fire's scheduled time to its start",
            {(): lateness},
            [],
        )
        yield _histogram_family(
            "run_duration_seconds",
            "Seconds of a run's latest attempt, by queue",
            {(queue,): h for queue, h in durations.items()},
            ["queue"],
        )
        for kind, names in self.call_labels.items():
            mine = {labels[1:]: h for labels, h in calls.items() if labels[0] == kind}
            yield _histogram_family(
                f"{kind}_call_seconds", f"Seconds per call of a {kind}", mine, [*names, "call"]
            )

    def _present(self, now: Now) -> Iterator[Any]:
        family = GaugeMetricFamily(
            PREFIX + "queue_depth",
            "Runs waiting, due now, by queue and priority",
            labels=["queue", "priority"],
        )
        for (queue, priority), n in sorted(now.depth.items()):
            family.add_metric([queue, str(priority)], n)
        yield family
        family = GaugeMetricFamily(
            PREFIX + "runs_in_progress", "Runs this process runs now, by queue", labels=["queue"]
        )
        for queue, n in sorted(now.in_progress.items()):
            family.add_metric([queue], n)
        yield family
        family = GaugeMetricFamily(
            PREFIX + "broken_records", "Records a store could not read", labels=["store"]
        )
        for store, n in sorted(now.broken.items()):
            family.add_metric([store], n)
        yield family


def _copy(histogram: Histogram) -> Histogram:
    copy = Histogram(histogram.bounds)
    copy.counts, copy.sum = list(histogram.counts), histogram.sum
    return copy


def _histogram_family(
    name: str,
    documentation: str,
    histograms: dict[tuple[str, ...], Histogram],
    labels: list[str],
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(PREFIX + name, documentation, labels=labels)
    for values, histogram in sorted(histograms.items()):
        family.add_metric(list(values), histogram.buckets(), histogram.sum)
    return family
