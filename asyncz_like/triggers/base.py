"""The trigger contract. It keeps asyncz's method names so that users' own triggers keep working."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from asyncz_like.limits import LAST
from asyncz_like.plugin_options import keep_extra_options


class BaseTrigger(ABC):
    """Computes when a task fires next.

    Invariants every trigger keeps:

    * it is pure: it never reads the clock; ``now`` is passed in;
    * it returns timezone-aware datetimes, or None when it will never fire again;
    * the returned time is later than ``previous_time`` when one is given;
    * ``__getstate__`` returns plain data (dicts, lists, str, numbers, datetimes, timedeltas)
      and ``__setstate__`` rebuilds an equal trigger from it, so stores can persist it.
    """

    __slots__ = ()  # subclasses may keep slots (memory per task); those that don't get a dict

    alias: ClassVar[str | None] = None
    jitter: int | float | None = None
    #: Tasks with this trigger run however late they are unless told otherwise (shutdown).
    allow_mistrigger_by_default: ClassVar[bool] = False
    #: True when an instance is a value nothing changes once made, so that ``create_trigger``
    #: may hand the same instance to every task added with the same options.
    shareable: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        """Users' triggers may pass their own options up: they become attributes."""
        keep_extra_options(self, options)

    @abstractmethod
    def get_next_trigger_time(
        self, timezone: tzinfo, previous_time: datetime | None, now: datetime | None = None
    ) -> datetime | None:
        """The next fire time after ``previous_time`` (the first one when None), or None.

        ``timezone`` is the scheduler's zone, used when the trigger has none of its own.
        """

    def apply_jitter(
        self, next_trigger_time: datetime | None, jitter: int | float | None, now: datetime
    ) -> datetime | None:
        """Delay ``next_trigger_time`` by a random amount of up to ``jitter`` seconds (not past
        the end of the calendar, :data:`asyncz_like.limits.LAST`)."""
        if next_trigger_time is None or not jitter:
            return next_trigger_time
        try:
            jittered = next_trigger_time + timedelta(seconds=random.uniform(0, jitter))
        except OverflowError:
            return next_trigger_time
        return jittered if jittered <= LAST else next_trigger_time

    def __getstate__(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not support serialization")

    def __setstate__(self, state: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support serialization")
