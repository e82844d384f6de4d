"""The run times of a claimed task: which are due, merged when coalescing, and the grace of
fires taken over from a scheduler that died holding their claim."""

from __future__ import annotations

import bisect
import logging
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from asyncz_like.limits import shifted
from asyncz_like.tasks.task import MAX_RUN_TIMES

if TYPE_CHECKING:
    from asyncz_like.tasks.task import Task

logger = logging.getLogger("asyncz_like.schedulers")


_MICROSECOND = timedelta(microseconds=1)


def due_run_times(
    task: Task, timezone: tzinfo, now: datetime, limit: int = MAX_RUN_TIMES
) -> tuple[list[datetime], datetime | None]:
    """The run times due at ``now`` (at most ``limit``) and the next one after them.

    After a big jump of the wall clock more than ``limit`` fires may be due. The work stays
    bounded: with a grace time only the fires inside it are listed (the older ones could
    only be missed); without one the first ``limit`` are. Either way the next run time is
    then asked for past ``now`` directly.
    """
    run_times, next_time = task.run_times_from(task.next_run_time, timezone, now, limit)
    if next_time is None or next_time > now:
        return run_times, next_time
    logger.warning(
        "Task %s (%s) missed more than %d run times; the older ones are skipped",
        task.id,
        task.name,
        limit,
        extra={"task_id": task.id},
    )
    trigger = task.trigger
    assert trigger is not None
    grace = task.mistrigger_grace_time
    if grace is not None:
        window_start = shifted(now, -grace) - _MICROSECOND
        first = trigger.get_next_trigger_time(timezone, window_start, now)
        run_times, next_time = task.run_times_from(first, timezone, now, limit)
    if next_time is not None and next_time <= now:
        next_time = trigger.get_next_trigger_time(timezone, now, now)
    return run_times, next_time


def coalesced(run_times: list[datetime], now: datetime) -> list[datetime]:
    """The run times due by ``now`` merged into the latest of them; those claimed ahead
    (after ``now``) are not missed, and each is kept to run at its time."""
    due = bisect.bisect_right(run_times, now)
    return run_times[due - 1 :] if due else run_times


def recovered(task: Task, lost_claim_at: datetime, now: datetime) -> Task:
    """A copy of ``task`` for the executor whose grace time counts from ``lost_claim_at``:
    its fires were claimed on time by a scheduler that died before running them."""
    logger.warning(
        "Task %s (%s): taking over a claim made at %s by a scheduler that stopped before "
        "releasing it; its fires run now",
        task.id,
        task.name,
        lost_claim_at.isoformat(),
        extra={"task_id": task.id},
    )
    grace = task.mistrigger_grace_time
    if grace is None:
        return task
    copy = task.clone(attached=True)
    copy.mistrigger_grace_time = grace + max(0.0, (now - lost_claim_at).total_seconds())
    return copy
