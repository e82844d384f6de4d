"""The one place where a run changes status: the move is checked against the table, counted,
kept in the history, and then told to listeners and to those waiting for the run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from asyncz_like.events.base import RunEvent
from asyncz_like.events.constants import RUN_PROGRESS
from asyncz_like.runs.stats import EXECUTED, StatsCollector
from asyncz_like.runs.status import FINAL_STATUSES, TRANSITIONS, RunStatus, check_transition

if TYPE_CHECKING:
    from asyncz_like.clock import Clock
    from asyncz_like.events.base import SchedulerEvent
    from asyncz_like.executors.base import BaseExecutor
    from asyncz_like.runs.history import RunHistory
    from asyncz_like.runs.run import Run

logger = logging.getLogger("asyncz_like.runs")
Wake = Callable[[], None]


class RunHost(Protocol):
    """What runs need from the scheduler."""

    @property
    def clock(self) -> Clock: ...
    def wants_event(self, code: int) -> bool: ...
    def dispatch_event(self, event: SchedulerEvent) -> None: ...
    def lookup_executor(self, alias: str) -> BaseExecutor: ...
    def may_start_runs(self) -> bool: ...
    def wake_runs_at(self, when: datetime) -> None: ...


class Ledger:
    """Run records and their counts, behind one lock.

    ``enter`` and ``move`` are called with ``lock`` held; ``announce`` after it is released
    (listeners and waiters never run under the lock).
    """

    def __init__(self, host: RunHost, history: RunHistory) -> None:
        self.host = host
        self.history = history
        self.lock = threading.Lock()
        self.stats = StatsCollector()
        self._waiters: dict[str, list[Wake]] = {}

    def enter(self, run: Run) -> None:
        """Keep a new run, in its first status."""
        self.stats.entered(run.status)
        self.history.add(run)

    def move(self, run: Run, new: RunStatus, now: datetime) -> list[Wake] | None:
        """Move ``run`` to ``new``; return the waiters to wake when that is final."""
        old = run.status
        if new not in TRANSITIONS[old]:  # the table of status.py, inlined for speed
            check_transition(run.id, old, new)
        run.status = new
        self.stats.moved(old, new)
        if new not in FINAL_STATUSES:
            self.history.changed(run)
            return None
        run.finished_at = now
        stats = self.stats
        if new in EXECUTED:
            stats.executed(run.duration, now)
        stats.ended(run)
        self.history.finished(run)
        return self._waiters.pop(run.id, None) if self._waiters else None

    def announce(
        self,
        code: int,
        run: Run,
        wakes: list[Wake] | None = None,
        exception: BaseException | None = None,
    ) -> None:
        """Wake the waiters, then tell the listeners of ``code`` (if any)."""
        if wakes:
            for wake in wakes:
                wake()
        host = self.host
        if host.wants_event(code):
            host.dispatch_event(
                RunEvent(
                    code=code, run_id=run.id, task_id=run.task_id, run=run, exception=exception
                )
            )

    def report_progress(self, run: Run, percent: float, message: str | None) -> None:
        """Record progress of a running run (ignored once it is no longer running)."""
        with self.lock:
            if run.status is not RunStatus.RUNNING:
                return
            run.progress = percent
            if message is not None:
                run.message = message
            self.history.changed(run)
        self.announce(RUN_PROGRESS, run)

    # -- waiting ----------------------------------------------------------------------------

    def add_waiter(self, run_id: str, wake: Wake) -> None:
        """Call ``wake`` when the run finishes. Call with ``lock`` held, having checked that
        the run is not finished yet."""
        self._waiters.setdefault(run_id, []).append(wake)

    def remove_waiter(self, run_id: str, wake: Wake) -> None:
        with self.lock:
            wakes = self._waiters.get(run_id)
            if wakes and wake in wakes:
                wakes.remove(wake)
                if not wakes:
                    del self._waiters[run_id]
