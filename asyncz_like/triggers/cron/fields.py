"""Parsing of cron field expressions (APScheduler 3 syntax) into the values they allow.

Numeric fields accept ``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n``, ``a/n`` (``a`` to the maximum
in steps of ``n``) and comma-separated lists; ``month`` and ``day_of_week`` also take names
(``jan``, ``mon``). ``day`` also takes ``last`` (or ``L``), ``last fri`` and ``1st``..``5th mon``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

__all__ = [
    "FIELD_BOUNDS",
    "FIELD_NAMES",
    "DaySpec",
    "YearSpec",
    "parse_day",
    "parse_values",
    "parse_years",
]

FIELD_NAMES = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
FIELD_BOUNDS = {
    "year": (1970, 9999),
    "month": (1, 12),
    "day": (1, 31),
    "week": (1, 53),
    "day_of_week": (0, 6),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAMES = {
    "month": {name: index + 1 for index, name in enumerate(MONTH_NAMES)},
    "day_of_week": {name: index for index, name in enumerate(WEEKDAY_NAMES)},
}
_RANGE = re.compile(r"(?P<first>\*|[a-z0-9]+)(?:-(?P<last>[a-z0-9]+))?(?:/(?P<step>\d+))?")
_POSITIONS = {"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "last": -1}
_WEEKDAY_POSITION = re.compile(
    rf"(?P<position>{'|'.join(_POSITIONS)})\s+(?P<weekday>{'|'.join(WEEKDAY_NAMES)})"
)

Range = tuple[int, int, int]  # first, last, step


class FieldError(ValueError):
    """A cron field expression that cannot be parsed; the message names the field."""

    def __init__(self, field: str, expression: str, reason: str) -> None:
        super().__init__(f"Invalid {field} expression {expression!r}: {reason}")
        self.field = field


class FieldRangeError(FieldError):
    """A value of a cron field beyond what the field takes: named as any FieldError, then
    in asyncz's words (``Error validating expression '0-24': The last value (24) is ...``)."""

    def __init__(self, field: str, expression: str, item: str, reason: str) -> None:
        ValueError.__init__(
            self,
            f"Invalid {field} expression {expression!r}. "
            f"Error validating expression {item!r}: {reason}.",
        )
        self.field = field


def _items(field: str, expression: str) -> list[str]:
    items = [item.strip().lower() for item in expression.split(",")]
    if not all(items):
        raise FieldError(field, expression, "empty list item")
    return items


def _number(field: str, expression: str, token: str) -> int:
    value = _NAMES.get(field, {}).get(token)
    if value is None:
        if not token.isdigit():
            raise FieldError(field, expression, f"{token!r} is neither a number nor a known name")
        value = int(token)
    return value


def _check_bounds(field: str, expression: str, item: str, first: int, last: int) -> None:
    low, high = FIELD_BOUNDS[field]
    if first < low:
        reason = f"The first value ({first}) is lower than the minimum value ({low})"
    elif max(first, last) > high:
        value = max(first, last)
        reason = f"The last value ({value}) is higher than the maximum value ({high})"
    else:
        return
    raise FieldRangeError(field, expression, item, reason)


def _parse_range(field: str, expression: str, item: str) -> Range:
    match = _RANGE.fullmatch(item)
    if match is None:
        raise FieldError(field, expression, f"cannot parse {item!r}")
    low, high = FIELD_BOUNDS[field]
    first_text, last_text, step_text = match.group("first", "last", "step")
    step = int(step_text) if step_text else 1
    if step == 0:
        raise FieldError(field, expression, "the step must be at least 1")
    if first_text == "*":
        if last_text is not None:
            raise FieldError(field, expression, f"cannot parse {item!r}")
        return low, high, step
    first = _number(field, expression, first_text)
    if last_text is not None:
        last = _number(field, expression, last_text)
    else:
        last = max(high, first) if step_text else first
    _check_bounds(field, expression, item, first, last)
    if last < first:
        raise FieldError(field, expression, f"the range {item!r} ends before it starts")
    return first, last, step


def parse_values(field: str, expression: str) -> frozenset[int]:
    """The values a numeric field (not ``year`` or ``day``) allows."""
    values: set[int] = set()
    for item in _items(field, expression):
        first, last, step = _parse_range(field, expression, item)
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class YearSpec:
    """The years allowed, kept as ranges since they run up to 9999."""

    ranges: tuple[Range, ...]

    @property
    def is_any(self) -> bool:
        return self.ranges == ((*FIELD_BOUNDS["year"], 1),)

    def next_year(self, year: int) -> int | None:
        """The first allowed year that is ``year`` or later."""
        best: int | None = None
        for first, last, step in self.ranges:
            if year > last:
                continue
            candidate = first if year <= first else first - ((first - year) // step) * step
            if candidate <= last and (best is None or candidate < best):
                best = candidate
        return best


def parse_years(expression: str) -> YearSpec:
    return YearSpec(
        tuple(_parse_range("year", expression, item) for item in _items("year", expression))
    )


@dataclass(frozen=True)
class DaySpec:
    """The ``day`` field: plain days of the month plus ``last`` and weekday positions."""

    days: frozenset[int]
    #: ``(weekday, position)`` with position 1..5, -1 for the last such weekday, or
    #: ``(None, -1)`` for the last day of the month.
    positions: frozenset[tuple[int | None, int]]

    @property
    def is_plain(self) -> bool:
        return not self.positions

    @property
    def is_any(self) -> bool:
        return self.days == frozenset(range(1, 32))

    def matches(self, day: date) -> bool:
        if day.day in self.days:
            return True
        if not self.positions:
            return False
        month_length = calendar.monthrange(day.year, day.month)[1]
        for weekday, position in self.positions:
            if weekday is None:
                if day.day == month_length:
                    return True
            elif day.weekday() == weekday and (
                (day.day - 1) // 7 + 1 == position
                or (position == -1 and day.day + 7 > month_length)
            ):
                return True
        return False


def parse_day(expression: str) -> DaySpec:
    days: set[int] = set()
    positions: set[tuple[int | None, int]] = set()
    for item in _items("day", expression):
        weekday_position = _WEEKDAY_POSITION.fullmatch(" ".join(item.split()))
        if item in ("last", "l"):
            positions.add((None, -1))
        elif weekday_position:
            weekday = WEEKDAY_NAMES.index(weekday_position.group("weekday"))
            positions.add((weekday, _POSITIONS[weekday_position.group("position")]))
        else:
            first, last, step = _parse_range("day", expression, item)
            days.update(range(first, last + 1, step))
    return DaySpec(frozenset(days), frozenset(positions))


# asyncz's field objects live here in asyncz; imported last (they use nothing of this module).
from asyncz_like.triggers.cron.field_objects import (  # noqa: E402
    BaseField,
    DayOfMonthField,
    DayOfWeekField,
    MonthField,
    WeekField,
)

__all__ += ["BaseField", "DayOfMonthField", "DayOfWeekField", "MonthField", "WeekField"]
