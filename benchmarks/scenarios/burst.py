"""Scenario 2: N tasks due at the same instant.

``mode="async"``: asyncio scheduler, coroutine job, the loop watched by a 1 ms ticker.
``mode="thread"``: scheduler in a background thread, sync job in a thread pool.
Fires/s is the runs made over the time from the due instant to the start of the last run.

With ``paused`` (the persistent stores, where the anchors take seconds to add 2,000 tasks)
the scheduler starts paused, the tasks are added due now, and the due instant is the
``resume`` after the adds. The jobs are module functions, so that every store can hold them;
on a persistent store each gets its index, and runs counts distinct indexes. Waiting stops
when every run started, or after ``stall`` seconds without a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from adapters import Adapter
from adapters.base import utc
from harness import LoopTicker, drain_loop, measured, sleep_until

THREAD_WORKERS = 10


class _Record:
    """What the jobs saw: their start times and indexes (one scenario per process)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.indexes: set[int] = set()
        self.target = 0
        self.done: asyncio.Event | threading.Event = threading.Event()


RECORD = _Record()


async def async_job(index: int = -1) -> None:
    RECORD.starts.append(time.time())
    RECORD.indexes.add(index)
    if len(RECORD.starts) >= RECORD.target:
        RECORD.done.set()


def sync_job(index: int = -1) -> None:
    RECORD.starts.append(time.time())
    RECORD.indexes.add(index)
    if len(RECORD.starts) >= RECORD.target:
        RECORD.done.set()


def run(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    if params["mode"] == "async":
        return asyncio.run(_run_async(adapter, params))
    return _run_threaded(adapter, params)


def _figures(due: float, n: int, ready: float, store: str) -> dict[str, Any]:
    starts = RECORD.starts
    if not starts:
        raise RuntimeError(f"none of the {n} runs started")
    first, last = min(starts), max(starts)
    made = len(starts) if store == "memory" else len(RECORD.indexes)
    return {
        "fires": len(starts),
        "runs": made,
        "runs_ratio": made / n,
        "fires_per_s": made / (last - due),
        "first_fire_ms": (first - due) * 1e3,
        "burst_s": last - due,
        "setup_spare_s": due - ready,  # negative: the tasks were added too late to be timed
    }


def _add_all(adapter: Adapter, job: Any, n: int, due: float, store: str) -> None:
    run_at = utc(due)
    if store == "memory":
        for _ in range(n):
            adapter.add_date(job, run_at)
    else:
        for index in range(n):
            adapter.add_date(job, run_at, args=(index,))


async def _wait_async(params: dict[str, Any]) -> None:
    done, stall, timeout = RECORD.done, params.get("stall", 5.0), params.get("timeout", 120.0)
    deadline, seen, quiet_since = time.time() + timeout, -1, time.time()
    assert isinstance(done, asyncio.Event)
    while not done.is_set() and time.time() < deadline:
        if len(RECORD.starts) != seen:
            seen, quiet_since = len(RECORD.starts), time.time()
        elif time.time() - quiet_since > stall:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 0.1)


async def _run_async(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    n, margin, store = params["n"], params["margin"], params.get("store", "memory")
    paused = params.get("paused", False)
    RECORD.target, RECORD.done = n, asyncio.Event()
    adapter.options = params.get("options", {})
    adapter.make_async(store)
    adapter.start(paused=paused)
    due = time.time() if paused else round(time.time() + margin, 3)
    _add_all(adapter, async_job, n, due, store)
    await drain_loop()
    ready = time.time()
    ticker = LoopTicker()
    if paused:
        ticker.start()
        await asyncio.sleep(0.05)
        due = time.time()
        adapter.resume()
    else:
        await sleep_until(due - 0.05)
        ticker.start()
    with measured():
        await _wait_async(params)
    await ticker.stop()
    result = _figures(due, n, ready, store)
    result["max_loop_block_ms"] = ticker.longest_block * 1e3
    await adapter.close()
    return result


def _run_threaded(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    n, margin, store = params["n"], params["margin"], params.get("store", "memory")
    RECORD.target, RECORD.done = n, threading.Event()
    adapter.make_threaded(THREAD_WORKERS, store)
    adapter.start()
    due = round(time.time() + margin, 3)
    _add_all(adapter, sync_job, n, due, store)
    ready = time.time()
    with measured():
        finished = RECORD.done.wait(timeout=params.get("timeout", 120.0))
    if not finished:
        raise TimeoutError(f"only {len(RECORD.starts)} of {n} runs started")
    result = _figures(due, n, ready, store)
    adapter.close_threaded()
    return result
