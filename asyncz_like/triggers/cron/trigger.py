"""The cron trigger: calendar fields matched in the wall time of a zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from asyncz_like.triggers._common import (
    ValueTrigger,
    check_jitter,
    check_order,
    jitter_before,
    shown_time,
    zone_of,
)
from asyncz_like.triggers._state import check_version, load_datetime
from asyncz_like.triggers._zones import (
    as_utc,
    fold_end,
    is_ambiguous,
    localize,
    parse_time,
    require_aware,
    resolve_zone,
    wall_to_instant,
    zone_from_name,
    zone_name,
    zone_text,
)
from asyncz_like.triggers.cron.adapter import CronSchedule, CronSpec
from asyncz_like.triggers.cron.crontab import crontab_fields
from asyncz_like.triggers.cron.fields import (
    FIELD_NAMES,
    FieldError,
    parse_day,
    parse_values,
    parse_years,
)
from asyncz_like.utils import to_zone

__all__ = ["CronTrigger"]

FieldValue = int | str
_SECOND = timedelta(seconds=1)
#: What a field left out defaults to when a more significant field was given.
_DEFAULTS = {
    "year": "*",
    "month": "1",
    "day": "1",
    "week": "*",
    "day_of_week": "*",
    "hour": "0",
    "minute": "0",
    "second": "0",
}


class CronTrigger(ValueTrigger):
    """Fires when the wall time in its zone matches every given field (APScheduler 3 style).

    Fields more significant than the most significant one given default to ``*``, less
    significant ones to their minimum: ``CronTrigger(hour=8)`` fires daily at 08:00:00.
    ``day_of_week`` counts 0=mon..6=sun (or takes names); ``week`` is the ISO week.

    DST: a matching wall time that does not exist fires once, at the end of the gap; one that
    exists twice fires once, at its first occurrence.

    Args:
        year, month, day, week, day_of_week, hour, minute, second: field expressions.
        start_at: no fire before this time. end_at: no fire after this time.
        timezone: the zone whose wall time is matched (default: that of an aware ``start_at``,
            else of an aware ``end_at``, as in asyncz; else the scheduler's).
        jitter: delay each fire by up to this many seconds, at random.
        day_or: match a date when ``day`` OR ``day_of_week`` matches, as classic cron does
            (set by :meth:`from_crontab`); by default both must match.
    """

    alias = "cron"

    def __init__(
        self,
        year: FieldValue | None = None,
        month: FieldValue | None = None,
        day: FieldValue | None = None,
        week: FieldValue | None = None,
        day_of_week: FieldValue | None = None,
        hour: FieldValue | None = None,
        minute: FieldValue | None = None,
        second: FieldValue | None = None,
        start_at: datetime | date | str | None = None,
        end_at: datetime | date | str | None = None,
        timezone: tzinfo | str | None = None,
        jitter: int | float | None = None,
        *,
        day_or: bool = False,
    ) -> None:
        values = (year, month, day, week, day_of_week, hour, minute, second)
        given = {name: value for name, value in zip(FIELD_NAMES, values, strict=True)}
        zone = to_zone(timezone) or to_zone(zone_of(start_at) or zone_of(end_at))
        self._setup(given, start_at, end_at, zone, jitter, day_or)

    def _setup(
        self,
        given: dict[str, FieldValue | None],
        start_at: datetime | date | str | None,
        end_at: datetime | date | str | None,
        timezone: tzinfo | None,
        jitter: int | float | None,
        day_or: bool,
    ) -> None:
        self.given_fields = {
            name: _expression(name, value) for name, value in given.items() if value is not None
        }
        self.fields = _with_defaults(self.given_fields)
        self.timezone = timezone
        self.start_at = parse_time(start_at, timezone, "start_at")
        self.end_at = parse_time(end_at, timezone, "end_at")
        check_order(self.start_at, self.end_at)
        self.jitter = check_jitter(jitter)
        if not isinstance(day_or, bool):
            raise TypeError(f"day_or must be a boolean, got {day_or!r}")
        self.day_or = day_or
        self._schedule = CronSchedule(_spec(self.fields, self.day_or))

    @classmethod
    def from_crontab(
        cls, expr: str, timezone: tzinfo | str | None = None, jitter: int | float | None = None
    ) -> CronTrigger:
        """A trigger from a five-field crontab line ``minute hour day month day_of_week``.

        Classic meaning: weekdays count 0 (or 7)=Sunday; when both the day-of-month and the
        day-of-week field are restricted (neither starts with ``*``), a day matching either
        one fires. Macros: ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``,
        ``@midnight``, ``@hourly``.
        """
        fields, day_or = crontab_fields(expr)
        try:
            return cls(**fields, timezone=timezone, jitter=jitter, day_or=day_or)
        except FieldError as exc:
            raise ValueError(f"{exc} in crontab expression {expr!r}") from None

    def get_next_trigger_time(
        self, timezone: tzinfo | str, previous_time: datetime | None, now: datetime | None = None
    ) -> datetime | None:
        zone = resolve_zone(self.timezone, timezone)
        previous_time = require_aware(previous_time, "previous_time")
        now = require_aware(now, "now")
        start, end = localize(self.start_at, zone), localize(self.end_at, zone)
        if previous_time is not None:
            lower, inclusive = as_utc(previous_time), False
            if start is not None and as_utc(start) > lower:
                lower, inclusive = as_utc(start), True
        else:
            bounds = [as_utc(value) for value in (now, start) if value is not None]
            if not bounds:
                raise ValueError("A CronTrigger without start_at needs `now` for its first fire")
            lower, inclusive = max(bounds), True
        try:
            found = self._first_match(zone, lower, inclusive)
        except OverflowError:  # the end of the calendar (year 9999)
            return None
        if found is None or (end is not None and as_utc(found) > as_utc(end)):
            return None
        jitter = jitter_before(self.jitter, found, end)
        return self.apply_jitter(found, jitter, now or found)

    def _first_match(self, zone: tzinfo, lower: datetime, inclusive: bool) -> datetime | None:
        """The first matching instant after ``lower`` (or at it, when ``inclusive``)."""
        wall = lower.astimezone(zone).replace(tzinfo=None)
        whole = wall.replace(microsecond=0)
        start_wall = whole + _SECOND if wall != whole or not inclusive else whole
        while True:
            for candidate in self._schedule.iter_from(start_wall):
                instant = wall_to_instant(candidate, zone)
                if as_utc(instant) > lower or (inclusive and as_utc(instant) == lower):
                    return instant
                if is_ambiguous(candidate, zone):
                    # ``lower`` lies in the second pass of a fold, whose wall times have all
                    # fired already (first occurrence): go on from where the fold ends.
                    start_wall = fold_end(candidate, zone)
                    break
            else:
                return None

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "fields": dict(self.given_fields),
            "start_at": self.start_at,
            "end_at": self.end_at,
            "timezone": zone_name(self.timezone),
            "jitter": self.jitter,
            "day_or": self.day_or,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild from :meth:`__getstate__`'s data, checked as ``__init__`` checks it."""
        check_version(state, "CronTrigger")
        fields = state.get("fields", {})
        if not isinstance(fields, dict):
            raise ValueError(f"fields must map cron field names to expressions, got {fields!r}")
        unknown = set(fields) - set(FIELD_NAMES)
        if unknown:
            raise ValueError(f"Unknown cron fields in trigger state: {sorted(unknown)}")
        self._setup(
            dict(fields),
            load_datetime(state.get("start_at"), "start_at"),
            load_datetime(state.get("end_at"), "end_at"),
            zone_from_name(state.get("timezone")),
            state.get("jitter"),
            state.get("day_or", False),
        )

    def _key(self) -> tuple[Any, ...]:
        return (
            tuple(self.fields.items()),
            self.start_at,
            self.end_at,
            self.timezone,
            self.jitter,
            self.day_or,
        )

    def _field_options(self) -> list[tuple[str, Any]]:
        return [
            (name, self.given_fields[name]) for name in FIELD_NAMES if name in self.given_fields
        ]

    def _repr_options(self) -> list[tuple[str, Any]]:
        return [
            *self._field_options(),
            ("start_at", shown_time(self.start_at)),
            ("end_at", shown_time(self.end_at)),
            ("jitter", None if self.jitter is None else str(self.jitter)),
            ("timezone", zone_text(self.timezone)),
            ("day_or", True if self.day_or else None),
        ]

    def __str__(self) -> str:
        options = ", ".join(f"{name}='{value}'" for name, value in self._field_options())
        return f"cron[{options}]"


def _expression(name: str, value: FieldValue) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"Invalid {name} expression {value!r}: expected a string or an int")
    return str(value).strip()


def _with_defaults(given: dict[str, str]) -> dict[str, str]:
    """Every field's expression: ``*`` above the most significant given field, minimum below."""
    fields, remaining, below_given = {}, set(given), False
    for name in FIELD_NAMES:
        if name in given:
            fields[name] = given[name]
            remaining.discard(name)
            below_given = not remaining
        else:
            fields[name] = _DEFAULTS[name] if below_given else "*"
    return fields


def _spec(fields: dict[str, str], day_or: bool) -> CronSpec:
    return CronSpec(
        years=parse_years(fields["year"]),
        months=parse_values("month", fields["month"]),
        day=parse_day(fields["day"]),
        weeks=parse_values("week", fields["week"]),
        weekdays=parse_values("day_of_week", fields["day_of_week"]),
        hours=parse_values("hour", fields["hour"]),
        minutes=parse_values("minute", fields["minute"]),
        seconds=parse_values("second", fields["second"]),
        day_or=day_or,
    )
