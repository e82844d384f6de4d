"""The run record: one execution of a function, submitted or fired by a task."""

from __future__ import annotations

import itertools
import os
import secrets
import traceback as traceback_module
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asyncz_like.runs.status import RunStatus

_prefix = secrets.token_hex(6)
_counter = itertools.count(1)


def _reset_ids() -> None:  # a forked child must not repeat its parent's ids
    global _prefix, _counter
    _prefix = secrets.token_hex(6)
    _counter = itertools.count(1)


os.register_at_fork(after_in_child=_reset_ids)


def new_run_id() -> str:
    """A unique run id: a random prefix per process and a counter (cheap, unlike uuid4)."""
    return f"{_prefix}-{next(_counter):x}"


@dataclass(frozen=True, slots=True)
class RunError:
    """What a failed run raised: the exception's type name, message and formatted traceback."""

    type: str
    message: str
    traceback: str | None = None

    @classmethod
    def from_exception(cls, exc: BaseException) -> RunError:
        trace = "".join(traceback_module.format_exception(exc))
        return cls(type(exc).__qualname__, str(exc), trace)

    @classmethod
    def coerce(cls, value: Any) -> RunError:
        """A RunError from itself or from a ``{"type", "message", "traceback"}`` mapping."""
        if isinstance(value, RunError):
            return value
        if isinstance(value, Mapping):
            return cls(str(value["type"]), str(value["message"]), value.get("traceback"))
        raise TypeError(f"Run.error must be a RunError or a mapping, got {value!r}")


@dataclass(frozen=True, slots=True)
class UnstoredResult:
    """Stands for the result of a run read back from a store or a broker when the serializer
    could not encode it: ``reason`` says why."""

    reason: str

    def __repr__(self) -> str:
        return f"<result not stored: {self.reason}>"


def check_percent(value: Any, argument: str = "progress") -> float:
    """``value`` as a float in 0..100; TypeError/ValueError naming ``argument`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{argument} must be a number from 0 to 100, got {value!r}")
    if not 0 <= value <= 100:  # also refuses NaN
        raise ValueError(f"{argument} must be from 0 to 100, got {value!r}")
    return float(value)


_TIME_FIELDS = ("created_at", "scheduled_at", "started_at", "finished_at")


@dataclass(slots=True, eq=False)
class Run:
    """One execution, with its status and outcome.

    The scheduler updates a run in place as it goes (read its fields at any time; do not set
    them). ``attempt`` counts the attempts started so far; ``started_at`` is the start of the
    latest one. ``task_id`` is the periodic task that fired it, None for submitted work.
    ``queue`` is the broker queue of a run sent through a broker (None otherwise) and
    ``deliveries`` how many times a broker handed it to a worker.
    """

    id: str
    task_id: str | None = None
    name: str | None = None
    status: RunStatus = RunStatus.PENDING
    progress: float = 0.0
    message: str | None = None
    result: Any = None
    error: RunError | None = None
    attempt: int = 0
    priority: int = 0
    created_at: datetime | None = None
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    queue: str | None = None
    deliveries: int = 0

    def __post_init__(self) -> None:
        # Cheap exact-type checks first: runs are made on the path of every fire.
        if type(self.id) is not str or not self.id:
            raise TypeError(f"Run.id must be a nonempty string, got {self.id!r}")
        if type(self.status) is not RunStatus:
            self.status = RunStatus(self.status)
        if type(self.progress) is not float or not 0.0 <= self.progress <= 100.0:
            self.progress = check_percent(self.progress, "Run.progress")
        if type(self.attempt) is not int or self.attempt < 0:
            raise ValueError(f"Run.attempt must be an int >= 0, got {self.attempt!r}")
        if type(self.priority) is not int and not _is_int(self.priority):
            raise TypeError(f"Run.priority must be an int, got {self.priority!r}")
        if self.error is not None and type(self.error) is not RunError:
            self.error = RunError.coerce(self.error)
        for value in (self.created_at, self.scheduled_at, self.started_at, self.finished_at):
            if value is not None and (type(value) is not datetime or value.tzinfo is None):
                _check_aware(self)

    @property
    def finished(self) -> bool:
        """Whether the run has reached a final status."""
        return self.status.finished

    @property
    def duration(self) -> float | None:
        """Seconds from the start of the latest attempt to the end, once both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain data: datetimes as ISO strings, the status as its value."""
        data: dict[str, Any] = {
            "id": self.id,
            "task_id": self.task_id,
            "name": self.name,
            "status": self.status.value,
            "progress": self.progress,
            "message": self.message,
            "result": self.result,
            "error": None,
            "attempt": self.attempt,
            "priority": self.priority,
            "queue": self.queue,
            "deliveries": self.deliveries,
        }
        if self.error is not None:
            data["error"] = {
                "type": self.error.type,
                "message": self.error.message,
                "traceback": self.error.traceback,
            }
        for name in _TIME_FIELDS:
            value = getattr(self, name)
            data[name] = value.isoformat() if value is not None else None
        return data


def _check_aware(run: Run) -> None:
    for name in _TIME_FIELDS:
        value = getattr(run, name)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise ValueError(f"Run.{name} must be a timezone-aware datetime, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
