"""What a task does through the scheduler that holds it: update, reschedule, pause, ..."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from asyncz_like.exceptions import TaskConfigurationError

if TYPE_CHECKING:
    from asyncz_like.tasks.base import TaskScheduler


class TaskActions:
    """The actions of :class:`~asyncz_like.tasks.task.Task` that go through its scheduler,
    by the task's id (a base class of Task: it holds no state)."""

    __slots__ = ()

    id: str
    store_alias: str | None

    @property
    def scheduler(self) -> TaskScheduler | None:
        raise NotImplementedError

    def modify(self, **changes: Any) -> None:
        raise NotImplementedError

    def update(self, **changes: Any) -> Self:
        """Change attributes (all but the id). Through the scheduler when the task has one."""
        scheduler = self.scheduler
        if scheduler is None:
            self.modify(**changes)
        else:
            scheduler.update_task(self.id, self.store_alias, **changes)
        return self

    def reschedule(self, *args: Any, trigger: Any = None, **trigger_args: Any) -> Self:
        """Give the task a new trigger.

        Both ``task.reschedule("cron", hour=8)`` and asyncz's ``task.reschedule(task_id,
        trigger="cron", hour=8)`` are accepted.
        """
        if len(args) > 1:
            raise TypeError("reschedule() takes at most one positional argument")
        if args and trigger is None:
            trigger = args[0]
        elif args and args[0] != self.id:
            raise ValueError(f"reschedule() was given the id {args[0]!r} of another task")
        if trigger is None:
            raise TypeError("reschedule() needs a trigger")
        scheduler = self._require_scheduler("reschedule")
        scheduler.reschedule_task(self.id, self.store_alias, trigger, **trigger_args)
        return self

    def pause(self) -> Self:
        """Stop the task from firing until it is resumed."""
        self._require_scheduler("pause").pause_task(self.id, self.store_alias)
        return self

    def resume(self) -> Self:
        """Let the paused task fire again."""
        self._require_scheduler("resume").resume_task(self.id, self.store_alias)
        return self

    def delete(self) -> None:
        """Remove the task from its scheduler."""
        self._require_scheduler("delete").delete_task(self.id, self.store_alias)

    def _require_scheduler(self, action: str) -> TaskScheduler:
        scheduler = self.scheduler
        if scheduler is None:
            raise TaskConfigurationError(f"Cannot {action} task {self.id!r}: it has no scheduler")
        return scheduler
