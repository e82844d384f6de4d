"""Reading runs: look one up, list them, wait for one to finish, and the figures."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from asyncz_like.exceptions import RunLookupError
from asyncz_like.limits import check_timeout
from asyncz_like.runs.rss import process_rss
from asyncz_like.runs.stats import ExecutionTimes, RunStats, StatsCollector, WorkerStats
from asyncz_like.runs.status import RunStatus
from asyncz_like.workers.persistent.stored_history import StoredRunHistory
from asyncz_like.workers.waking import thread_waker

if TYPE_CHECKING:
    from asyncz_like.runs.run import Run
    from asyncz_like.workers.engine import RunEngine
    from asyncz_like.workers.ledger import Wake


def get_run(engine: RunEngine, run_id: str) -> Run | None:
    engine.drain_fires()
    now = engine.host.clock.now()
    with engine.lock:
        history = engine.ledger.history
        run = history.get(run_id, now)
    if run is None and isinstance(history, StoredRunHistory):  # I/O: not under the lock
        return history.load(run_id, now)
    return run


def list_runs(engine: RunEngine, status: Any, task_id: str | None, limit: int | None) -> list[Run]:
    statuses = _statuses(status)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    engine.drain_fires()
    now = engine.host.clock.now()
    with engine.lock:
        history = engine.ledger.history
        runs = history.list(statuses, task_id, limit, now)
    if isinstance(history, StoredRunHistory):  # I/O: not under the lock
        return history.load_list(statuses, task_id, limit, now, runs)
    return runs


def _statuses(status: Any) -> frozenset[RunStatus] | None:
    if status is None:
        return None
    values = [status] if isinstance(status, str) else status
    if not isinstance(values, Iterable):
        raise TypeError(f"status must be a RunStatus, its value, or several, got {status!r}")
    try:
        return frozenset(RunStatus(value) for value in values)
    except ValueError:
        raise ValueError(f"Unknown run status in {status!r}") from None


def _watch(engine: RunEngine, run_id: str, wake: Wake) -> Run:
    """The run, with ``wake`` registered to be called when it finishes, unless it has. A run
    found only in a persistent history is returned when finished; one still going on in
    another process cannot be waited for here (RunLookupError)."""
    engine.drain_fires()
    now = engine.host.clock.now()
    with engine.lock:
        history = engine.ledger.history
        run = history.get(run_id, now)
        if run is not None and not run.finished:
            engine.ledger.add_waiter(run_id, wake)
    if run is None and isinstance(history, StoredRunHistory):
        run = history.load(run_id, now)
        if run is not None and not run.finished:
            run = None
    if run is None:
        raise RunLookupError(run_id)
    return run


async def wait_async(engine: RunEngine, run_id: str, timeout: float | None) -> Run:  # noqa: ASYNC109  # as asyncio.wait_for
    timeout = check_timeout(timeout)
    done, wake = thread_waker()
    run = _watch(engine, run_id, wake)
    if run.finished:
        return run
    try:
        await asyncio.wait_for(done, timeout)
    except TimeoutError:
        raise TimeoutError(f"Run {run_id!r} did not finish within {timeout} s") from None
    finally:
        engine.ledger.remove_waiter(run_id, wake)
    return run


def refuse_blocking_in_loop() -> None:
    """RuntimeError when called inside a running event loop, which a wait would block."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "wait_for_sync() would block the running event loop: use 'await wait_for(...)'"
        )


def wait_blocking(engine: RunEngine, run_id: str, timeout: float | None) -> Run:
    timeout = check_timeout(timeout)
    refuse_blocking_in_loop()
    event = threading.Event()
    run = _watch(engine, run_id, event.set)
    if not run.finished and not event.wait(timeout):
        engine.ledger.remove_waiter(run_id, event.set)
        raise TimeoutError(f"Run {run_id!r} did not finish within {timeout} s")
    return run


def snapshot_stats(engine: RunEngine) -> RunStats:
    engine.drain_fires()
    now = engine.host.clock.now()
    with engine.lock:
        collector = engine.ledger.stats
        counts = dict(collector.counts)
        queued = {priority: n for priority, n in engine.queued.items() if n}
        workers = {
            lane.label: WorkerStats(lane.capacity, lane.busy)
            for lane in engine.lanes.lanes.values()
        }
        started = engine.started_at
        rate = collector.runs_per_second(now)
        error_rate = collector.error_rate()
        durations = list(collector.durations)
        lateness = list(collector.lateness)
    return RunStats(
        by_status={status.value: n for status, n in counts.items()},
        queued_by_priority=dict(sorted(queued.items(), reverse=True)),
        running=counts[RunStatus.RUNNING],
        workers=workers,
        runs_per_second=rate,
        execution_time=collector.times_of(durations),
        error_rate=error_rate,
        uptime=(now - started).total_seconds() if started is not None else 0.0,
        fire_lateness=collector.times_of(lateness),
        memory_rss=process_rss(),
    )


def fire_lateness(engine: RunEngine) -> ExecutionTimes:
    """The lateness of the latest fires (the figure a broker's stats lack)."""
    engine.drain_fires()
    with engine.lock:
        lateness = list(engine.ledger.stats.lateness)
    return StatsCollector.times_of(lateness)
