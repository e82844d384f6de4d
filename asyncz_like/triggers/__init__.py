"""Triggers decide when tasks fire: date, interval, cron, shutdown, and their combinations."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
    "create_trigger",
    "parse_interval",
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
    if isinstance(alias_or_trigger, BaseTrigger):
        if trigger_args:
            raise TypeError(
                f"Trigger options {sorted(trigger_args)} cannot be given with a trigger instance"
            )
        return alias_or_trigger
    if isinstance(alias_or_trigger, Mapping):
        options = dict(alias_or_trigger)
        alias = options.pop("type", None)
        if alias is None:
            raise ValueError("A trigger config needs a 'type' key")
        return create_trigger(alias, **{**options, **trigger_args})
    if isinstance(alias_or_trigger, type) and issubclass(alias_or_trigger, BaseTrigger):
        cls = alias_or_trigger
    elif isinstance(alias_or_trigger, str):
        cls = TRIGGERS.get(alias_or_trigger)
    else:
        raise TypeError(
            f"Expected a trigger alias, class or instance, got {type(alias_or_trigger).__name__}"
        )
    _check_options(cls, trigger_args)
    if not cls.shareable:
        return cls(**trigger_args)
    key = _share_key(cls, trigger_args)
    if key is None:
        return cls(**trigger_args)
    trigger = _SHARED.get(key)
    if trigger is None:
        trigger = cls(**trigger_args)
        if len(_SHARED) >= _SHARED_MAX:
            _SHARED.clear()
        _SHARED[key] = trigger
    return trigger


#: Triggers made from the same options, shared: a shareable trigger is a value that nothing
#: changes after it is made, and many tasks are added with the same schedule (a flyweight:
#: it saves the build on each add and the memory of a trigger per task).
_SHARED: dict[tuple[Any, ...], BaseTrigger] = {}
_SHARED_MAX = 1024


def _share_key(cls: type[BaseTrigger], options: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The options as a key that tells apart what ``==`` does not: 1 and True (types), and
    the same instant in two zones (the zone). None when an option is not hashable."""
    key: list[Any] = [cls]
    for name, value in options.items():
        key += (name, value.__class__, value)
        if isinstance(value, datetime):
            key.append(value.tzinfo)
    try:
        hash(tuple(key))
    except TypeError:
        return None
    return tuple(key)


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


def anchor_trigger(
    trigger: BaseTrigger, now: datetime, first_fire: datetime | None = None
) -> BaseTrigger:
    """The trigger as a task being added should keep it: an interval without ``start_at``
    gets one (``first_fire``, by default ``now + interval``) so that its phase never drifts.
    Others are returned as is."""
    if isinstance(trigger, IntervalTrigger):
        return trigger.anchored(first_fire or now + trigger.interval)
    return trigger
