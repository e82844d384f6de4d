"""What a task needs of the scheduler it belongs to.

A Protocol, so that ``tasks/`` does not import ``schedulers/`` (which is above it): a task's
own ``update``, ``pause``, ... go through these methods of the scheduler that holds it, by the
task's id (what they return is not used).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Protocol


class TaskScheduler(Protocol):
    """The scheduler side of a task: the task API that acts on a task by its id."""

    timezone: tzinfo

    def add_task(self, fn_or_task: Any = None, trigger: Any = None, /, **options: Any) -> Any:
        """Add a task (``Task(..., scheduler=s)`` adds itself this way)."""
        ...

    def update_task(self, task_id: str, store: str | None = None, **changes: Any) -> object:
        """Change a task's attributes."""
        ...

    def reschedule_task(
        self,
        task_id: str,
        store: str | None = None,
        trigger: Any = None,
        **trigger_args: Any,
    ) -> object:
        """Give a task a new trigger."""
        ...

    def pause_task(self, task_id: str, store: str | None = None) -> object:
        """Stop a task from firing until it is resumed."""
        ...

    def resume_task(self, task_id: str, store: str | None = None) -> object:
        """Let a paused task fire again."""
        ...

    def delete_task(self, task_id: str, store: str | None = None) -> None:
        """Remove a task."""
        ...
