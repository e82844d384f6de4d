"""Reading trigger state back: version checks and tolerant decoding of times and durations.

States hold datetimes and timedeltas; decoders also take what a plain JSON encoder makes of them
(ISO strings, seconds), so that a state survives either kind of serializer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from asyncz_like.limits import MAX_DURATION, check_seconds
from asyncz_like.utils import to_datetime

STATE_VERSION = 1


def check_version(state: dict[str, Any], owner: str) -> None:
    version = state.get("version", 1)
    if version.__class__ is not int or not 1 <= version <= STATE_VERSION:
        raise ValueError(
            f"Got serialized data for version {version!r} of {owner}, "
            f"but only versions up to {STATE_VERSION} can be handled"
        )


def load_datetime(value: Any, name: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return to_datetime(value, None, name, require_tz=False)


def load_timedelta(value: Any, name: str) -> timedelta:
    """A positive duration from a timedelta or seconds, no longer than the calendar."""
    if isinstance(value, timedelta):
        if timedelta(0) < value <= MAX_DURATION:
            return value
        value = value.total_seconds()  # out of range: the check below names it
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=check_seconds(value, f"{name} in trigger state", positive=True))
    raise ValueError(f"Invalid {name} in trigger state: {value!r}")
