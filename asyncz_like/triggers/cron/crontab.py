"""Translation of classic five-field crontab lines into CronTrigger fields.

Differences from CronTrigger's own fields that are handled here:

* weekdays count 0 (or 7)=Sunday, 1=Monday, ..., 6=Saturday (CronTrigger: 0=Monday);
* when the day-of-month and day-of-week fields both do not start with ``*``, a day matching
  EITHER fires (Vixie/Debian cron, cronsim); otherwise both must match;
* extensions: ``L`` (last day) in the day-of-month field, ``5L`` (last Friday) and ``5#3``
  (third Friday) in the day-of-week field.
"""

from __future__ import annotations

import re

from asyncz_like.triggers.cron.fields import WEEKDAY_NAMES, FieldError, parse_day

__all__ = ["MACROS", "crontab_fields"]

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_CRON_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_ORDINALS = ("1st", "2nd", "3rd", "4th", "5th")
_RANGE = re.compile(r"(?P<first>\*|[a-z0-9]+)(?:-(?P<last>[a-z0-9]+))?(?:/(?P<step>\d+))?")
_LAST = re.compile(r"(?P<weekday>[a-z0-9]+)l")
_NTH = re.compile(r"(?P<weekday>[a-z0-9]+)#(?P<nth>[1-5])")


def crontab_fields(expr: str) -> tuple[dict[str, str], bool]:
    """CronTrigger field expressions for a crontab line, and whether days match by OR."""
    if not isinstance(expr, str):
        raise ValueError(f"Invalid crontab expression {expr!r}: expected a string")
    text = " ".join(expr.split())
    parts = MACROS.get(text.lower(), text).split()
    if len(parts) != 5:
        raise ValueError(
            f"Invalid crontab expression {expr!r}: expected 5 fields "
            f"(minute hour day month day_of_week), got {len(parts)}"
        )
    minute, hour, day, month, day_of_week = parts
    try:
        day = ",".join("last" if item.lower() == "l" else item for item in day.split(","))
        day, weekdays, day_or = _combine_days(day, day_of_week)
    except FieldError as exc:
        raise ValueError(f"{exc} in crontab expression {expr!r}") from None
    fields = {"minute": minute, "hour": hour, "day": day, "month": month}
    return {**fields, "day_of_week": weekdays}, day_or


def _combine_days(day: str, day_of_week: str) -> tuple[str, str, bool]:
    """The ``day`` and ``day_of_week`` fields and the OR flag for the two crontab fields."""
    weekdays, positions = _parse_weekdays(day_of_week)
    restricted = not day.startswith("*") and not day_of_week.startswith("*")
    if not positions:
        return day, _render_weekdays(weekdays), restricted
    plain = _render_weekdays(weekdays) if weekdays else None
    if restricted:  # day OR weekdays OR positions
        return ",".join([day, *positions]), plain or "*", plain is not None
    if plain == "*":
        return day, "*", False
    spec = parse_day(day)
    if not (spec.is_any and spec.is_plain):
        raise FieldError(
            "day_of_week",
            day_of_week,
            "'L' and '#' weekdays combine only with '*' or a day-of-month without a leading '*'",
        )
    return ",".join(positions), plain or "*", plain is not None


def _parse_weekdays(expression: str) -> tuple[set[int], list[str]]:
    """Weekdays (0=Monday) and day-field positions such as ``last fri`` of a crontab field."""
    weekdays: set[int] = set()
    positions: list[str] = []
    for item in (part.strip().lower() for part in expression.split(",")):
        last, nth = _LAST.fullmatch(item), _NTH.fullmatch(item)
        if last:
            positions.append(f"last {_weekday_name(last.group('weekday'), expression)}")
        elif nth:
            ordinal = _ORDINALS[int(nth.group("nth")) - 1]
            positions.append(f"{ordinal} {_weekday_name(nth.group('weekday'), expression)}")
        else:
            weekdays.update((value - 1) % 7 for value in _cron_range(item, expression))
    return weekdays, positions


def _cron_weekday(token: str, expression: str) -> int:
    if token in _CRON_WEEKDAYS:
        return _CRON_WEEKDAYS.index(token)
    if not token.isdigit() or int(token) > 7:
        raise FieldError("day_of_week", expression, f"{token!r} is not a weekday (0-7, sun-sat)")
    return int(token)


def _weekday_name(token: str, expression: str) -> str:
    return WEEKDAY_NAMES[(_cron_weekday(token, expression) - 1) % 7]


def _cron_range(item: str, expression: str) -> range:
    """Cron weekday numbers (0-7) of one list item, stepping like cron over 0-7."""
    match = _RANGE.fullmatch(item)
    if match is None:
        raise FieldError("day_of_week", expression, f"cannot parse {item!r}")
    first_text, last_text, step_text = match.group("first", "last", "step")
    step = int(step_text) if step_text else 1
    if step == 0:
        raise FieldError("day_of_week", expression, "the step must be at least 1")
    if first_text == "*":
        if last_text is not None:
            raise FieldError("day_of_week", expression, f"cannot parse {item!r}")
        return range(0, 8, step)
    first = _cron_weekday(first_text, expression)
    last = _cron_weekday(last_text, expression) if last_text else (7 if step_text else first)
    if last < first:
        raise FieldError("day_of_week", expression, f"the range {item!r} ends before it starts")
    return range(first, last + 1, step)


def _render_weekdays(weekdays: set[int]) -> str:
    """A CronTrigger day_of_week expression such as ``mon-fri,sun``; ``*`` for all seven."""
    if len(weekdays) == 7:
        return "*"
    runs: list[list[int]] = []
    for value in sorted(weekdays):
        if runs and runs[-1][-1] == value - 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ",".join(
        f"{WEEKDAY_NAMES[run[0]]}-{WEEKDAY_NAMES[run[-1]]}"
        if len(run) > 2
        else ",".join(WEEKDAY_NAMES[value] for value in run)
        for run in runs
    )
