"""Triggers in words, for people: ``every 5 minutes``, ``at 08:00 on mon-fri``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from asyncz_like.triggers.combining import AndTrigger, OrTrigger
from asyncz_like.triggers.cron.trigger import CronTrigger
from asyncz_like.triggers.date import DateTrigger
from asyncz_like.triggers.interval import IntervalTrigger
from asyncz_like.triggers.shutdown import ShutdownTrigger

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
_DAY_FIELDS = (("day_of_week", "on"), ("day", "on day"), ("week", "in week"), ("month", "in month"))


def interval_words(interval: timedelta) -> str:
    """``every 5 minutes``, ``every 1 hour 30 minutes``, ``every 0.5 seconds``."""
    seconds = interval.total_seconds()
    if seconds < 1 or seconds != int(seconds):
        return f"every {seconds:g} seconds"
    left, parts = int(seconds), []
    for name, size in _UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {name}{'s' if count > 1 else ''}")
    return "every " + " ".join(parts)


def _is_number(value: str) -> bool:
    return value.isdigit()


def cron_words(fields: dict[str, str], given: dict[str, str]) -> str:
    """Cron fields in words; plain numbers for hour and minute read as a time of day."""
    hour, minute, second = fields["hour"], fields["minute"], fields["second"]
    if _is_number(hour) and _is_number(minute):
        when = f"at {int(hour):02d}:{int(minute):02d}"
        when += f":{int(second):02d}" if second != "0" else ""
    else:
        pieces = [
            f"{name} {fields[name]}"
            for name in ("second", "minute", "hour")
            if name in given or (name == "second" and second != "0")
        ]
        when = "at " + ", ".join(pieces) if pieces else "every minute"
        if hour == "*" and "minute" in given and "hour" not in given:
            when += " of every hour"
    days = [f"{words} {given[name]}" for name, words in _DAY_FIELDS if name in given]
    if "year" in given:
        days.append(f"in {given['year']}")
    return " ".join([when, *days])


def trigger_words(trigger: Any) -> str:
    """A trigger in words; a custom trigger by its own text."""
    if isinstance(trigger, IntervalTrigger):
        return interval_words(trigger.interval)
    if isinstance(trigger, CronTrigger):
        return cron_words(trigger.fields, trigger.given_fields)
    if isinstance(trigger, DateTrigger):
        return f"once at {trigger.run_at:%Y-%m-%d %H:%M:%S %Z}".rstrip()
    if isinstance(trigger, ShutdownTrigger):
        return "at shutdown"
    if isinstance(trigger, AndTrigger | OrTrigger):
        joint = " and " if isinstance(trigger, AndTrigger) else " or "
        return "(" + joint.join(trigger_words(each) for each in trigger.triggers) + ")"
    return str(trigger) if trigger is not None else "-"
