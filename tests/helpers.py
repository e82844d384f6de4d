"""Test doubles shared by the suites: a clock moved by hand, a scheduler driven by hand, and
the tasks the tests write (``make_task``, ``noop``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncz_like.schedulers.base import BaseScheduler
from asyncz_like.tasks import Task
from asyncz_like.triggers import IntervalTrigger

START = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)  # a Monday


class FakeClock:
    """Wall time and elapsed time that move only when a test says so."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start
        self.elapsed = 0.0

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.elapsed

    def advance(self, seconds: float) -> None:
        """Time passes: the wall clock and the elapsed clock move together."""
        self.current += timedelta(seconds=seconds)
        self.elapsed += seconds

    def jump_wall(self, seconds: float) -> None:
        """A step of the wall clock (NTP step, a manual change): no time passes."""
        self.current += timedelta(seconds=seconds)


class ManualScheduler(BaseScheduler):
    """A scheduler whose loop is the test: it calls ``process_tasks()`` itself."""

    default_executor_alias = "debug"

    def _configure_extra(self, options: Any) -> None:
        self.wakeups = 0

    def wakeup(self) -> None:
        self.wakeups += 1

    def _start_loop(self) -> None:
        pass

    def _stop_loop(self) -> None:
        pass


def manual_scheduler(clock: FakeClock | None = None, **options: Any) -> ManualScheduler:
    options.setdefault("timezone", "UTC")
    return ManualScheduler(clock=clock or FakeClock(), **options)


class Recorder:
    """Collects events (a listener) and calls (a task function)."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.calls: list[Any] = []

    def listener(self, event: Any) -> None:
        self.events.append(event)

    def codes(self) -> list[int]:
        return [event.code for event in self.events]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return len(self.calls)


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
