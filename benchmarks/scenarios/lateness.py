"""Scenario 3: lateness of T interval tasks every I seconds for D seconds (asyncio).

Every task is added with an explicit start S, so its k-th scheduled time is S + k * I; the
job reads ``time.time()`` first thing and charges the difference to the latest scheduled
time not after it (exact while lateness stays under I).
"""

from __future__ import annotations

import math
import time
from typing import Any

from adapters import Adapter
from adapters.base import utc
from harness import drain_loop, measured, percentile, sleep_until


async def run(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    tasks, interval, duration = params["tasks"], params["interval"], params["duration"]
    adapter.make_async(params.get("store", "memory"))
    adapter.start()
    start = round(time.time() + 0.5, 3)
    end = start + duration
    expected = round(duration / interval)
    lateness: list[float] = []
    seen: set[tuple[int, int]] = set()

    async def job(index: int) -> None:
        now = time.time()
        k = math.floor((now - start) / interval + 1e-9)
        if k < expected:
            seen.add((index, k))
            lateness.append(now - (start + k * interval))

    for index in range(tasks):
        adapter.add_interval(job, interval, utc(start), args=(index,))
    await drain_loop()
    with measured():
        await sleep_until(end + interval)
    adapter.shutdown()
    await drain_loop()
    return {
        "p50_ms": percentile(lateness, 0.50) * 1e3,
        "p99_ms": percentile(lateness, 0.99) * 1e3,
        "max_ms": max(lateness, default=math.nan) * 1e3,
        "runs": len(seen),
        "expected": tasks * expected,
        "runs_ratio": len(seen) / (tasks * expected),
    }
