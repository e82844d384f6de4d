"""Helpers for the scenarios, inside the library's subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import math
import os
import time
from collections.abc import Iterator, Sequence

#: Set by ``worker.py --profile``: the measured sections of a scenario are profiled.
PROFILER: cProfile.Profile | None = None
#: Set with PROFILER: on a persistent store, every loop pass (asyncz_like runs them in a
#: store I/O thread, which PROFILER does not see) is profiled here.
PASS_PROFILER: cProfile.Profile | None = None


class CollectorTime:
    """The seconds spent in the garbage collector's passes since ``start()`` (a
    ``gc.callbacks`` hook: the collector runs when allocations say so, whoever made them)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._began = 0.0

    def _on_pass(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._began

    @contextlib.contextmanager
    def counting(self) -> Iterator[CollectorTime]:
        gc.callbacks.append(self._on_pass)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._on_pass)


@contextlib.contextmanager
def measured() -> Iterator[None]:
    """Mark the part of a scenario that is measured (and profiled, when asked)."""
    if PROFILER is not None:
        PROFILER.enable()
    try:
        yield
    finally:
        if PROFILER is not None:
            PROFILER.disable()


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]


def rss_bytes() -> int:
    """Resident set size of this process (Linux)."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


async def sleep_until(timestamp: float) -> None:
    """Sleep until wall-clock ``timestamp`` (``time.time()``)."""
    delay = timestamp - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def drain_loop() -> None:
    """Let the loop run what earlier calls queued on it (APScheduler and asyncz queue a
    wake-up per added task)."""
    for _ in range(3):
        await asyncio.sleep(0)


class LoopTicker:
    """A coroutine that wakes every millisecond and records how late it woke: the longest
    gap is the longest time something else held the event loop."""

    def __init__(self, period: float = 0.001) -> None:
        self.period = period
        self.gaps: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        clock, last = time.perf_counter, time.perf_counter()
        while True:
            await asyncio.sleep(self.period)
            now = clock()
            self.gaps.append(now - last)
            last = now

    @property
    def longest_block(self) -> float:
        """Seconds the loop was held beyond the ticker's own period (0 when never)."""
        return max(max(self.gaps, default=self.period) - self.period, 0.0)
