"""Steps of the wall clock: noticed against an elapsed clock, and what the tasks do then.

A pass compares the wall time elapsed since the previous pass with the elapsed time of the
clock's ``monotonic()``. A difference beyond :data:`STEP_TOLERANCE` is a step of the wall
clock by that much (an NTP step, a manual change). The interval tasks are then shifted by the
step, so that each fires after the same elapsed time as before; cron and date tasks keep
their wall times (see docs/scheduling.md, "Clock jumps").
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from asyncz_like.exceptions import TaskLookupError
from asyncz_like.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from asyncz_like.clock import Clock
    from asyncz_like.schedulers.plugins import Plugins
    from asyncz_like.stores.base import BaseStore
    from asyncz_like.tasks.task import Task

logger = logging.getLogger("asyncz_like.schedulers")

#: Seconds by which the wall clock may drift from the elapsed clock between two passes without
#: counting as a step. NTP slews the clock by at most 0.5 ms/s (15 ms over a 30 s wait); a
#: pass preempted between its two readings is off by that delay. Below this, a step of the
#: clock is absorbed as it was before steps were noticed (late or early by under a second).
STEP_TOLERANCE = 1.0


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


def shift_intervals(scheduler: Plugins, step: timedelta) -> int:
    """Shift the interval tasks of the stores only ``scheduler`` uses by ``step``, each
    written back with the store's ``update_task``; returns how many. A store that fails is
    logged and skipped (its intervals then follow the wall clock, as before steps were
    noticed).

    A store that does I/O (file, SQL, Redis) is left alone: several schedulers may share it,
    each would notice the same step and shift its tasks again (four workers on one host: four
    times the step), and shifting would read every task it holds. Its intervals keep their
    wall times, as cron tasks do: they wait out a backward step and never fire twice.
    """
    shifted = 0
    for alias, store in scheduler.iter_stores():
        if store.does_io:
            continue
        try:
            with scheduler.store_guard(store):
                shifted += _shift_store(store, step)
        except Exception:
            logger.exception(
                "Could not shift the interval tasks of store %s after a clock step", alias,
                extra={"store": alias},
            )  # fmt: skip
    return shifted


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
        "forward" if seconds > 0 else "back", abs(seconds), shifted,
        extra={"clock_step": seconds},
    )  # fmt: skip
