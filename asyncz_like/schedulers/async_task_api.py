"""Awaitable forms of the task API, for schedulers that live on an event loop.

The plain methods (``add_task``...) do their store I/O in the calling thread: on the loop,
a slow database would stall every coroutine. Each ``*_async`` form runs the same method in a
worker thread when a store does I/O, and directly (no thread hop) when every store is in
memory. Errors are the plain method's, raised where it is awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from asyncz_like.schedulers.plugin_methods import PluginMethods
from asyncz_like.schedulers.task_methods import TaskMethods

P = ParamSpec("P")
R = TypeVar("R")


def _off_loop(
    method: Callable[Concatenate[TaskMethods, P], R],
) -> Callable[Concatenate[AsyncTaskMethods, P], Coroutine[Any, Any, R]]:
    async def call(self: AsyncTaskMethods, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if not self.stores_do_io():
            return method(self, *args, **kwargs)
        return await asyncio.to_thread(method, self, *args, **kwargs)

    call.__name__ = call.__qualname__ = f"{method.__name__}_async"
    call.__doc__ = (
        f"``await``-able :meth:`{method.__name__}`: its store I/O runs in a worker thread."
    )
    return call


class AsyncTaskMethods(TaskMethods, PluginMethods):
    """The task API's ``*_async`` forms (see the module's docstring)."""

    add_task_async = _off_loop(TaskMethods.add_task)
    add_tasks_async = _off_loop(TaskMethods.add_tasks)
    update_task_async = _off_loop(TaskMethods.update_task)
    reschedule_task_async = _off_loop(TaskMethods.reschedule_task)
    pause_task_async = _off_loop(TaskMethods.pause_task)
    resume_task_async = _off_loop(TaskMethods.resume_task)
    run_task_async = _off_loop(TaskMethods.run_task)
    get_task_async = _off_loop(TaskMethods.get_task)
    get_tasks_async = _off_loop(TaskMethods.get_tasks)
    get_broken_records_async = _off_loop(TaskMethods.get_broken_records)
    delete_task_async = _off_loop(TaskMethods.delete_task)
    remove_task_async = delete_task_async
    remove_all_tasks_async = _off_loop(TaskMethods.remove_all_tasks)
