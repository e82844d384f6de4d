"""asyncz's inspection names for tasks: ``TaskInfo`` (our :class:`TaskSnapshot`) and the
preview of a task's next runs (``scheduler.preview_task_runs(task_id)``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asyncz_like.tasks.snapshot import TaskSnapshot

__all__ = ["TaskInfo", "TaskRunPreview"]

#: asyncz's name of :class:`TaskSnapshot`.
TaskInfo = TaskSnapshot


@dataclass(frozen=True, slots=True)
class TaskRunPreview:
    """A task's next run times, worked out from its trigger without changing the task.

    ``run_times`` starts at the task's next run time (a paused task: the first fire from
    ``generated_at``); ``exhausted`` is True when the trigger has no fire after them."""

    task: TaskSnapshot
    timezone: str
    generated_at: datetime
    requested_count: int
    run_times: tuple[datetime, ...]
    exhausted: bool
