"""Triggers that combine others: all must agree (and), or the earliest wins (or)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from asyncz_like.triggers._common import ValueTrigger, check_jitter
from asyncz_like.triggers._state import check_version
from asyncz_like.triggers._zones import as_utc, resolve_zone
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import obj_to_ref, ref_to_obj

__all__ = ["AndTrigger", "BaseCombinationTrigger", "OrTrigger"]

_MICROSECOND = timedelta(microseconds=1)


class BaseCombinationTrigger(ValueTrigger):
    """Holds the combined triggers; subclasses decide how their times combine.

    Jitter belongs on the combination, not on the triggers inside it.
    """

    def __init__(self, triggers: Sequence[BaseTrigger], jitter: int | float | None = None) -> None:
        self.triggers = _check_triggers(triggers)
        self.jitter = check_jitter(jitter)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "triggers": [
                {"class": obj_to_ref(type(trigger)), "state": trigger.__getstate__()}
                for trigger in self.triggers
            ],
            "jitter": self.jitter,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild from :meth:`__getstate__`'s data, checked as ``__init__`` checks it."""
        check_version(state, type(self).__name__)
        entries = state["triggers"]
        if not isinstance(entries, list):
            raise TypeError(f"triggers must be a list, got {type(entries).__name__}")
        self.triggers = _check_triggers([_load_trigger(entry) for entry in entries])
        self.jitter = check_jitter(state.get("jitter"))

    def _key(self) -> tuple[Any, ...]:
        return (tuple(self.triggers), self.jitter)

    def __repr__(self) -> str:
        jitter = f", jitter={self.jitter}" if self.jitter else ""
        return f"<{type(self).__name__}({self.triggers!r}{jitter})>"

    def __str__(self) -> str:
        return f"{self.alias}[{', '.join(map(str, self.triggers))}]"


class AndTrigger(BaseCombinationTrigger):
    """Fires at the earliest time every trigger agrees on.

    The search asks each trigger that lags behind for its first fire at or after the latest
    candidate, until all agree; after ``max_iterations`` rounds without agreement it gives up
    and returns None (the task then has no next fire).
    """

    alias = "and"
    max_iterations: ClassVar[int] = 1000

    def get_next_trigger_time(
        self, timezone: tzinfo | str, previous_time: datetime | None, now: datetime | None = None
    ) -> datetime | None:
        zone = resolve_zone(None, timezone)
        times = [t.get_next_trigger_time(zone, previous_time, now) for t in self.triggers]
        for _ in range(self.max_iterations):
            if any(time is None for time in times):
                return None
            known = [time for time in times if time is not None]
            latest = max(known, key=as_utc)
            if all(as_utc(time) == as_utc(latest) for time in known):
                return self.apply_jitter(latest, self.jitter, now or latest)
            probe = as_utc(latest) - _MICROSECOND
            times = [
                time
                if as_utc(time) == as_utc(latest)
                else trigger.get_next_trigger_time(zone, probe, latest)
                for trigger, time in zip(self.triggers, known, strict=True)
            ]
        return None


class OrTrigger(BaseCombinationTrigger):
    """Fires at the earliest of the times its triggers give."""

    alias = "or"

    def get_next_trigger_time(
        self, timezone: tzinfo | str, previous_time: datetime | None, now: datetime | None = None
    ) -> datetime | None:
        zone = resolve_zone(None, timezone)
        times = [t.get_next_trigger_time(zone, previous_time, now) for t in self.triggers]
        known = [time for time in times if time is not None]
        if not known:
            return None
        earliest = min(known, key=as_utc)
        return self.apply_jitter(earliest, self.jitter, now or earliest)


def _check_triggers(triggers: Sequence[BaseTrigger]) -> list[BaseTrigger]:
    if isinstance(triggers, BaseTrigger | str) or not isinstance(triggers, Sequence):
        raise TypeError("triggers must be a list of triggers")
    for index, trigger in enumerate(triggers):
        if not isinstance(trigger, BaseTrigger):
            raise TypeError(f"triggers[{index}] is not a trigger: {trigger!r}")
    if not triggers:
        raise ValueError("triggers must hold at least one trigger")
    return list(triggers)


def _load_trigger(entry: dict[str, Any]) -> BaseTrigger:
    if not isinstance(entry, dict) or entry.keys() != {"class", "state"}:
        raise ValueError(f"expected a trigger's {{'class', 'state'}}, got {entry!r}")
    cls = ref_to_obj(entry["class"])
    if not (isinstance(cls, type) and issubclass(cls, BaseTrigger)):
        raise ValueError(f"{entry['class']!r} is not a trigger class")
    trigger: BaseTrigger = cls.__new__(cls)
    trigger.__setstate__(entry["state"])
    return trigger
