"""Prometheus metrics of a scheduler or a worker (extra ``prometheus``: prometheus_client).

:func:`instrument` registers one collector on a registry (the default one unless given); every
metric is prefixed ``asyncz_like_``. :func:`metrics_app` is an ASGI app serving a registry, for
a user's app or the dashboard to mount. See docs/observability.md.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

try:
    import prometheus_client
except ImportError:  # pragma: no cover - the extra is installed in the test venv
    from asyncz_like.exceptions import MissingDependencyError

    raise MissingDependencyError("prometheus_client", "prometheus") from None

from asyncz_like.contrib.prometheus.aggregates import (
    BUCKETS,
    ENDING_EVENTS,
    OTHER_TASKS,
    TASK_LABELS,
    RunAggregates,
    TaskLabel,
)
from asyncz_like.contrib.prometheus.collector import Now, RunCollector
from asyncz_like.contrib.prometheus.timing import BROKER_CALLS, STORE_CALLS, time_calls, untime
from asyncz_like.events.constants import TASK_MAX_INSTANCES, TASK_MISSED
from asyncz_like.schedulers.base import BaseScheduler
from asyncz_like.workers.worker import Worker

__all__ = ["BUCKETS", "OTHER_TASKS", "Metrics", "instrument", "metrics_app"]

_CALL_LABELS = {"store": ("store",), "broker": ()}
#: The instrumentation of each target: one at a time (a second would time each call twice
#: and register the same series twice).
_INSTRUMENTED: weakref.WeakKeyDictionary[Any, Metrics] = weakref.WeakKeyDictionary()


class Metrics:
    """What :func:`instrument` set up: ``collector`` on ``registry``, fed by ``aggregates``.
    :meth:`uninstrument` undoes it all."""

    def __init__(
        self,
        target: BaseScheduler | Worker,
        registry: Any,
        collector: RunCollector,
        options: tuple[Any, ...] = (),
    ):
        self.target = target
        self.registry = registry
        self.collector = collector
        self.aggregates = collector.aggregates
        self.options = options  # what instrument() was given, to compare a second call's

    def asgi_app(self) -> Any:
        """An ASGI app serving this registry in Prometheus's text format."""
        return metrics_app(self.registry)

    def uninstrument(self) -> None:
        """Unregister the collector, stop listening, stop timing calls (a second call does
        nothing)."""
        if _INSTRUMENTED.get(self.target) is not self:
            return
        del _INSTRUMENTED[self.target]
        self.registry.unregister(self.collector)
        _unhook(self.target, self.aggregates)


def instrument(
    target: BaseScheduler | Worker,
    registry: Any = None,
    *,
    cache_seconds: float = 5.0,
    buckets: Sequence[float] = BUCKETS,
    task_label: TaskLabel = "id",
    max_task_labels: int = 1000,
) -> Metrics:
    """Collect the metrics of a scheduler (its fires, its runs, its stores' calls, its broker
    and the worker it runs on it) or of a :class:`~asyncz_like.workers.Worker`, into
    ``registry`` (a ``prometheus_client.CollectorRegistry``; the default registry when None).

    Call it before ``start()``: the stores that do I/O (not the memory store, whose calls
    are on the fire's path and take microseconds) and the broker are timed as they are now.
    ``cache_seconds``: queue depth and broken records are read at most this often (a broker
    or a persistent store is asked, the rest is counted as runs end). ``buckets``: the
    histograms' bounds in seconds. ``task_label``: what the ``task`` label of
    ``asyncz_like_fires_total`` holds, the task's ``"id"``, its ``"name"``, or nothing
    (None); the fires of tasks beyond the first ``max_task_labels`` labels are counted
    under :data:`OTHER_TASKS`.

    Instrumenting a target again into the same registry with the same options returns the
    :class:`Metrics` already made; anything else raises ValueError (``uninstrument()``
    first).
    """
    if not isinstance(target, BaseScheduler | Worker):
        raise TypeError(f"target must be a scheduler or a Worker, got {target!r}")
    if isinstance(cache_seconds, bool) or not isinstance(cache_seconds, int | float):
        raise TypeError(f"cache_seconds must be a number of seconds, got {cache_seconds!r}")
    if not cache_seconds >= 0:
        raise ValueError(f"cache_seconds must be >= 0, got {cache_seconds!r}")
    bounds = tuple(float(bound) for bound in buckets)
    if not bounds or list(bounds) != sorted(set(bounds)):
        raise ValueError(f"buckets must be increasing numbers, got {buckets!r}")
    if task_label not in TASK_LABELS:
        raise ValueError(f"task_label must be 'id', 'name' or None, got {task_label!r}")
    if isinstance(max_task_labels, bool) or not isinstance(max_task_labels, int):
        raise TypeError(f"max_task_labels must be an int, got {max_task_labels!r}")
    if max_task_labels < 1:
        raise ValueError(f"max_task_labels must be >= 1, got {max_task_labels!r}")
    if registry is None:
        registry = prometheus_client.REGISTRY
    options = (cache_seconds, bounds, task_label, max_task_labels)
    existing = _INSTRUMENTED.get(target)
    if existing is not None:
        return _same(existing, registry, options)
    aggregates = RunAggregates(bounds, task_label, max_task_labels)
    if isinstance(target, Worker):
        collector = _instrument_worker(target, aggregates, cache_seconds)
    else:
        collector = _instrument_scheduler(target, aggregates, cache_seconds)
    try:
        registry.register(collector)
    except ValueError:  # the registry holds these series already (another collector's)
        _unhook(target, aggregates)
        raise
    metrics = _INSTRUMENTED[target] = Metrics(target, registry, collector, options)
    return metrics


def _same(existing: Metrics, registry: Any, options: tuple[Any, ...]) -> Metrics:
    if existing.registry is not registry:
        raise ValueError(
            f"{existing.target!r} is instrumented into another registry already: "
            "call uninstrument() on its Metrics first"
        )
    if existing.options != options:
        raise ValueError(
            f"{existing.target!r} is instrumented already with other options (cache_seconds, "
            "buckets, task_label, max_task_labels): call uninstrument() on its Metrics first"
        )
    return existing


def _unhook(target: BaseScheduler | Worker, aggregates: RunAggregates) -> None:
    """Stop listening and stop timing calls."""
    if isinstance(target, Worker):
        target.remove_listener(aggregates.run_event)
        untime(target.broker, BROKER_CALLS)
        return
    target.remove_run_observer(aggregates)
    target.remove_listener(aggregates.task_event)
    target.remove_worker_listener(aggregates.run_event)
    for store in target.stores.values():
        untime(store, STORE_CALLS)
    if target.broker is not None:
        untime(target.broker, BROKER_CALLS)


def metrics_app(registry: Any = None) -> Any:
    """An ASGI app serving ``registry`` (the default registry when None) for Prometheus."""
    return prometheus_client.make_asgi_app(registry or prometheus_client.REGISTRY)


def _instrument_scheduler(
    scheduler: BaseScheduler, aggregates: RunAggregates, cache_seconds: float
) -> RunCollector:
    scheduler.add_run_observer(aggregates)
    scheduler.add_listener(aggregates.task_event, TASK_MISSED | TASK_MAX_INSTANCES)
    scheduler.add_worker_listener(aggregates.run_event, ENDING_EVENTS)
    for alias, store in scheduler.stores.items():
        if getattr(store, "does_io", False):  # a memory store's calls take microseconds
            time_calls(store, STORE_CALLS, ("store", alias), aggregates)
    broker = scheduler.broker
    if broker is not None:
        time_calls(broker, BROKER_CALLS, ("broker",), aggregates)

    def read_now() -> Now:
        return _scheduler_now(scheduler)

    collector = RunCollector(aggregates, read_now, cache_seconds, _CALL_LABELS)
    collector.flush = scheduler.flush_run_records
    return collector


def _scheduler_now(scheduler: BaseScheduler) -> Now:
    now = Now()
    stats = scheduler.stats()
    if scheduler.broker is not None:
        for queue, counts in stats.queues.items():
            for priority, n in counts.pending.items():
                now.depth[queue, priority] = n
    else:
        now.depth = {("", priority): n for priority, n in stats.queued_by_priority.items()}
        now.in_progress[""] = stats.running
    worker = scheduler.worker
    if worker is not None:
        now.in_progress.update(worker.runs_in_progress())
    broken = scheduler.get_broken_records()
    now.broken = {alias: len(broken.get(alias, ())) for alias in scheduler.stores}
    return now


def _instrument_worker(
    worker: Worker, aggregates: RunAggregates, cache_seconds: float
) -> RunCollector:
    worker.add_listener(aggregates.run_event, ENDING_EVENTS)
    time_calls(worker.broker, BROKER_CALLS, ("broker",), aggregates)

    def read_now() -> Now:
        now = Now(in_progress=worker.runs_in_progress())
        for queue, counts in worker.broker.stats(worker.clock.now()).items():
            for priority, n in counts.pending.items():
                now.depth[queue, priority] = n
        return now

    return RunCollector(aggregates, read_now, cache_seconds, _CALL_LABELS)
