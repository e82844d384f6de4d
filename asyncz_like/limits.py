"""The numbers and times the scheduler takes: finite, and within the calendar it can hold.

One policy for every argument that is a number of seconds, a count or a time, so that a value
``datetime`` cannot hold fails where it is given, with a ValueError naming the argument,
instead of an OverflowError when it is used.

The calendar is ``FIRST`` to ``LAST``: a day inside what ``datetime`` holds at each end, so that
a time in range can be shown in any time zone (UTC offsets are under a day). A duration is at
most ``MAX_SECONDS``, the length of that calendar: no longer one fits between two of its times.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta

__all__ = [
    "FIRST",
    "LAST",
    "MAX_COUNT",
    "MAX_DURATION",
    "MAX_SECONDS",
    "MAX_WAIT",
    "check_count",
    "check_number",
    "check_seconds",
    "check_time",
    "check_timeout",
    "check_wait",
    "later",
    "shifted",
]

FIRST = datetime(1, 1, 2, tzinfo=UTC)
LAST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
MAX_DURATION = LAST - FIRST
MAX_SECONDS: float = MAX_DURATION.total_seconds()
#: The longest wait (a poll interval, a scheduler's ``max_wait``): ``threading`` refuses longer.
MAX_WAIT: float = min(MAX_SECONDS, threading.TIMEOUT_MAX)
#: The largest count taken (a signed 64-bit integer, what a database column holds).
MAX_COUNT = 2**63 - 1
TOO_LONG = "is longer than the calendar (about 9999 years)"
_NAIVE_FIRST, _NAIVE_LAST = FIRST.replace(tzinfo=None), LAST.replace(tzinfo=None)


def check_number(
    value: object,
    name: str,
    *,
    minimum: float = 0,
    positive: bool = False,
    maximum: float = math.inf,
    too_large: str = "is too large",
    wrong_type: type[Exception] = TypeError,
) -> int | float:
    """``value`` when it is a finite int or float from ``minimum`` (above it when ``positive``)
    to ``maximum``. ``wrong_type`` for anything else (bools too), else ValueError; both name
    ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_type(f"{name} must be a number, got {name}={value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name}={value!r} is not a finite number")
    if value < minimum or (positive and value == minimum):
        if minimum == 0:
            rule = "must be positive" if positive else "must not be negative"
        else:
            rule = f"must be {'above' if positive else 'at least'} {minimum:g}"
        raise ValueError(f"{name} {rule}, got {name}={value!r}")
    if value > maximum:
        raise ValueError(f"{name}={value!r} {too_large} (at most {maximum:g})")
    return value


def check_seconds(
    value: object, name: str, *, positive: bool = False, wrong_type: type[Exception] = TypeError
) -> int | float:
    """A number of seconds (see :func:`check_number`) no longer than the calendar."""
    return check_number(
        value,
        name,
        positive=positive,
        maximum=MAX_SECONDS,
        too_large=TOO_LONG,
        wrong_type=wrong_type,
    )


def check_wait(value: object, name: str, *, wrong_type: type[Exception] = TypeError) -> float:
    """A wait in seconds: positive, finite, at most ``MAX_WAIT`` (about 292 years)."""
    wait = check_number(
        value,
        name,
        positive=True,
        maximum=MAX_WAIT,
        too_large="is too long a wait",
        wrong_type=wrong_type,
    )
    return float(wait)


def check_timeout(value: object, name: str = "timeout") -> float | None:
    """None, or how long to wait for something: seconds from 0 to ``MAX_WAIT``, finite."""
    if value is None:
        return None
    return float(check_number(value, name, maximum=MAX_WAIT, too_large="is too long a wait"))


def check_count(value: object, name: str, *, minimum: int = 1) -> int:
    """An int from ``minimum`` to ``MAX_COUNT``; TypeError for other types (bools too)."""
    if type(value) is int and minimum <= value <= MAX_COUNT:  # 3 per envelope a worker reads
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {name}={value!r}")
    return int(check_number(value, name, minimum=minimum, maximum=MAX_COUNT))


def check_time(value: datetime, name: str) -> datetime:
    """``value`` when its wall time, and its instant when aware, lie in FIRST..LAST."""
    if value.tzinfo is UTC and FIRST <= value <= LAST:  # wall time and instant are one:
        return value  # one check, without the naive copy (on every add of a date task)
    wall = value.replace(tzinfo=None)
    inside = _NAIVE_FIRST <= wall <= _NAIVE_LAST
    if inside and value.tzinfo is not None:
        try:
            inside = FIRST <= value <= LAST
        except OverflowError:  # a tzinfo whose offset pushes it past the datetime range
            inside = False
    if not inside:
        raise ValueError(
            f"{name}={value.isoformat()} is outside the supported range "
            f"({FIRST.date()} to {LAST.date()} UTC)"
        )
    return value


def later(moment: datetime, amount: timedelta, given: str) -> datetime:
    """``moment + amount``; ValueError naming what was ``given`` (``"delay=5"``) when that is
    past ``LAST``."""
    try:
        result = moment + amount
        if result <= LAST:
            return result
    except OverflowError:
        pass
    raise ValueError(f"{given} is too far in the future (beyond {LAST.date()})")


def shifted(moment: datetime, seconds: float) -> datetime:
    """``moment`` moved by ``seconds``; ``LAST`` (or ``FIRST``) when ``datetime`` cannot hold
    that (a deadline, a retry or a grace window of a huge but valid number of seconds)."""
    try:
        return moment + timedelta(seconds=seconds)
    except OverflowError:
        return LAST if seconds > 0 else FIRST
