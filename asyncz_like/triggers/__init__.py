"""Triggers decide when tasks fire: date, interval, cron, shutdown, and their combinations."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, cast

from asyncz_like.limits import later
from asyncz_like.registry import PluginRegistry
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.triggers.combining import AndTrigger, BaseCombinationTrigger, OrTrigger
from asyncz_like.triggers.cron import CronTrigger
from asyncz_like.triggers.date import DateTrigger
from asyncz_like.triggers.interval import IntervalTrigger, parse_interval
from asyncz_like.triggers.shutdown import ShutdownTrigger

__all__ = [
    "TRIGGERS",
    "AndTrigger",
    "BaseCombinationTrigger",
    "BaseTrigger",
    "CronTrigger",
    "DateTrigger",
    "IntervalTrigger",
    "OrTrigger",
    "ShutdownTrigger",
    "anchor_trigger",
    "anchored_first_fire",
    "build_trigger",
    "create_trigger",
    "first_fire_and_anchor",
    "interval_anchor",
    "parse_interval",
    "with_anchor",
]

TRIGGERS: PluginRegistry[BaseTrigger] = PluginRegistry(
    "trigger",
    BaseTrigger,  # type: ignore[type-abstract]  # only used for isinstance checks
    {
        "date": DateTrigger,
        "interval": IntervalTrigger,
        "cron": CronTrigger,
        "shutdown": ShutdownTrigger,
        "and": AndTrigger,
        "or": OrTrigger,
    },
)


def create_trigger(
    alias_or_trigger: str | BaseTrigger | type[BaseTrigger] | Mapping[str, Any], **trigger_args: Any
) -> BaseTrigger:
    """A trigger from an alias and its options (``create_trigger("cron", hour=8)``).

    Also takes a trigger instance (returned as is, without options), a trigger class, or a
    ``{"type": alias, **options}`` mapping. Raises UnknownAliasError for an unknown alias and
    TypeError naming any option the trigger does not take.
    """
    return build_trigger(alias_or_trigger, trigger_args)


def build_trigger(
    alias_or_trigger: str | BaseTrigger | type[BaseTrigger] | Mapping[str, Any],
    options: Mapping[str, Any],
) -> BaseTrigger:
    """:func:`create_trigger` with the options in one mapping (add_task's: not repacked)."""
    if isinstance(alias_or_trigger, str):  # first: the other tests are slower ABC checks
        return _from_class(TRIGGERS.get(alias_or_trigger), options)
    if isinstance(alias_or_trigger, BaseTrigger):
        if options:
            raise TypeError(
                f"Trigger options {sorted(options)} cannot be given with a trigger instance"
            )
        return alias_or_trigger
    if isinstance(alias_or_trigger, Mapping):
        merged = dict(alias_or_trigger)
        alias = merged.pop("type", None)
        if alias is None:
            raise ValueError("A trigger config needs a 'type' key")
        return build_trigger(alias, {**merged, **options})
    if isinstance(alias_or_trigger, type) and issubclass(alias_or_trigger, BaseTrigger):
        return _from_class(alias_or_trigger, options)
    raise TypeError(
        f"Expected a trigger alias, class or instance, got {type(alias_or_trigger).__name__}"
    )


def _from_class(cls: type[BaseTrigger], options: Mapping[str, Any]) -> BaseTrigger:
    if not cls.shareable:
        _check_options(cls, options)
        return cls(**options)
    # The key tells apart what ``==`` does not: 1 and True (types), and the same instant in
    # two zones (the zone).
    key: tuple[Any, ...] = (cls,)
    for name, value in options.items():
        key += (name, value.__class__, value)
        if isinstance(value, datetime):
            key += (value.tzinfo,)
    try:
        trigger = _SHARED.get(key)
    except TypeError:  # an option is not hashable: nothing to share
        _check_options(cls, options)
        return cls(**options)
    if trigger is None:  # a hit needs no check: its key holds the same option names
        _check_options(cls, options)
        trigger = cls(**options)
        if len(_SHARED) >= _SHARED_MAX:
            _SHARED.clear()
        _SHARED[key] = trigger
    return trigger


#: Triggers made from the same options, shared: a shareable trigger is a value that nothing
#: changes after it is made, and many tasks are added with the same schedule (a flyweight:
#: it saves the build on each add and the memory of a trigger per task).
_SHARED: dict[tuple[Any, ...], BaseTrigger] = {}
_SHARED_MAX = 1024


@functools.cache
def _accepted_options(cls: type[BaseTrigger]) -> tuple[str, ...] | None:
    """The keyword options ``cls`` takes (None: any). Cached: signatures are slow to build."""
    parameters = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return tuple(
        name
        for name, p in parameters.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )


def _check_options(cls: type[BaseTrigger], options: Mapping[str, Any]) -> None:
    accepted = _accepted_options(cls)
    if accepted is None or options.keys() <= set(accepted):
        return
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        name = cls.alias or cls.__name__
        raise TypeError(
            f"Unknown option{'s' if len(unknown) > 1 else ''} for the {name!r} trigger: "
            f"{', '.join(map(repr, unknown))} (accepted: {', '.join(accepted)})"
        )


def interval_anchor(
    trigger: BaseTrigger, now: datetime, first_fire: datetime | None = None
) -> datetime | None:
    """The start (in UTC) an interval trigger without ``start_at`` gets when a task is added
    at ``now``: ``first_fire``, by default ``now + interval``, so that its phase never drifts.
    None for other triggers, which are kept as they are."""
    # The exact type first: isinstance on an ABC is a Python-level call.
    if not (type(trigger) is IntervalTrigger or isinstance(trigger, IntervalTrigger)):
        return None
    if trigger.start_at is not None:
        return None
    anchor = first_fire or _first_fire(now, trigger.interval)
    if anchor.tzinfo is None:
        raise ValueError("first_fire must be timezone-aware")
    return anchor if anchor.tzinfo is UTC else anchor.astimezone(UTC)


def _first_fire(now: datetime, interval: timedelta) -> datetime:
    """``now + interval``: ValueError naming the interval when that is past the calendar."""
    return later(now, interval, f"interval={interval}: the first fire")


def with_anchor(trigger: BaseTrigger, anchor: datetime | None) -> BaseTrigger:
    """``trigger`` as anchored at ``anchor`` (an interval's start, from
    :func:`interval_anchor`); as is when there is none."""
    return trigger if anchor is None else cast(IntervalTrigger, trigger).anchored(anchor)


def anchor_trigger(
    trigger: BaseTrigger, now: datetime, first_fire: datetime | None = None
) -> BaseTrigger:
    """The trigger as a task being added keeps it: an interval without ``start_at`` gets
    one (see :func:`interval_anchor`). Others are returned as is."""
    return with_anchor(trigger, interval_anchor(trigger, now, first_fire))


def first_fire_and_anchor(
    trigger: BaseTrigger, timezone: tzinfo, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """The first fire of a task added at ``now`` (``timezone`` is the scheduler's), and the
    anchor its trigger keeps (see :func:`interval_anchor`)."""
    if (
        type(trigger) is IntervalTrigger
        and trigger.start_at is None
        and trigger.end_at is None
        and not trigger.jitter
    ):  # the anchor is the first fire: no need to ask the trigger (add_task's hot path)
        fire = _first_fire(now, trigger.interval)
        start = fire if fire.tzinfo is UTC else fire.astimezone(UTC)
        return fire.astimezone(trigger.timezone or timezone), start
    anchor = interval_anchor(trigger, now)
    return with_anchor(trigger, anchor).get_next_trigger_time(timezone, None, now), anchor


def anchored_first_fire(
    trigger: BaseTrigger, timezone: tzinfo, now: datetime
) -> tuple[BaseTrigger, datetime | None]:
    """The trigger as a task added at ``now`` keeps it (see :func:`anchor_trigger`), and its
    first fire (``timezone`` is the scheduler's)."""
    first_fire, anchor = first_fire_and_anchor(trigger, timezone, now)
    return with_anchor(trigger, anchor), first_fire
