"""Scenario 2: N tasks due at the same instant.

``mode="async"``: asyncio scheduler, coroutine job, the loop watched by a 1 ms ticker.
``mode="thread"``: scheduler in a background thread, sync job in a thread pool.
Fires/s is N over the time from the due instant to the start of the last run.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from adapters import Adapter
from adapters.base import utc
from harness import LoopTicker, drain_loop, measured, sleep_until

THREAD_WORKERS = 10


def run(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    if params["mode"] == "async":
        return asyncio.run(_run_async(adapter, params))
    return _run_threaded(adapter, params)


def _figures(starts: list[float], due: float, n: int, ready: float) -> dict[str, Any]:
    first, last = min(starts), max(starts)
    return {
        "fires": len(starts),
        "fires_per_s": n / (last - due),
        "first_fire_ms": (first - due) * 1e3,
        "burst_s": last - due,
        "setup_spare_s": due - ready,  # negative: the tasks were added too late to be timed
    }


async def _run_async(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    n, margin = params["n"], params["margin"]
    starts: list[float] = []
    done = asyncio.Event()

    async def job() -> None:
        starts.append(time.time())
        if len(starts) >= n:
            done.set()

    adapter.make_async(params.get("store", "memory"))
    adapter.start()
    due = round(time.time() + margin, 3)
    for _ in range(n):
        adapter.add_date(job, utc(due))
    await drain_loop()
    ready = time.time()
    ticker = LoopTicker()
    await sleep_until(due - 0.05)
    ticker.start()
    with measured():
        await asyncio.wait_for(done.wait(), timeout=params.get("timeout", 120.0))
    await ticker.stop()
    result = _figures(starts, due, n, ready)
    result["max_loop_block_ms"] = ticker.longest_block * 1e3
    adapter.shutdown()
    await drain_loop()
    return result


def _run_threaded(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    n, margin = params["n"], params["margin"]
    starts: list[float] = []
    done = threading.Event()

    def job() -> None:
        starts.append(time.time())
        if len(starts) >= n:
            done.set()

    adapter.make_threaded(THREAD_WORKERS, params.get("store", "memory"))
    adapter.start()
    due = round(time.time() + margin, 3)
    for _ in range(n):
        adapter.add_date(job, utc(due))
    ready = time.time()
    with measured():
        finished = done.wait(timeout=params.get("timeout", 120.0))
    if not finished:
        raise TimeoutError(f"only {len(starts)} of {n} runs started")
    result = _figures(starts, due, n, ready)
    adapter.shutdown()
    return result
