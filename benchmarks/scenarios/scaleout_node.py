"""Scenario 7, one of the scheduler processes: ``scaleout.py`` starts several of these on
one store. Each starts paused, prints ``READY``, resumes at the instant the parent sends
(``GO <time>`` on stdin), records the runs it makes, and stops after ``stall`` seconds
without a new one."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from adapters import Adapter
from harness import sleep_until

#: (task index, start time) of every run this process made.
FIRES: list[tuple[int, float]] = []


async def job(index: int) -> None:
    FIRES.append((index, time.time()))


async def run(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    adapter.store_name, adapter.owns_store = params["store_name"], False
    adapter.make_async(params["store"])
    adapter.start(paused=True)
    print("READY", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    go = float(line.split()[1])
    await sleep_until(go)
    adapter.resume()
    deadline, seen, quiet_since = go + params["timeout"], -1, time.time()
    while time.time() < deadline:
        await asyncio.sleep(0.1)
        if len(FIRES) != seen:
            seen, quiet_since = len(FIRES), time.time()
        elif time.time() - quiet_since > params["stall"]:
            break
    await adapter.close()
    return {"fires": FIRES}
