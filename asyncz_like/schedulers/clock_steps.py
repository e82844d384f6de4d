"""Steps of the wall clock: noticed against an elapsed clock, and what the tasks do then.

A pass compares the wall time elapsed since the previous pass with the elapsed time of the
clock's ``monotonic()``. A difference beyond :data:`STEP_TOLERANCE` is a step of the wall
clock by that much (an NTP step, a manual change). The interval tasks are then shifted by the
step, so that each fires after the same elapsed time as before; cron and date tasks keep
their wall times (see docs/scheduling.md, "Clock steps").

A store that does I/O may be shared by schedulers that each notice the same step, so its
intervals are repaired, not shifted: after a step back by ``D``, a run time written before
the step is at most ``old now + interval (+ jitter, claim_ahead)``, that is ``now + D +
interval``; one later than ``now + interval`` can only have been written before the step
(or is the user's own ``start_at``, later still), and is moved back by ``D`` with the
store's ``update_task_if_unchanged``. Once moved it is no longer later than ``now +
interval``, so a second scheduler leaves it alone: nothing moves twice, and no per-store
record of the step is needed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from asyncz_like.exceptions import TaskLookupError
from asyncz_like.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

    from asyncz_like.clock import Clock
    from asyncz_like.stores.base import BaseStore
    from asyncz_like.tasks.task import Task

logger = logging.getLogger("asyncz_like.schedulers")

#: Seconds by which the wall clock may drift from the elapsed clock between two passes without
#: counting as a step. NTP slews the clock by at most 0.5 ms/s (15 ms over a 30 s wait); a
#: pass preempted between its two readings is off by that delay. Below this, a step of the
#: clock is absorbed as it was before steps were noticed (late or early by under a second).
STEP_TOLERANCE = 1.0


class StepHost(Protocol):
    """What shifting the intervals needs of the scheduler: its stores, clock and claim."""

    @property
    def clock(self) -> Clock: ...
    @property
    def claim_ahead(self) -> float: ...
    def iter_stores(self) -> Iterator[tuple[str, BaseStore]]: ...
    def store_guard(self, store: BaseStore) -> AbstractContextManager[object]: ...


class StepWatch:
    """Remembers the readings of the last pass and tells the step of the wall clock since."""

    __slots__ = ("_elapsed", "_wall")

    def __init__(self) -> None:
        self._wall: datetime | None = None
        self._elapsed = 0.0

    def step(self, clock: Clock, wall: datetime) -> timedelta | None:
        """The step of the wall clock between the last reading and this one (``wall``, just
        read from ``clock``): positive forward, negative backward. None when there was none
        beyond the tolerance, or when ``clock`` has no ``monotonic()`` to compare with."""
        monotonic = getattr(clock, "monotonic", None)
        if monotonic is None:
            return None
        elapsed: float = monotonic()
        last_wall, last_elapsed = self._wall, self._elapsed
        self._wall, self._elapsed = wall, elapsed
        if last_wall is None:
            return None
        drift = (wall - last_wall).total_seconds() - (elapsed - last_elapsed)
        if abs(drift) <= STEP_TOLERANCE:
            return None
        return timedelta(seconds=drift)


def keeps_elapsed(task: Task) -> bool:
    """Whether ``task`` follows elapsed time (an interval) rather than the wall clock."""
    return task.next_run_time is not None and isinstance(task.unanchored_trigger, IntervalTrigger)


def shift_intervals(scheduler: StepHost, step: timedelta) -> int:
    """Keep the spacing of the interval tasks of every store after the wall clock stepped
    by ``step``; returns how many were moved. The memory store's are shifted by the step
    (both ways); after a step back, the stores that do I/O (file, SQL, Redis) have those
    written before the step moved back (:func:`repair_back_step`); after a step forward
    theirs keep their wall times and catch up (bounded, as after a suspend). A store that
    fails is logged and skipped (its intervals then follow the wall clock)."""
    shifted = 0
    for alias, store in scheduler.iter_stores():
        if store.does_io and step > timedelta(0):
            continue
        try:
            with scheduler.store_guard(store):
                if store.does_io:
                    slack = STEP_TOLERANCE + scheduler.claim_ahead
                    shifted += repair_back_step(store, -step, scheduler.clock, slack)
                else:
                    shifted += _shift_store(store, step)
        except Exception:
            logger.exception(
                "Could not shift the interval tasks of store %s after a clock step",
                alias,
                extra={"store": alias},
            )
    return shifted


def repair_back_step(store: BaseStore, back: timedelta, clock: Clock, slack: float) -> int:
    """Move back by ``back`` the interval tasks of ``store`` whose run time was written
    before the wall clock stepped back by ``back`` (:func:`written_before_step`), with
    ``update_tasks_if_unchanged``, so that a fire, a change or another scheduler's repair
    made since the read is never undone; returns how many were written."""
    tasks = store.get_all_tasks()
    # Read after the tasks: a run time written after the step, and read here, was computed
    # from a time no later than this one.
    now = clock.now()
    updates: list[tuple[Task, datetime]] = []
    for task in tasks:
        seen = task.next_run_time
        if seen is not None and written_before_step(task, now, back, slack):
            task.shift_schedule(-back)
            updates.append((task, seen))
    return store.update_tasks_if_unchanged(updates, now) if updates else 0


def written_before_step(task: Task, now: datetime, back: timedelta, slack: float) -> bool:
    """Whether ``task`` is an interval task whose next run time can only have been written
    before the wall clock stepped back by ``back`` to ``now``: later than ``now +
    interval`` (a run time written since is not), and no later than ``now + back +
    interval`` (a later one was not computed from a clock reading: a ``start_at`` given).
    ``interval`` here counts the trigger's jitter and ``slack`` seconds besides."""
    trigger = task.unanchored_trigger
    seen = task.next_run_time
    if seen is None or not isinstance(trigger, IntervalTrigger):
        return False
    reach = trigger.interval + timedelta(seconds=(trigger.jitter or 0) + slack)
    try:
        earliest = now + reach
        latest = earliest + back
    except OverflowError:  # the end of the calendar
        return False
    return earliest < seen <= latest


def _shift_store(store: BaseStore, step: timedelta) -> int:
    shifted = 0
    for task in store.get_all_tasks():
        if not keeps_elapsed(task):
            continue
        task.shift_schedule(step)
        try:
            store.update_task(task)
        except TaskLookupError:  # deleted meanwhile
            continue
        shifted += 1
    return shifted


def log_step(step: timedelta, shifted: int) -> None:
    seconds = step.total_seconds()
    logger.warning(
        "The wall clock stepped %s by %.1f s; %d interval task(s) shifted to keep their "
        "spacing, cron and date tasks keep their wall times",
        "forward" if seconds > 0 else "back",
        abs(seconds),
        shifted,
        extra={"clock_step": seconds},
    )
