"""Small conversion helpers that asyncz exposes in its ``utils`` (re-exported there)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "datetime_ceil",
    "datetime_to_utc_timestamp",
    "timedelta_seconds",
    "to_float",
    "to_int",
    "utc_timestamp_to_datetime",
]


def to_int(value: Any) -> int | None:
    """``value`` (a number or its text, as config files give it) as an int; None stays None."""
    return None if value is None else int(value)


def to_float(value: Any) -> float | None:
    """``value`` (a number or its text) as a float; None stays None."""
    return None if value is None else float(value)


def datetime_ceil(value: datetime) -> datetime:
    """``value`` rounded up to the next whole second (unchanged when it is one)."""
    if value.microsecond:
        return value + timedelta(seconds=1, microseconds=-value.microsecond)
    return value


def datetime_to_utc_timestamp(value: datetime | None) -> float | None:
    """The POSIX timestamp of an aware datetime; None stays None."""
    return None if value is None else value.timestamp()


def utc_timestamp_to_datetime(timestamp: float | None) -> datetime | None:
    """A POSIX timestamp as an aware datetime in UTC; None stays None."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def timedelta_seconds(delta: timedelta) -> float:
    """The length of ``delta`` in seconds."""
    return delta.total_seconds()


def age_words(seconds: float) -> str:
    """How long ago, for people: ``3 s ago``, ``4 min ago``, ``2 h 5 min ago``, ``3 d ago``
    (``in 2 s`` for a time ahead: another host's clock)."""
    whole = round(abs(seconds))
    if whole < 60:
        amount = f"{whole} s"
    elif whole < 3600:
        amount = f"{whole // 60} min"
    elif whole < 86400:
        hours, minutes = divmod(whole // 60, 60)
        amount = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    else:
        amount = f"{whole // 86400} d"
    return f"in {amount}" if seconds < 0 and whole else f"{amount} ago"
