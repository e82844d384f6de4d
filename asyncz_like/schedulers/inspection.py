"""Read-only snapshots of a scheduler, as asyncz's ``get_scheduler_info`` /
``get_scheduler_instance_infos`` return them (same names, same fields)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from asyncz_like.enums import SchedulerState, TaskScheduleState
from asyncz_like.tasks.task import Task

__all__ = ["SchedulerInfo", "SchedulerInstanceInfo", "instance_info", "scheduler_info"]


@dataclass(frozen=True, slots=True)
class SchedulerInfo:
    """A scheduler at one moment: its state, plugins and task counts.

    ``running`` is asyncz's: True once started, paused or not (``scheduler.running`` here is
    True only while not paused). ``store_retry_interval`` is the wait after a failed pass;
    ``startup_delay`` is always 0 (this scheduler has none)."""

    identity: str
    state: SchedulerState
    #: ``"stopped"``, ``"running"`` or ``"paused"``.
    state_label: str
    running: bool
    started_at: datetime | None
    uptime_seconds: float | None
    timezone: str
    executor_aliases: tuple[str, ...]
    store_aliases: tuple[str, ...]
    task_count: int
    scheduled_task_count: int
    paused_task_count: int
    pending_task_count: int
    submitted_task_count: int
    store_retry_interval: float
    startup_delay: float


@dataclass(frozen=True, slots=True)
class SchedulerInstanceInfo:
    """The scheduler instance of this process (``scope="process-local"``), as asyncz
    reports it: seen now, so its heartbeat is 0 s old; ``stale`` once it is stopped."""

    identity: str
    scope: str
    state: SchedulerState
    state_label: str
    active: bool
    stale: bool
    started_at: datetime | None
    last_seen_at: datetime
    uptime_seconds: float | None
    heartbeat_age_seconds: float
    stale_after_seconds: float
    timezone: str
    executor_aliases: tuple[str, ...]
    store_aliases: tuple[str, ...]
    task_count: int
    scheduled_task_count: int
    paused_task_count: int
    pending_task_count: int
    submitted_task_count: int


def scheduler_info(
    identity: str,
    state: SchedulerState,
    started_at: datetime | None,
    now: datetime,
    timezone: str,
    executor_aliases: Iterable[str],
    store_aliases: Iterable[str],
    tasks: Sequence[Task],
    retry_interval: float,
) -> SchedulerInfo:
    """The snapshot of a scheduler in ``state`` since ``started_at`` (None: stopped)."""
    states = [task.schedule_state for task in tasks]
    submitted = sum(1 for task in tasks if task.submitted)
    started = started_at if state is not SchedulerState.STATE_STOPPED else None
    return SchedulerInfo(
        identity=identity,
        state=state,
        state_label=state.name.removeprefix("STATE_").lower(),
        running=state is not SchedulerState.STATE_STOPPED,
        started_at=started,
        uptime_seconds=None if started is None else max(0.0, (now - started).total_seconds()),
        timezone=timezone,
        executor_aliases=tuple(sorted(executor_aliases)),
        store_aliases=tuple(sorted(store_aliases)),
        task_count=len(states),
        scheduled_task_count=states.count(TaskScheduleState.SCHEDULED),
        paused_task_count=states.count(TaskScheduleState.PAUSED),
        pending_task_count=states.count(TaskScheduleState.PENDING),
        submitted_task_count=submitted,
        store_retry_interval=float(retry_interval),
        startup_delay=0.0,
    )


def instance_info(info: SchedulerInfo, now: datetime, stale_after: float) -> SchedulerInstanceInfo:
    """The instance record of the scheduler ``info`` describes, seen at ``now``."""
    return SchedulerInstanceInfo(
        identity=info.identity,
        scope="process-local",
        state=info.state,
        state_label=info.state_label,
        active=info.running,
        stale=not info.running,
        started_at=info.started_at,
        last_seen_at=now,
        uptime_seconds=info.uptime_seconds,
        heartbeat_age_seconds=0.0,
        stale_after_seconds=float(stale_after),
        timezone=info.timezone,
        executor_aliases=info.executor_aliases,
        store_aliases=info.store_aliases,
        task_count=info.task_count,
        scheduled_task_count=info.scheduled_task_count,
        paused_task_count=info.paused_task_count,
        pending_task_count=info.pending_task_count,
        submitted_task_count=info.submitted_task_count,
    )
