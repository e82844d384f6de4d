"""asyncz's cron field objects (``BaseField`` and its kinds), built from expression objects.

Re-exported by :mod:`asyncz_like.triggers.cron.fields`, where asyncz has them.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any, ClassVar

from asyncz_like.triggers.cron.expressions import (
    AllExpression,
    LastDayOfMonthExpression,
    MonthRangeExpression,
    RangeExpression,
    WeekdayPositionExpression,
    WeekdayRangeExpression,
)

__all__ = [
    "DEFAULT_VALUES",
    "MAX_VALUES",
    "MIN_VALUES",
    "BaseField",
    "DayOfMonthField",
    "DayOfWeekField",
    "MonthField",
    "WeekField",
]

MIN_VALUES = {
    "year": 1970,
    "month": 1,
    "day": 1,
    "week": 1,
    "day_of_week": 0,
    "hour": 0,
    "minute": 0,
    "second": 0,
}
MAX_VALUES = {
    "year": 9999,
    "month": 12,
    "day": 31,
    "week": 53,
    "day_of_week": 6,
    "hour": 23,
    "minute": 59,
    "second": 59,
}
DEFAULT_VALUES: dict[str, int | str] = {
    "year": "*",
    "month": 1,
    "day": 1,
    "week": "*",
    "day_of_week": "*",
    "hour": 0,
    "minute": 0,
    "second": 0,
}


class BaseField:
    """One cron field (``hour``, ``day``...): comma-separated expressions, asked for the
    smallest value they allow at or after a given time."""

    real: ClassVar[bool] = True
    compilers: ClassVar[tuple[type[AllExpression], ...]] = (AllExpression, RangeExpression)

    def __init__(self, name: str, exprs: Any, is_default: bool = False) -> None:
        if name not in MIN_VALUES:
            raise ValueError(f"Unknown cron field {name!r}")
        self.name = name
        self.is_default = is_default
        self.expressions: list[AllExpression] = [
            self.compile_expression(item) for item in str(exprs).strip().lower().split(",")
        ]

    def get_min(self, date: datetime) -> int:
        return MIN_VALUES[self.name]

    def get_max(self, date: datetime) -> int:
        return MAX_VALUES[self.name]

    def get_value(self, date: datetime) -> int:
        return int(getattr(date, self.name))

    def get_next_value(self, date: datetime) -> int | None:
        """The smallest value any expression allows at or after ``date``'s, or None."""
        values = [expr.get_next_value(date, self) for expr in self.expressions]
        found = [value for value in values if value is not None]
        return min(found) if found else None

    def compile_expression(self, expr: str) -> AllExpression:
        text = expr.strip()
        for compiler in self.compilers:
            match = compiler.value_re.match(text)
            if match:
                compiled = compiler(**match.groupdict())
                compiled.validate_range(self.name, MIN_VALUES[self.name], MAX_VALUES[self.name])
                return compiled
        raise ValueError(f"Unrecognized expression {text!r} for field {self.name!r}")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BaseField)
            and type(other) is type(self)
            and (other.name, other.expressions) == (self.name, self.expressions)
        )

    def __hash__(self) -> int:
        return hash((type(self), self.name, str(self)))

    def __str__(self) -> str:
        return ",".join(str(expr) for expr in self.expressions)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {str(self)!r})"


class WeekField(BaseField):
    """The ISO week of the year."""

    real = False

    def get_value(self, date: datetime) -> int:
        return date.isocalendar()[1]


class DayOfMonthField(BaseField):
    """The day of the month: numbers, ``last``, ``1st fri`` .. ``last fri``."""

    compilers = (*BaseField.compilers, WeekdayPositionExpression, LastDayOfMonthExpression)

    def get_max(self, date: datetime) -> int:
        return calendar.monthrange(date.year, date.month)[1]


class DayOfWeekField(BaseField):
    """The day of the week, 0 (Monday) to 6, or by name."""

    real = False
    compilers = (*BaseField.compilers, WeekdayRangeExpression)

    def get_value(self, date: datetime) -> int:
        return date.weekday()


class MonthField(BaseField):
    """The month, 1 to 12, or by name."""

    compilers = (*BaseField.compilers, MonthRangeExpression)
