"""The records of a task's fires, made on the fire's path (see :mod:`asyncz_like.workers.fires`
for the recorder that keeps them): the tuple of a finished fire, the recorder that stands in for
it inside a process-pool worker, and the fire a runner is calling.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any, Protocol

from asyncz_like.runs.context import ProgressSink
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.status import RunStatus

Stamp = float | datetime  # a POSIX time from the system clock, else the clock's datetime
#: A finished fire: task id, task name, run time, started, finished, status, value, error.
FireRecord = tuple[str, str | None, datetime, Stamp, Stamp, RunStatus, Any, Any]


class FiredTask(Protocol):
    """What a fire's record takes of its task."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str | None: ...


def status_of(exc: BaseException) -> RunStatus:
    """The final status of a fire that raised ``exc``."""
    return RunStatus.CANCELLED if isinstance(exc, asyncio.CancelledError) else RunStatus.FAILED


class CollectingRecorder:
    """Stands in for the FireRecorder inside a process-pool worker: the records go back with
    the fire's events, and the scheduler's recorder takes them (``replay``)."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records: list[FireRecord] = []

    def begin(self, task: FiredTask, run_time: datetime) -> Any:
        return time.time()

    def completed(self, task: FiredTask, run_time: datetime, record: Any, value: Any) -> None:
        self.records.append(
            (task.id, task.name, run_time, record, time.time(), RunStatus.COMPLETED, value, None)
        )

    def failed(self, task: FiredTask, run_time: datetime, record: Any, exc: BaseException) -> None:
        self.records.append(
            (
                task.id,
                task.name,
                run_time,
                record,
                time.time(),
                status_of(exc),
                None,
                RunError.from_exception(exc),
            )
        )


class FireInProgress:
    """The fire a runner is calling (``CURRENT_FIRE``): its record becomes a live run when
    the work asks for it; the runner then ends that run instead of the stamp."""

    __slots__ = ("record", "recorder", "run_time", "task")

    def __init__(self, recorder: Any, task: FiredTask, run_time: datetime, record: Any) -> None:
        self.recorder, self.task, self.run_time, self.record = recorder, task, run_time, record

    def live(self) -> tuple[Run, ProgressSink] | None:
        promote = getattr(self.recorder, "promote", None)
        if promote is None:  # a process-pool worker: its records go back when it ends
            return None
        self.record = promote(self.task, self.run_time, self.record)
        return self.record, self.recorder.sink
