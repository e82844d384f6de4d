"""asyncz's enums: the scheduler's state and a task's schedule state."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["PluginInstance", "SchedulerState", "TaskScheduleState"]


class SchedulerState(IntEnum):
    """Whether a scheduler is stopped, running or paused."""

    STATE_STOPPED = 0
    STATE_RUNNING = 1
    STATE_PAUSED = 2


class PluginInstance(StrEnum):
    """The kinds of plugins a scheduler holds by alias."""

    EXECUTOR = "executor"
    STORE = "store"


class TaskScheduleState(StrEnum):
    """Where a task stands: added before start (pending), without a next run (paused), or
    with one (scheduled)."""

    PENDING = "pending"
    PAUSED = "paused"
    SCHEDULED = "scheduled"
