"""Scenario 6: the work of one loop pass while N tasks are stored.

N - H tasks sit an hour out; H hot tasks fire every H ms, staggered 1 ms apart, so that a
task is due every millisecond and each pass fires about one. Over the window we time every
pass of the scheduler (its own method, wrapped) and the process's CPU time per fire.
"""

from __future__ import annotations

import time
from typing import Any

from adapters import Adapter
from adapters.base import utc
from harness import drain_loop, measured, percentile, sleep_until


async def cold() -> None:
    """Never runs here."""


class _Count:
    fires = 0


async def job() -> None:
    _Count.fires += 1


async def run(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    n, hot, window = params["n"], params["hot"], params["window"]
    adapter.make_async(params.get("store", "memory"))
    adapter.start()
    loaded = "add"
    if params.get("preload"):  # 1M rows: one bulk load, not one add_task each
        loaded = adapter.preload(cold, 3600.0, n - hot)
    else:
        for _ in range(n - hot):
            adapter.add_interval(cold, 3600.0)
    await drain_loop()

    period = hot / 1000
    start = round(time.time() + 0.3, 3)
    for index in range(hot):
        adapter.add_interval(job, period, utc(start + index / 1000))
    timer = adapter.time_passes()
    await drain_loop()
    await sleep_until(start + 0.2)  # let the first round settle
    with measured():
        fires_before, cpu_before = _Count.fires, time.process_time()
        timer.enabled = True
        await sleep_until(start + 0.2 + window)
        timer.enabled = False
        cpu, fired = time.process_time() - cpu_before, _Count.fires - fires_before
    await adapter.close()
    passes = timer.durations
    if not fired or not passes:
        raise RuntimeError(f"{fired} fires and {len(passes)} passes in the {window} s window")
    return {
        "pass_us": sum(passes) / len(passes) * 1e6,
        "pass_p99_us": percentile(passes, 0.99) * 1e6,
        "passes": len(passes),
        "fires": fired,
        "fires_per_s": fired / window,
        "cpu_per_fire_us": cpu / fired * 1e6,
        "loaded": loaded,
    }
