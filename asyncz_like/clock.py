"""The scheduler reads time only through a Clock, so that tests can move time by hand."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    """Wall time for schedules. (The loops sleep on the monotonic clock of asyncio or of
    ``threading.Event.wait`` and read this clock again on waking.)

    A clock that also has a :class:`SteadyClock` ``monotonic()`` lets the scheduler notice
    a step of the wall clock (see docs/scheduling.md, "Clock jumps"); one without it works,
    with no step noticed."""

    def now(self) -> datetime:
        """The current wall time, aware (UTC)."""
        ...


@runtime_checkable
class SteadyClock(Protocol):
    """A clock whose ``monotonic()`` counts elapsed seconds and never steps."""

    def now(self) -> datetime:
        """The current wall time, aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds elapsed since an arbitrary start; never goes back, never jumps."""
        ...


def _elapsed_clock() -> Callable[[], float]:
    """CLOCK_BOOTTIME where there is one (Linux): unlike ``time.monotonic()`` it counts the
    time the machine was suspended, which is time that passed, not a step of the wall clock."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is None:
        return time.monotonic
    try:
        time.clock_gettime(boottime)
    except OSError:  # a kernel without it
        return time.monotonic
    return lambda: time.clock_gettime(boottime)


_elapsed = _elapsed_clock()


class SystemClock:
    """The real clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Elapsed seconds, suspended time included where the system counts it (Linux)."""
        return _elapsed()
