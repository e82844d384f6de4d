"""What the dashboard's collector costs a fire: microseconds per fire of a burst, on a
hand-moved clock, without the collector and with it hooked in as the dashboard hooks it
(``MetricsCollector.install``), and, for comparison, with a listener that does nothing on
the run events (which makes the scheduler record each fire as a live run).

The figures are CPU time of this process (other processes on a busy machine do not count
in them). The variants run in alternation (A/B/C, A/B/C, ...) in one process, and the median
of each is printed beside the load average: the machine's speed moves, so only figures taken
side by side compare. Each timed pass includes reading the runs (``flush_run_records``), where
the collector is told of the fires: what a fire costs, now or later, is counted. Not part
of ``run.py``. Usage::

    PYTHONPATH=. python benchmarks/dashboard_listener.py
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from asyncz_like.dashboard.metrics import MetricsCollector
from asyncz_like.events.constants import ALL_RUN_EVENTS
from asyncz_like.schedulers import AsyncIOScheduler

TASKS = 2_000
ROUNDS = 5
REPEATS = 9
VARIANTS = ("none", "collector", "run-listener")


class HandClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


async def job() -> None:
    pass


async def per_fire(variant: str) -> float:
    """The median CPU microseconds per fire over ROUNDS bursts of TASKS fires."""
    clock = HandClock(datetime(2030, 1, 1, tzinfo=UTC))
    scheduler = AsyncIOScheduler(timezone=UTC, clock=clock)
    scheduler.start()
    scheduler._cancel_timer()  # the passes are called here, back to back
    if variant == "collector":
        MetricsCollector(clock.now).install(scheduler)
    elif variant == "run-listener":
        scheduler.add_listener(lambda event: None, ALL_RUN_EVENTS)
    for index in range(TASKS):
        scheduler.add_task(job, "interval", seconds=10, id=f"t{index}")
    figures = []
    for _ in range(ROUNDS):
        clock.current += timedelta(seconds=10)
        started = time.process_time()
        while scheduler.process_tasks(100_000) == 0:
            pass
        await asyncio.sleep(0)  # the fires run
        scheduler.flush_run_records()
        figures.append((time.process_time() - started) / TASKS)
    scheduler.shutdown(wait=False)
    return statistics.median(figures) * 1e6


async def main() -> None:
    gc.disable()
    figures: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for _ in range(REPEATS):
        for variant in VARIANTS:
            figures[variant].append(await per_fire(variant))
    base = statistics.median(figures["none"])
    print(f"load average {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    for variant, values in figures.items():
        median = statistics.median(values)
        print(f"{variant:12} {median:7.1f} us per fire (median of {REPEATS}), "
              f"{median / base - 1:+6.1%} vs none")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
