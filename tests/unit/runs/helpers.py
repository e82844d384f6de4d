"""Doubles for the run tests: an executor that holds what it is given until told to run it."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from asyncz_like.executors.base import BaseExecutor
from asyncz_like.executors.runner import run_task
from asyncz_like.tasks.task import Task


class HeldExecutor(BaseExecutor):
    """Keeps each hand-over until ``run_next()``; at most ``max_workers`` runs at once."""

    def __init__(self, max_workers: int = 4, **options: Any) -> None:
        super().__init__(**options)
        self.max_workers = max_workers
        self.held: deque[tuple[Task, list[datetime]]] = deque()
        self.most_held = 0

    def do_send_task(self, task: Task, run_times: list[datetime]) -> None:
        self.held.append((task, run_times))
        self.most_held = max(self.most_held, len(self.held))

    def run_next(self) -> None:
        task, run_times = self.held.popleft()
        self.run_task_success(task.id, run_task(task, run_times, self.run_context(task)))

    def run_all(self) -> None:
        while self.held:
            self.run_next()


def double(x: int) -> int:
    return 2 * x


def sleep_long() -> None:  # runs in a child process; terminated by the tests
    time.sleep(60)


def raise_key_error() -> None:
    raise KeyError("missing")


def report_progress_and_return(steps: int) -> str:
    from asyncz_like.runs import current_run, update_progress

    for step in range(1, steps + 1):
        update_progress(100 * step / steps, f"step {step}")
    run = current_run()
    return run.id if run is not None else "no run"


Sleeper = Callable[[], Coroutine[Any, Any, None]]


def cancellable_sleeper() -> tuple[Sleeper, asyncio.Event, asyncio.Event]:
    """A coroutine function that sleeps an hour, and the events it sets when it starts and
    when it is cancelled."""
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def sleeper() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    return sleeper, started, cancelled
