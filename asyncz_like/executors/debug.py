"""Runs tasks at once, in the thread that hands them over. For tests and debugging."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from asyncz_like.executors.base import BaseExecutor
from asyncz_like.executors.runner import run_coroutine_task, run_task
from asyncz_like.utils import is_coroutine_callable

if TYPE_CHECKING:
    from asyncz_like.tasks.task import Task


class DebugExecutor(BaseExecutor):
    """Calls the task inline. A coroutine function becomes a task on the running loop, or is
    run to completion with ``asyncio.run`` when no loop runs in this thread."""

    def do_send_task(self, task: Task, run_times: list[datetime]) -> None:
        context = self.run_context(task)
        assert task.fn is not None
        if not is_coroutine_callable(task.fn):
            self.run_task_success(task.id, run_task(task, run_times, context))
            return
        coroutine = run_coroutine_task(task, run_times, context)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.run_task_success(task.id, asyncio.run(coroutine))
            return
        future = loop.create_task(coroutine)
        future.add_done_callback(lambda done: self.finish_future(task.id, done))
