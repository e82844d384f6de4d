"""The trigger behind ``@scheduler.task(interval=... | cron=...)``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import tzinfo
from typing import Any, TypeVar

from asyncz_like.exceptions import TaskConfigurationError
from asyncz_like.tasks.task import Task
from asyncz_like.triggers.base import BaseTrigger

#: A function decorated with ``@scheduler.task``: returned as it was, types and all.
TaskFunction = TypeVar("TaskFunction", bound=Callable[..., Any])


def module_reference(fn: Any) -> str | None:
    """``module:qualname`` of a module-level function, unverified (it may not be bound yet)."""
    qualname = getattr(fn, "__qualname__", None)
    module = getattr(fn, "__module__", None)
    if not qualname or not module or "<" in qualname:  # <lambda>, <locals>
        return None
    return f"{module}:{qualname}"


def build_decorator_trigger(
    interval: Any, cron: Any, timezone: str | tzinfo | None, jitter: float | None = None
) -> BaseTrigger:
    """An interval or cron trigger; exactly one of the two must be given.

    Raises TaskConfigurationError for neither or both, ValueError for a bad value.
    """
    from asyncz_like.triggers import CronTrigger, IntervalTrigger, parse_interval

    if interval is None and cron is None:
        raise TaskConfigurationError("@task() needs either interval= or cron=")
    if interval is not None and cron is not None:
        raise TaskConfigurationError("@task() takes interval= or cron=, not both")
    if interval is not None:
        seconds = parse_interval(interval).total_seconds()
        return IntervalTrigger(seconds=seconds, timezone=timezone, jitter=jitter)
    if not isinstance(cron, str):
        raise ValueError(f"cron: expected a crontab string, got {cron!r}")
    return CronTrigger.from_crontab(cron, timezone=timezone, jitter=jitter)


def remember_task(fn: Any, task: Any) -> None:
    """List the task added by ``add_task(None, ...)`` as a decorator on the function, in its
    ``asyncz_tasks`` attribute (as asyncz does); a callable that takes no attributes is left."""
    with contextlib.suppress(AttributeError, TypeError):
        fn.asyncz_tasks = [*getattr(fn, "asyncz_tasks", ()), task]


def task_decorator(
    add_task: Callable[..., Any], interval: Any, cron: str | None, options: dict[str, Any]
) -> Callable[[TaskFunction], TaskFunction]:
    """``@scheduler.task(...)``: the trigger checked now, the function added with
    ``add_task`` when decorated (its ``module:qualname`` as id, replacing the stored one)."""
    trigger = build_decorator_trigger(
        interval, cron, options.pop("timezone", None), options.pop("jitter", None)
    )

    def decorator(fn: TaskFunction) -> TaskFunction:
        task_options = dict(options)
        reference = module_reference(fn)
        if reference is not None and "id" not in task_options:
            task_options["id"] = reference
            task_options.setdefault("replace_existing", True)
        task = Task(
            fn,
            trigger,
            id=task_options.pop("id", None),
            args=task_options.pop("args", None),
            kwargs=task_options.pop("kwargs", None),
        )
        # The name is bound only after the decorator returns, so the reference
        # cannot be checked by importing it yet; persistent stores need it.
        task.fn_reference = reference
        add_task(task, **task_options)
        return fn

    return decorator
