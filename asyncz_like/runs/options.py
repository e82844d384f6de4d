"""Checks on what ``submit`` is given, so that bad input fails there with a clear error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from asyncz_like.limits import MAX_COUNT, check_count, check_seconds, later
from asyncz_like.runs.backoff import Backoff, as_backoff, default_backoff
from asyncz_like.utils import to_datetime

#: The keyword arguments of ``submit`` that are options, not arguments of the function.
OPTION_NAMES = frozenset(
    {
        "name",
        "priority",
        "timeout",
        "max_retries",
        "retry_backoff",
        "retry_on",
        "delay",
        "schedule_at",
        "executor",
    }
)
#: Those ``@scheduler.background(...)`` takes: the others are given per call.
BACKGROUND_OPTION_NAMES = OPTION_NAMES - {"delay", "schedule_at"}


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How a submitted run is executed (validated)."""

    name: str | None = None
    priority: int = 0
    timeout: float | None = None
    max_retries: int = 0
    backoff: Backoff = field(default_factory=default_backoff)
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    executor: str = "default"


#: parse_options results by their arguments and the arguments' types (True is 1 but not a
#: priority), up to a bound: most runs are submitted with the same few options, and checking
#: them was 3 of the 20 µs of a submit through a broker.
_PARSED: dict[tuple[Any, ...], RunOptions] = {}
_MAX_PARSED = 256


def parse_options(
    name: Any = None,
    priority: Any = 0,
    timeout: Any = None,
    max_retries: Any = 0,
    retry_backoff: Any = 1.0,
    retry_on: Any = None,
    executor: Any = None,
) -> RunOptions:
    """Validate the options of a run; TypeError/ValueError naming the argument."""
    if isinstance(retry_backoff, Backoff):  # equal Backoffs may differ in random: not cached
        return _parse(name, priority, timeout, max_retries, retry_backoff, retry_on, executor)
    key = (name, type(name), priority, type(priority), timeout, type(timeout), max_retries,
           type(max_retries), retry_backoff, type(retry_backoff), retry_on, executor)  # fmt: skip
    try:
        parsed = _PARSED.get(key)
    except TypeError:  # an unhashable option (a list of exception types): checked each time
        return _parse(name, priority, timeout, max_retries, retry_backoff, retry_on, executor)
    if parsed is None:
        parsed = _parse(name, priority, timeout, max_retries, retry_backoff, retry_on, executor)
        if len(_PARSED) >= _MAX_PARSED:
            _PARSED.clear()
        _PARSED[key] = parsed
    return parsed


def _parse(
    name: Any,
    priority: Any,
    timeout: Any,
    max_retries: Any,
    retry_backoff: Any,
    retry_on: Any,
    executor: Any,
) -> RunOptions:
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"name must be a nonempty string, got {name!r}")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise TypeError(f"priority must be an int (see TaskPriority), got {priority!r}")
    check_count(priority, "priority", minimum=-MAX_COUNT - 1)  # kept runs store it in 64 bits
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise TypeError(f"max_retries must be an int, got {max_retries!r}")
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    check_count(max_retries, "max_retries", minimum=0)
    if executor is not None and not isinstance(executor, str):
        raise TypeError(f"executor must be an executor alias (a string), got {executor!r}")
    return RunOptions(
        name=name,
        priority=int(priority),
        timeout=_seconds(timeout, "timeout", allow_zero=False),
        max_retries=max_retries,
        backoff=as_backoff(retry_backoff),
        retry_on=_exception_types(retry_on),
        executor=executor or "default",
    )


def resolve_due(delay: Any, schedule_at: Any, now: datetime, timezone: tzinfo) -> datetime | None:
    """When a run becomes due: ``now + delay``, ``schedule_at``, or None for at once.

    A ``schedule_at`` without a time zone is read in the scheduler's ``timezone`` (every
    scheduler has one: the one configured, else the machine's local zone). A time in the past
    means at once.
    """
    if delay is not None and schedule_at is not None:
        raise ValueError("Give delay or schedule_at, not both")
    if delay is not None:
        seconds = _seconds(delay, "delay", allow_zero=True) or 0.0
        return later(now, timedelta(seconds=seconds), f"delay={delay!r}")
    if schedule_at is not None:
        if not isinstance(schedule_at, datetime | str):
            raise TypeError(f"schedule_at must be a datetime, got {schedule_at!r}")
        due = to_datetime(schedule_at, timezone, "schedule_at")
        assert due is not None
        return due
    return None


def _seconds(value: Any, argument: str, allow_zero: bool) -> float | None:
    """Seconds from a number or a timedelta: finite, positive (or 0 with ``allow_zero``), no
    longer than the calendar (see :mod:`asyncz_like.limits`)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{argument} must be seconds or a timedelta, got {value!r}")
    return float(check_seconds(value, argument, positive=not allow_zero))


def _exception_types(value: Any) -> tuple[type[BaseException], ...]:
    if value is None:
        return (Exception,)
    types = value if isinstance(value, tuple | list) else (value,)
    if not types or not all(_is_exception_type(item) for item in types):
        raise TypeError(f"retry_on must be an exception type or a tuple of them, got {value!r}")
    return tuple(types)


def _is_exception_type(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseException)
