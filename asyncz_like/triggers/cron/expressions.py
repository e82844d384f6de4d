"""asyncz's cron expression objects: one item of a cron field, asked for its next value.

The cron trigger itself parses fields with :mod:`asyncz_like.triggers.cron.fields` and
computes fires through croniter; these classes serve code written against asyncz's (and
APScheduler 3's) field API. ``field`` below is a ``BaseField`` of
:mod:`asyncz_like.triggers.cron.fields`.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from typing import Any, ClassVar

__all__ = [
    "WEEKDAYS",
    "AllExpression",
    "LastDayOfMonthExpression",
    "MonthRangeExpression",
    "RangeExpression",
    "WeekdayPositionExpression",
    "WeekdayRangeExpression",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


class AllExpression:
    """``*`` or ``*/step``: every value of the field (every ``step``-th from its minimum)."""

    value_re: ClassVar[re.Pattern[str]] = re.compile(r"\*(?:/(?P<step>\d+))?$")

    def __init__(self, step: int | str | None = None) -> None:
        self.step = _as_int(step)
        if self.step == 0:
            raise ValueError("Increment must be higher than 0")

    def validate_range(self, field_name: str, low: int, high: int) -> None:
        """Raise ValueError when the step does not fit the field's span."""
        if self.step is not None and self.step > high - low + 1:
            raise ValueError(
                f"the step value ({self.step}) is higher than the total range of the "
                f"expression ({high - low + 1}) in field {field_name!r}"
            )

    def get_next_value(self, date: datetime, field: Any) -> int | None:
        """The smallest allowed value of ``field`` at or after ``date``'s, or None."""
        low, high = field.get_min(date), field.get_max(date)
        start = max(field.get_value(date), low)
        return self._stepped(start, low, high)

    def _stepped(self, start: int, low: int, high: int) -> int | None:
        value = start
        if self.step:
            value += (self.step - (start - low)) % self.step
        return value if value <= high else None

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(vars(self).items()))))

    def __str__(self) -> str:
        return f"*/{self.step}" if self.step else "*"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.step})"


class RangeExpression(AllExpression):
    """``first``, ``first-last`` or either with ``/step``."""

    value_re: ClassVar[re.Pattern[str]] = re.compile(
        r"(?P<first>\d+)(?:-(?P<last>\d+))?(?:/(?P<step>\d+))?$"
    )

    def __init__(
        self, first: int | str, last: int | str | None = None, step: int | str | None = None
    ) -> None:
        super().__init__(step)
        start = _as_int(first)
        assert start is not None
        end = _as_int(last)
        if end is None and self.step is None:
            end = start
        if end is not None and start > end:
            raise ValueError("The minimum value in a range must not be higher than the maximum")
        self.first: int = start
        self.last = end

    def validate_range(self, field_name: str, low: int, high: int) -> None:
        if self.first < low:
            raise ValueError(f"the first value ({self.first}) is lower than the minimum ({low})")
        if self.last is not None and self.last > high:
            raise ValueError(f"the last value ({self.last}) is higher than the maximum ({high})")
        span = (self.last if self.last is not None else high) - self.first + 1
        if self.step is not None and self.step > span:
            raise ValueError(
                f"the step value ({self.step}) is higher than the total range of the "
                f"expression ({span}) in field {field_name!r}"
            )

    def get_next_value(self, date: datetime, field: Any) -> int | None:
        low = max(field.get_min(date), self.first)
        high = field.get_max(date)
        if self.last is not None:
            high = min(high, self.last)
        return self._stepped(max(low, field.get_value(date)), low, high)

    def _range_text(self) -> str:
        if self.last is not None and self.last != self.first:
            return f"{self.first}-{self.last}"
        return str(self.first)

    def __str__(self) -> str:
        text = self._range_text()
        return f"{text}/{self.step}" if self.step else text

    def __repr__(self) -> str:
        args = [str(self.first)]
        if (self.last is not None and self.last != self.first) or self.step:
            args.append(str(self.last))
        if self.step:
            args.append(str(self.step))
        return f"{type(self).__name__}({', '.join(args)})"


class MonthRangeExpression(RangeExpression):
    """``jan`` or ``jan-mar``: months by name."""

    value_re: ClassVar[re.Pattern[str]] = re.compile(
        r"(?P<first>[a-z]+)(?:-(?P<last>[a-z]+))?$", re.IGNORECASE
    )

    def __init__(self, first: str, last: str | None = None) -> None:
        super().__init__(_index(MONTHS, first, "month") + 1, _named(MONTHS, last, "month", 1))

    def __str__(self) -> str:
        text = MONTHS[self.first - 1]
        if self.last is not None and self.last != self.first:
            text += f"-{MONTHS[self.last - 1]}"
        return text

    def __repr__(self) -> str:
        args = [repr(MONTHS[self.first - 1])]
        if self.last is not None and self.last != self.first:
            args.append(repr(MONTHS[self.last - 1]))
        return f"{type(self).__name__}({', '.join(args)})"


class WeekdayRangeExpression(RangeExpression):
    """``mon`` or ``mon-fri``: days of the week by name (0 is Monday)."""

    value_re: ClassVar[re.Pattern[str]] = re.compile(
        r"(?P<first>[a-z]+)(?:-(?P<last>[a-z]+))?$", re.IGNORECASE
    )

    def __init__(self, first: str, last: str | None = None) -> None:
        super().__init__(_index(WEEKDAYS, first, "weekday"), _named(WEEKDAYS, last, "weekday", 0))

    def __str__(self) -> str:
        text = WEEKDAYS[self.first]
        if self.last is not None and self.last != self.first:
            text += f"-{WEEKDAYS[self.last]}"
        return text

    def __repr__(self) -> str:
        args = [repr(WEEKDAYS[self.first])]
        if self.last is not None and self.last != self.first:
            args.append(repr(WEEKDAYS[self.last]))
        return f"{type(self).__name__}({', '.join(args)})"


class WeekdayPositionExpression(AllExpression):
    """``1st fri`` .. ``5th fri`` or ``last fri``: that weekday's place in the month."""

    options: ClassVar[tuple[str, ...]] = ("1st", "2nd", "3rd", "4th", "5th", "last")
    value_re: ClassVar[re.Pattern[str]] = re.compile(
        rf"(?P<option_name>{'|'.join(options)}) +(?P<weekday_name>(?:\d+|\w+))$", re.IGNORECASE
    )

    def __init__(self, option_name: str, weekday_name: str) -> None:
        super().__init__(None)
        try:
            self.option_num = self.options.index(option_name.lower())
        except ValueError:
            raise ValueError(f"Invalid weekday position {option_name!r}") from None
        self.weekday = _index(WEEKDAYS, weekday_name, "weekday")

    def get_next_value(self, date: datetime, field: Any) -> int | None:
        first_weekday, last_day = calendar.monthrange(date.year, date.month)
        first_hit = (self.weekday - first_weekday) % 7 + 1
        if self.option_num < 5:
            target = first_hit + self.option_num * 7
        else:
            target = first_hit + ((last_day - first_hit) // 7) * 7
        return target if date.day <= target <= last_day else None

    def __str__(self) -> str:
        return f"{self.options[self.option_num]} {WEEKDAYS[self.weekday]}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.options[self.option_num]!r}, {WEEKDAYS[self.weekday]!r})"
        )


class LastDayOfMonthExpression(AllExpression):
    """``last``: the month's last day."""

    value_re: ClassVar[re.Pattern[str]] = re.compile(r"last$", re.IGNORECASE)

    def __init__(self) -> None:
        super().__init__(None)

    def get_next_value(self, date: datetime, field: Any) -> int | None:
        return calendar.monthrange(date.year, date.month)[1]

    def __str__(self) -> str:
        return "last"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _index(names: tuple[str, ...], name: str, kind: str) -> int:
    try:
        return names.index(str(name).lower())
    except ValueError:
        raise ValueError(f"Invalid {kind} name {name!r}") from None


def _named(names: tuple[str, ...], name: str | None, kind: str, offset: int) -> int | None:
    return None if name is None else _index(names, name, kind) + offset
