"""A trigger that fires at a fixed elapsed interval, and the parser for interval strings."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from asyncz_like.limits import LAST, MAX_DURATION, MAX_SECONDS, TOO_LONG, check_number, shifted
from asyncz_like.triggers._common import (
    ValueTrigger,
    check_jitter,
    check_order,
    jitter_before,
    shown_time,
)
from asyncz_like.triggers._state import check_version, load_datetime, load_timedelta
from asyncz_like.triggers._zones import (
    as_utc,
    localize,
    parse_time,
    require_aware,
    resolve_zone,
    zone_from_name,
    zone_name,
    zone_text,
)
from asyncz_like.utils import to_zone

__all__ = ["IntervalTrigger", "parse_interval"]

_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_ALIASES = {
    **{name: name for name in _UNIT_SECONDS},
    **dict.fromkeys(("week", "weeks", "wk", "wks"), "w"),
    **dict.fromkeys(("day", "days"), "d"),
    **dict.fromkeys(("hour", "hours", "hr", "hrs"), "h"),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("sec", "secs", "second", "seconds"), "s"),
}
_NUMBER = r"\d+(?:\.\d+)?"
_PART = re.compile(rf"\s*({_NUMBER})\s*([a-z]+)\s*,?")


def parse_interval(value: int | float | timedelta | str) -> timedelta:
    """A positive duration from seconds, a timedelta, or a string like "30s", "1h30m", "1d 2h".

    Units: w, d, h, m, s (also spelled out: "2 hours"); a bare number is seconds.
    Raises ValueError naming ``interval`` for anything else, for zero or negative durations,
    and for a duration that is not finite or longer than the calendar (about 9999 years).
    """
    duration = _to_timedelta(value)
    if duration <= timedelta(0):
        raise ValueError(f"interval must be positive, got interval={value!r}")
    if duration > MAX_DURATION:
        raise _too_long(value)
    return duration


def _to_timedelta(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _seconds(value, value)
    if isinstance(value, str):
        return _parse_text(value)
    raise _invalid(value)


def _parse_text(value: str) -> timedelta:
    text = value.strip().lower()
    if re.fullmatch(_NUMBER, text):
        return _seconds(float(text), value)
    total, seen, position = 0.0, set(), 0
    while position < len(text):
        match = _PART.match(text, position)
        unit = _UNIT_ALIASES.get(match.group(2)) if match else None
        if match is None or unit is None or unit in seen:
            raise _invalid(value)
        seen.add(unit)
        total += float(match.group(1)) * _UNIT_SECONDS[unit]
        position = match.end()
    if not seen:
        raise _invalid(value)
    return _seconds(total, value)


def _seconds(amount: int | float, original: object) -> timedelta:
    """``amount`` seconds, of either sign (the caller checks it)."""
    if isinstance(amount, float) and not math.isfinite(amount):
        raise ValueError(f"interval={original!r} is not a finite number")
    if abs(amount) > MAX_SECONDS:
        raise _too_long(original)
    return timedelta(seconds=amount)


def _too_long(value: object) -> ValueError:
    return ValueError(f"interval={value!r} {TOO_LONG}")


def _invalid(value: object) -> ValueError:
    return ValueError(
        f"Invalid interval={value!r}: expected a positive number of seconds, a timedelta, "
        'or a string such as "30s", "5m", "1h30m", "1d 2h" or "2w"'
    )


def _interval(amounts: dict[str, Any]) -> timedelta:
    """The interval of these ``weeks=``, ``days=``... amounts, checked one by one and in sum."""
    for name, amount in amounts.items():
        check_number(
            amount,
            name,
            maximum=MAX_SECONDS / _UNIT_SECONDS[name[0]],
            too_large=TOO_LONG,
            wrong_type=ValueError,
        )
    interval = timedelta(**amounts)
    if interval <= timedelta(0):
        raise ValueError(
            "IntervalTrigger needs a positive interval: "
            "weeks, days, hours, minutes and seconds are all 0"
        )
    if interval > MAX_DURATION:
        raise ValueError(f"interval={interval} {TOO_LONG}")
    return interval


class IntervalTrigger(ValueTrigger):
    """Fires every ``interval`` of elapsed time.

    Without ``start_at`` the first fire is ``now + interval`` and each later one follows the
    previous fire by ``interval``. With ``start_at`` the fires are ``start_at + k * interval``:
    the first one not in the past, then the first one after the previous fire.
    Arithmetic is in absolute time, so an hourly interval stays 3600 s apart across DST.

    Args:
        weeks, days, hours, minutes, seconds: the interval; non-negative, sum positive.
        start_at: the anchor of the fires; naive values are placed in ``timezone``.
        end_at: no fire after this time.
        timezone: zone for naive datetimes and for the returned times (default: the scheduler's).
        jitter: delay each fire by up to this many seconds, at random.
    """

    __slots__ = ("end_at", "interval", "jitter", "start_at", "timezone")

    alias = "interval"
    shareable = True

    def __init__(
        self,
        weeks: float = 0,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
        start_at: datetime | date | str | None = None,
        end_at: datetime | date | str | None = None,
        timezone: tzinfo | str | None = None,
        jitter: int | float | None = None,
    ) -> None:
        self.interval = _interval(
            {"weeks": weeks, "days": days, "hours": hours, "minutes": minutes, "seconds": seconds}
        )
        self.timezone = to_zone(timezone)
        self.start_at = parse_time(start_at, self.timezone, "start_at")
        self.end_at = parse_time(end_at, self.timezone, "end_at")
        check_order(self.start_at, self.end_at)
        self.jitter = check_jitter(jitter)

    @classmethod
    def from_string(cls, value: int | float | timedelta | str, **options: Any) -> IntervalTrigger:
        """An IntervalTrigger from anything :func:`parse_interval` takes, e.g. ``"1h30m"``."""
        duration = parse_interval(value)
        return cls(
            days=duration.days, seconds=duration.seconds + duration.microseconds / 1e6, **options
        )

    @property
    def interval_length(self) -> float:
        """The interval in seconds."""
        return self.interval.total_seconds()

    def get_next_trigger_time(
        self, timezone: tzinfo | str, previous_time: datetime | None, now: datetime | None = None
    ) -> datetime | None:
        """The next fire, or None when there is none before ``end_at`` or the calendar's end."""
        start = self.start_at
        if (
            previous_time is not None
            and previous_time.tzinfo is not None
            and start is not None
            and start.tzinfo is UTC
            and self.end_at is None
            and not self.jitter
            and (now is None or now.tzinfo is not None)
        ):  # the fire after a fire (the scheduler's question at every fire), anchored in UTC
            zone = resolve_zone(self.timezone, timezone)
            try:
                next_time = self._first_after(start, previous_time)
                if next_time > LAST:
                    return None
                return next_time if zone is UTC else next_time.astimezone(zone)
            except OverflowError:  # past the end of the calendar (year 9999)
                return None
        zone = resolve_zone(self.timezone, timezone)
        previous_time = require_aware(previous_time, "previous_time")
        now = require_aware(now, "now")
        try:
            found = self._next_in_utc(zone, previous_time, now)
            if found is None or found > LAST:
                return None
            jitter = jitter_before(self.jitter, found, localize(self.end_at, zone))
            return self.apply_jitter(found.astimezone(zone), jitter, now or found)
        except OverflowError:  # past the end of the calendar (year 9999)
            return None

    def _next_in_utc(
        self, zone: tzinfo, previous_time: datetime | None, now: datetime | None
    ) -> datetime | None:
        start = localize(self.start_at, zone)
        end = localize(self.end_at, zone)
        if start is None:
            anchor = previous_time or now
            if anchor is None:
                raise ValueError(
                    "An IntervalTrigger without start_at needs `now` for its first fire"
                )
            next_time = as_utc(anchor) + self.interval
        elif previous_time is None:
            next_time = self._first_at_or_after(as_utc(start), now)
        else:
            next_time = self._first_after(as_utc(start), as_utc(previous_time))
        if end is not None and next_time > as_utc(end):
            return None
        return next_time

    def anchored(self, first_fire: datetime, replace: bool = False) -> IntervalTrigger:
        """This trigger with ``start_at = first_fire`` when it has no start of its own (or
        with ``replace``, in place of its own).

        The scheduler anchors a task's interval when it adds the task, so that every later
        fire keeps the same phase (no drift from jitter or from skipping missed fires).
        """
        if self.start_at is not None and not replace:
            return self
        if first_fire.tzinfo is None:
            raise ValueError("first_fire must be timezone-aware")
        cls = type(self)
        anchored = object.__new__(cls)  # a plain copy; copy.copy is slow on the add path
        anchored.interval, anchored.end_at = self.interval, self.end_at
        anchored.timezone, anchored.jitter = self.timezone, self.jitter
        anchored.start_at = first_fire if first_fire.tzinfo is UTC else first_fire.astimezone(UTC)
        if cls is not IntervalTrigger and hasattr(self, "__dict__"):  # a subclass's own
            anchored.__dict__.update(self.__dict__)
        return anchored

    def moved(self, step: timedelta) -> IntervalTrigger:
        """A copy whose fires all come ``step`` later (earlier when negative): its
        ``start_at`` moved. One without ``start_at`` is returned as is (its fires follow the
        previous one). ``end_at`` stays: it is a wall time."""
        if self.start_at is None:
            return self
        return self.anchored(shifted(self.start_at, step.total_seconds()), replace=True)

    def _first_at_or_after(self, start: datetime, now: datetime | None) -> datetime:
        if now is None or start >= now:
            return start
        return start - ((start - now) // self.interval) * self.interval

    def _first_after(self, start: datetime, previous: datetime) -> datetime:
        if previous < start:
            return start
        return start + ((previous - start) // self.interval + 1) * self.interval

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "interval": self.interval,
            "start_at": self.start_at,
            "end_at": self.end_at,
            "timezone": zone_name(self.timezone),
            "jitter": self.jitter,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild from :meth:`__getstate__`'s data, checked as ``__init__`` checks it."""
        check_version(state, "IntervalTrigger")
        self.interval = parse_interval(load_timedelta(state["interval"], "interval"))
        self.timezone = zone_from_name(state.get("timezone"))
        self.start_at = load_datetime(state.get("start_at"), "start_at")
        self.end_at = load_datetime(state.get("end_at"), "end_at")
        check_order(self.start_at, self.end_at)
        self.jitter = check_jitter(state.get("jitter"))

    def _key(self) -> tuple[Any, ...]:
        return (self.interval, self.start_at, self.end_at, self.timezone, self.jitter)

    def _repr_options(self) -> list[tuple[str, Any]]:
        return [
            ("interval", self.interval),
            ("start_at", shown_time(self.start_at)),
            ("end_at", shown_time(self.end_at)),
            ("jitter", self.jitter),
            ("timezone", zone_text(self.timezone)),
        ]

    def __str__(self) -> str:
        return f"interval[{self.interval}]"
