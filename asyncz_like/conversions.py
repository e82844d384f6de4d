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
