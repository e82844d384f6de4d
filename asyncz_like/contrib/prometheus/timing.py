"""The latency of a store's or a broker's calls: their methods wrapped on the instance (as
OpenTelemetry's instrumentations do), undone by :func:`untime`."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from asyncz_like.contrib.prometheus.aggregates import RunAggregates

#: The store calls timed: the loop's and the task API's.
STORE_CALLS = (
    "acquire_due_tasks",
    "release_task",
    "release_tasks",
    "get_next_run_time",
    "add_task",
    "add_tasks",
    "update_task",
    "update_task_if_unchanged",
    "update_tasks_if_unchanged",
    "lookup_task",
    "delete_task",
    "remove_all_tasks",
    "get_all_tasks",
    "renew_claims",
    "acquire_run_slots",
    "release_run_slots",
)
#: The broker calls timed (not ``wait_for_work``, which waits on purpose).
BROKER_CALLS = (
    "enqueue",
    "claim",
    "renew",
    "complete",
    "fail",
    "retry",
    "finish_many",
    "finish_and_claim",
    "give_back",
    "progress",
    "cancel",
    "get_run",
    "list_runs",
    "stats",
    "cleanup",
)
#: Marks a wrapper, so that timing an object twice times each call once.
_TIMED = "__asyncz_like_timed__"


def time_calls(
    plugin: Any, names: tuple[str, ...], labels: tuple[str, ...], aggregates: RunAggregates
) -> None:
    """Time each call of ``plugin``'s methods ``names`` into ``aggregates.calls`` under
    ``(*labels, name)``."""
    for name in names:
        method = getattr(plugin, name, None)
        if method is None or getattr(method, _TIMED, False):
            continue
        histogram = aggregates.call_timer((*labels, name))
        setattr(plugin, name, _timed(method, histogram.observe, aggregates))


def untime(plugin: Any, names: tuple[str, ...]) -> None:
    """Undo :func:`time_calls` (the class's methods show through again)."""
    for name in names:
        if getattr(plugin.__dict__.get(name), _TIMED, False):
            delattr(plugin, name)


def _timed(
    method: Callable[..., Any], observe: Callable[[float], None], aggregates: RunAggregates
) -> Callable[..., Any]:
    lock = aggregates.lock
    clock = time.perf_counter

    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        try:
            return method(*args, **kwargs)
        finally:
            took = clock() - start
            with lock:
                observe(took)

    setattr(timed, _TIMED, True)
    return timed
