"""Scenario 4: CPU time of the process while an asyncio scheduler holds N tasks due in an
hour and nothing else happens (``time.process_time``, user + system, all threads)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from adapters import Adapter
from harness import drain_loop, measured


async def job() -> None:
    """Never runs here."""


async def run(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    n, duration = params["n"], params["duration"]
    adapter.make_async(params.get("store", "memory"))
    adapter.start()
    for _ in range(n):
        adapter.add_interval(job, 3600.0)
    await drain_loop()
    await asyncio.sleep(0.5)
    with measured():
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        await asyncio.sleep(duration)
        cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    await adapter.close()
    return {"cpu_ms": cpu * 1e3, "cpu_percent": cpu / wall * 100}
