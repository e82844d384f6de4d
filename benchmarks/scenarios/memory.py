"""Scenario 5: bytes per stored task, by tracemalloc: the Python allocations still alive
after adding N interval tasks (due in an hour) to a running asyncio scheduler."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from adapters import Adapter
from harness import drain_loop


async def job() -> None:
    """Never runs here."""


async def run(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    n = params["n"]
    adapter.make_async(params.get("store", "memory"))
    adapter.start()
    for _ in range(100):  # warm up: lazily built structures are not per task
        adapter.add_interval(job, 3600.0)
    await drain_loop()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(n):
        adapter.add_interval(job, 3600.0)
    await drain_loop()
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await adapter.close()
    return {"bytes_per_task": (after - before) / n, "peak_bytes_per_task": (peak - before) / n}
