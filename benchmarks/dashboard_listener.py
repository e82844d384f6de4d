"""What the dashboard's event listener costs a fire: microseconds per fire of a burst, on a
hand-moved clock, without a listener, with a listener that does nothing on the same event
mask, and with the dashboard's collector. Best of several interleaved rounds (the machine's
speed moves; the best is the least disturbed). Not part of ``run.py``. Usage::

    PYTHONPATH=. python benchmarks/dashboard_listener.py
"""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import UTC, datetime, timedelta

from asyncz_like.dashboard.metrics import EVENT_MASK, MetricsCollector
from asyncz_like.schedulers import AsyncIOScheduler

TASKS = 2_000
ROUNDS = 5


class HandClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


async def job() -> None:
    pass


async def per_fire(listener: str) -> float:
    clock = HandClock(datetime(2030, 1, 1, tzinfo=UTC))
    scheduler = AsyncIOScheduler(timezone=UTC, clock=clock)
    scheduler.start()
    scheduler._cancel_timer()  # the passes are called here, back to back
    if listener == "collector":
        scheduler.add_listener(MetricsCollector(clock.now).listen, EVENT_MASK)
    elif listener == "no-op":
        scheduler.add_listener(lambda event: None, EVENT_MASK)
    for index in range(TASKS):
        scheduler.add_task(job, "interval", seconds=10, id=f"t{index}")
    best = float("inf")
    for _ in range(ROUNDS):
        clock.current += timedelta(seconds=10)
        started = time.perf_counter()
        while scheduler.process_tasks(100_000) == 0:
            pass
        await asyncio.sleep(0)  # the fires run
        best = min(best, (time.perf_counter() - started) / TASKS)
    scheduler.shutdown(wait=False)
    return best * 1e6


async def main() -> None:
    gc.disable()
    best: dict[str, float] = {}
    for _ in range(3):
        for listener in ("none", "no-op", "collector"):
            figure = await per_fire(listener)
            best[listener] = min(best.get(listener, figure), figure)
    for listener, figure in best.items():
        print(f"{listener:10} {figure:7.1f} us per fire")


if __name__ == "__main__":
    asyncio.run(main())
