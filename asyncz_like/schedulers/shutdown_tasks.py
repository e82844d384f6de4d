"""Tasks with a shutdown trigger: found in the stores and run once, as the scheduler stops."""

from __future__ import annotations

from datetime import datetime

from asyncz_like.events.base import SchedulerEvent
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.executors.runner import run_coroutine_task, run_task
from asyncz_like.schedulers.task_registry import TaskRegistry
from asyncz_like.tasks.task import Task
from asyncz_like.triggers.shutdown import ShutdownTrigger


def find_shutdown_tasks(registry: TaskRegistry) -> list[Task]:
    """The tasks with a shutdown trigger, in the order they were added (by id in a
    persistent store). They have no next run time: each store is asked for those only, not
    read whole."""
    return [
        task
        for task in registry.gather(None, lambda store: store.get_paused_tasks())
        if isinstance(task.trigger, ShutdownTrigger) and task.fn is not None
    ]


def run_shutdown_task(task: Task, executor: BaseExecutor, now: datetime) -> list[SchedulerEvent]:
    """Run ``task`` once in this thread, in its executor's run context; its events."""
    return list(run_task(task, [now], executor.run_context(task)))


async def run_async_shutdown_task(
    task: Task, executor: BaseExecutor, now: datetime
) -> list[SchedulerEvent]:
    """Run a coroutine ``task`` once; its events."""
    return list(await run_coroutine_task(task, [now], executor.run_context(task)))
