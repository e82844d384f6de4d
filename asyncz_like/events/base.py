"""Event classes. Attribute names follow asyncz so that existing listeners keep working."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncz_like.runs.run import Run


@dataclass(slots=True)
class SchedulerEvent:
    """Something happened to the scheduler, a store or an executor (``alias`` names which)."""

    code: int
    alias: str | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} (code={self.code})>"


@dataclass(slots=True, repr=False)
class TaskEvent(SchedulerEvent):
    """Something happened to a task in a store."""

    task_id: str | None = None
    store: str | None = None
    #: The ``identity`` of the scheduler that dispatched the event (set when dispatched).
    scheduler_identity: str | None = field(default=None, kw_only=True)
    #: The task's name, on the events of its fires (executed, error, missed, max instances).
    task_name: str | None = field(default=None, kw_only=True)


@dataclass(slots=True, repr=False)
class TaskSubmissionEvent(TaskEvent):
    """A task was handed to its executor (or refused by it) for these run times."""

    scheduled_run_times: list[datetime] = field(default_factory=list)
    #: How many due run times coalescing left out (``coalesce=True``): they were merged into
    #: the last one, which alone is in ``scheduled_run_times``. 0 when none were.
    coalesced_run_count: int = 0


@dataclass(slots=True, repr=False)
class TaskExecutionEvent(TaskEvent):
    """A task ran (``return_value``), raised (``exception``, ``traceback``) or was missed."""

    scheduled_run_time: datetime | None = None
    return_value: Any = None
    exception: BaseException | None = None
    traceback: str | None = None


@dataclass(slots=True, repr=False)
class BrokenRecordEvent(SchedulerEvent):
    """A stored record could not be decoded or its function no longer imports; it was skipped."""

    task_id: str | None = None
    store: str | None = None
    exception: BaseException | None = None


@dataclass(slots=True, repr=False)
class RunEvent(SchedulerEvent):
    """A run moved (RUN_* codes). ``run`` is the live record; ``exception`` is what the attempt
    raised, for RUN_FAILED and RUN_RETRYING of work that ran in this process. ``headers``:
    those the run was enqueued with, for the events of a worker (trace context, ...)."""

    run_id: str | None = None
    task_id: str | None = None
    run: Run | None = None
    exception: BaseException | None = None
    headers: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        return f"<RunEvent (code={self.code} run_id={self.run_id})>"
