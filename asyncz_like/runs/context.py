"""The run being executed, reachable from inside the work without passing ids around.

A context variable holds it. Each attempt sets it in the context the work runs in: the asyncio
task of a coroutine, the worker thread of a plain function (inside a copy of the submitter's
context), or the child process of a process-pool run.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

from asyncz_like.runs.run import check_percent

if TYPE_CHECKING:
    from asyncz_like.runs.run import Run


class ProgressSink(Protocol):
    """Where ``update_progress`` reports to: the run engine, or a pipe to the parent process."""

    def report_progress(self, run: Run, percent: float, message: str | None) -> None: ...


CURRENT_RUN: ContextVar[tuple[Run, ProgressSink] | None] = ContextVar(
    "asyncz_like_current_run", default=None
)


class Promotable(Protocol):
    """A task's fire being run whose record is made a live run only when the work asks for
    it (``current_run``, ``update_progress``), so that fires nobody follows stay cheap."""

    def live(self) -> tuple[Run, ProgressSink] | None: ...


CURRENT_FIRE: ContextVar[Promotable | None] = ContextVar("asyncz_like_current_fire", default=None)


def _active() -> tuple[Run, ProgressSink] | None:
    active = CURRENT_RUN.get()
    if active is None and (fire := CURRENT_FIRE.get()) is not None:
        return fire.live()
    return active


def current_run() -> Run | None:
    """The run whose work calls this (submitted work, or a task's fire), or None outside of
    a run."""
    active = _active()
    return None if active is None else active[0]


def update_progress(percent: float, message: str | None = None) -> bool:
    """Report the current run's progress (0-100) and an optional message.

    Returns False, and does nothing, outside of a run, so that a function also works when it is
    called directly. A bad ``percent`` raises TypeError/ValueError either way.
    """
    value = check_percent(percent, "percent")
    if message is not None and not isinstance(message, str):
        raise TypeError(f"message must be a string or None, got {message!r}")
    active = _active()
    if active is None:
        return False
    run, sink = active
    sink.report_progress(run, value, message)
    return True
