"""Runs: one record per execution, submitted background work or a task's fire.

The scheduler's run API (``submit``, ``get_run``, ``list_runs``, ``wait_for``, ``cancel_run``,
``background``, ``stats``) lives in :mod:`asyncz_like.schedulers.run_methods`, what executes runs
in :mod:`asyncz_like.workers`; the records, their statuses and the helpers for code running
inside a run live here, below the executors and events that use them.
"""

from asyncz_like.runs.backoff import Backoff
from asyncz_like.runs.context import current_run, update_progress
from asyncz_like.runs.history import MemoryRunHistory, RunHistory
from asyncz_like.runs.run import Run, RunError, UnstoredResult
from asyncz_like.runs.stats import ExecutionTimes, RunStats, WorkerCounts, WorkerStats
from asyncz_like.runs.status import (
    FINAL_STATUSES,
    TRANSITIONS,
    RunStatus,
    TaskPriority,
    check_transition,
)

__all__ = [
    "FINAL_STATUSES",
    "TRANSITIONS",
    "Backoff",
    "ExecutionTimes",
    "MemoryRunHistory",
    "Run",
    "RunError",
    "RunHistory",
    "RunStats",
    "RunStatus",
    "TaskPriority",
    "UnstoredResult",
    "WorkerCounts",
    "WorkerStats",
    "check_transition",
    "current_run",
    "update_progress",
]
