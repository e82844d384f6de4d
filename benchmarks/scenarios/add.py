"""Scenario 1: add N interval tasks (due in an hour) to a running asyncio scheduler.

Per-add time counts the ``add`` calls and the loop work they queued (drained right after);
flatness compares the last tenth of the adds with the first tenth. 100 tasks are added first,
unmeasured, so that one-off costs (lazy imports, caches) do not count. The time inside the
garbage collector's passes is measured per tenth too: a full pass walks every tracked object
of the process, so where one lands decides the flatness at 100k (docs/performance.md);
``flatness_outside_gc`` is the same ratio without it. With ``bulk`` the N
tasks go ``bulk`` at a time through the bulk form (asyncz_like's ``add_tasks``), timed the same way;
a library without it reports ``na``. With ``floors`` (a count), asyncz_like then measures the
floors under an add to its persistent store (``floors.py``). With ``before_start`` the
tasks are added to a scheduler not yet started, as an app defines its tasks; ``start_ms`` is
then the start that stores them.
"""

from __future__ import annotations

import time
from typing import Any

from adapters import Adapter
from harness import CollectorTime, drain_loop, measured, rss_bytes

WARM_UP = 100


async def job() -> None:
    """Never runs here."""


async def run(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    n: int = params["n"]
    adapter.make_async(params.get("store", "memory"))
    before_start = bool(params.get("before_start"))
    if not before_start:
        adapter.start()
    if params.get("bulk") and not adapter.has_bulk_add:
        await adapter.close()
        return {"na": "no bulk add (add_tasks) in this version"}
    for _ in range(WARM_UP):
        adapter.add_interval(job, 3600.0)
    await drain_loop()
    tenth = max(n // 10, 1)
    chunks: list[float] = []
    collector_chunks: list[float] = []
    collector = CollectorTime()
    add, clock = adapter.add_interval, time.perf_counter
    per_call = min(params.get("bulk", 0), tenth)
    rss_before = rss_bytes()
    with measured(), collector.counting():
        started = clock()
        for _ in range(n // tenth):
            chunk_start, collected = clock(), collector.seconds
            if per_call:
                for _ in range(tenth // per_call):
                    adapter.add_tasks_bulk(job, 3600.0, per_call)
            else:
                for _ in range(tenth):
                    add(job, 3600.0)
            chunks.append(clock() - chunk_start)
            collector_chunks.append(collector.seconds - collected)
        added = clock()
        await drain_loop()
        settled = clock()
    start_ms = None
    if before_start:
        adapter.start()
        start_ms = (clock() - settled) * 1e3
    added_n = tenth * len(chunks)
    result = {
        "n": added_n,
        "add_us": (settled - started) / added_n * 1e6,
        "add_ms": (settled - started) / added_n * 1e3,
        "first_tenth_ms": chunks[0] / tenth * 1e3,
        "last_tenth_ms": chunks[-1] / tenth * 1e3,
        "add_calls_us": (added - started) / added_n * 1e6,
        "flatness": chunks[-1] / chunks[0],
        "flatness_outside_gc": (chunks[-1] - collector_chunks[-1])
        / (chunks[0] - collector_chunks[0]),
        "gc_ms_first_tenth": collector_chunks[0] * 1e3,
        "gc_ms_last_tenth": collector_chunks[-1] * 1e3,
        "gc_share": sum(collector_chunks) / sum(chunks),
        "rss_bytes_per_task": (rss_bytes() - rss_before) / added_n,
    }
    if start_ms is not None:
        result["start_ms"] = start_ms
    if params.get("floors"):
        result.update(adapter.add_floors(job, params["floors"]))
    await adapter.close()
    return result
