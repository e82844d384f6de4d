"""The tasks the store tests write: an interval task due ``offset`` seconds after START."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from asyncz_like.tasks import Task
from asyncz_like.triggers import IntervalTrigger
from tests.helpers import START


def noop(*args: Any) -> None:
    """The function of the tasks here, unless a test gives its own."""


def make_task(
    task_id: str,
    offset: float | None,
    fn: Callable[..., Any] = noop,
    filled: bool = False,
    **options: Any,
) -> Task:
    """A task every 60 s, next due at START + ``offset`` (paused for None). ``filled`` sets
    what the scheduler fills in when it adds a task (coalesce, one instance, no grace time,
    the default executor and store), for tests that give tasks to a store directly."""
    task = Task(fn, IntervalTrigger(seconds=60), id=task_id, **options)
    if filled:
        task.coalesce, task.max_instances, task.mistrigger_grace_time = True, 1, None
        task.executor, task.store_alias = "default", "default"
    task.next_run_time = None if offset is None else START + timedelta(seconds=offset)
    return task
