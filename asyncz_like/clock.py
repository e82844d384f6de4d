"""The scheduler reads time only through a Clock, so that tests can move time by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall time for schedules. (The loops sleep on the monotonic clock of asyncio or of
    ``threading.Event.wait`` and read this clock again on waking.)"""

    def now(self) -> datetime:
        """The current wall time, aware (UTC)."""
        ...


class SystemClock:
    """The real clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)
