"""Scenario 3: lateness of T interval tasks every I seconds for D seconds (asyncio).

Every task is added with an explicit start S, so its k-th scheduled time is S + k * I; the
job reads ``time.time()`` first thing and charges the difference to the latest scheduled
time not after it (exact while lateness stays under I). The job is a module function, so that
persistent stores can hold it; S is ``lead`` seconds after the scheduler starts.
"""

from __future__ import annotations

import math
import time
from typing import Any

from adapters import Adapter
from adapters.base import utc
from harness import drain_loop, measured, percentile, sleep_until


class _Schedule:
    """The schedule the job measures against (one scenario per process)."""

    start = 0.0
    interval = 1.0
    expected = 0
    lateness: list[float] = []
    seen: set[tuple[int, int]] = set()


async def job(index: int) -> None:
    now = time.time()
    k = math.floor((now - _Schedule.start) / _Schedule.interval + 1e-9)
    if k < _Schedule.expected:
        _Schedule.seen.add((index, k))
        _Schedule.lateness.append(now - (_Schedule.start + k * _Schedule.interval))


async def run(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    tasks, interval, duration = params["tasks"], params["interval"], params["duration"]
    adapter.make_async(params.get("store", "memory"))
    adapter.start()
    start = round(time.time() + params.get("lead", 0.5), 3)
    end = start + duration
    expected = round(duration / interval)
    lateness, seen = _Schedule.lateness, _Schedule.seen
    _Schedule.start, _Schedule.interval, _Schedule.expected = start, interval, expected
    for index in range(tasks):
        adapter.add_interval(job, interval, utc(start), args=(index,))
    await drain_loop()
    with measured():
        await sleep_until(end + interval)
    await adapter.close()
    return {
        "p50_ms": percentile(lateness, 0.50) * 1e3,
        "p99_ms": percentile(lateness, 0.99) * 1e3,
        "max_ms": max(lateness, default=math.nan) * 1e3,
        "runs": len(seen),
        "expected": tasks * expected,
        "runs_ratio": len(seen) / (tasks * expected),
    }
