"""The one place that talks to croniter: iterating the wall times a cron spec matches.

croniter walks seconds, minutes, hours, days of the month, months and weekdays. What it cannot
express (years, ISO weeks, ``last``/``3rd fri`` days) is checked here per date; a date that fails
is skipped with cheap date arithmetic before croniter is started again from the next good one.
Everything here is naive wall time; mapping to instants (and DST) is the trigger's job.
"""

from __future__ import annotations

import copy
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from croniter import CroniterBadDateError, croniter

from asyncz_like.triggers.cron.fields import DaySpec, YearSpec

__all__ = ["CronSchedule", "CronSpec"]

_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)
#: Give up when no date matches within this many calendar years (the Gregorian cycle is 400).
MAX_YEARS_SCANNED = 400


@dataclass(frozen=True)
class CronSpec:
    """What each cron field allows. Weekdays count 0=Monday..6=Sunday."""

    years: YearSpec
    months: frozenset[int]
    day: DaySpec
    weeks: frozenset[int]
    weekdays: frozenset[int]
    hours: frozenset[int]
    minutes: frozenset[int]
    seconds: frozenset[int]
    #: A date matches when ``day`` OR ``weekdays`` matches (classic crontab); else both must.
    day_or: bool = False

    def date_matches(self, day: date) -> bool:
        if self.years.next_year(day.year) != day.year or day.month not in self.months:
            return False
        if len(self.weeks) < 53 and day.isocalendar().week not in self.weeks:
            return False
        in_day = self.day.matches(day)
        in_weekdays = day.weekday() in self.weekdays
        return (in_day or in_weekdays) if self.day_or else (in_day and in_weekdays)


def _field(values: frozenset[int], size: int) -> str:
    if len(values) == size:
        return "*"
    return ",".join(str(value) for value in sorted(values))


class CronSchedule:
    """Iterates the naive wall times a :class:`CronSpec` matches, in order."""

    def __init__(self, spec: CronSpec) -> None:
        self.spec = spec
        day = _field(spec.day.days, 31)
        weekdays = _field(frozenset((weekday + 1) % 7 for weekday in spec.weekdays), 7)
        self._day_or = False
        if not spec.day.is_plain:
            day, weekdays = "*", "*" if spec.day_or else weekdays
        elif spec.day_or:
            every_day = "*" in (day, weekdays)
            day, weekdays = ("*", "*") if every_day else (day, weekdays)
            self._day_or = not every_day
        minute, hour = _field(spec.minutes, 60), _field(spec.hours, 24)
        month, second = _field(spec.months, 12), _field(spec.seconds, 60)
        # croniter's six-field form puts seconds last; its weekdays count 0=Sunday.
        self._expression = f"{minute} {hour} {day} {month} {weekdays} {second}"
        self._prototype = croniter(self._expression, datetime(2000, 1, 1), day_or=self._day_or)
        self._filtered = not (spec.day.is_plain and spec.years.is_any and len(spec.weeks) == 53)

    def iter_from(self, start: datetime) -> Iterator[datetime]:
        """Matching wall times at or after ``start`` (naive, whole seconds), ascending."""
        current: datetime | None = start
        while current is not None:
            if self._filtered:
                day = self._next_date(current.date())
                if day is None:
                    return
                if day != current.date():
                    current = datetime.combine(day, time())
            current = yield from self._run_croniter(current)

    def _run_croniter(self, start: datetime) -> Generator[datetime, None, datetime | None]:
        """Yield croniter's matches; return where to restart after a date that fails the filter."""
        # A copy of one parsed croniter is much cheaper than parsing again, and keeps each
        # call's iteration state its own (triggers are shared between threads).
        iterator = copy.copy(self._prototype)
        iterator.set_current(start - _SECOND, force=True)
        while True:
            try:
                candidate: datetime = iterator.get_next(datetime)
            except (CroniterBadDateError, OverflowError):
                return None  # nothing within croniter's horizon, or past year 9999
            if self._filtered and not self.spec.date_matches(candidate.date()):
                try:
                    return datetime.combine(candidate.date() + _DAY, time())
                except OverflowError:
                    return None
            yield candidate

    def _next_date(self, day: date) -> date | None:
        """The first date on or after ``day`` that every date-level field allows."""
        spec, years_scanned, scanning = self.spec, 0, None
        try:
            while True:
                year = spec.years.next_year(day.year)
                if year is None:
                    return None
                if year != day.year:
                    day = date(year, 1, 1)
                if day.year != scanning:
                    scanning, years_scanned = day.year, years_scanned + 1
                    if years_scanned > MAX_YEARS_SCANNED:
                        return None
                if day.month not in spec.months:
                    day = self._next_month_start(day)
                elif spec.date_matches(day):
                    return day
                else:
                    day += _DAY
        except (OverflowError, ValueError):  # past the year 9999
            return None

    def _next_month_start(self, day: date) -> date:
        later = [month for month in self.spec.months if month > day.month]
        if later:
            return date(day.year, min(later), 1)
        return date(day.year + 1, 1, 1)
