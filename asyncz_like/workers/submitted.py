"""The scheduler's bookkeeping for one submitted run: what to call and where it is."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from asyncz_like.runs.context import ProgressSink
    from asyncz_like.runs.options import RunOptions
    from asyncz_like.runs.run import Run


class Place(Enum):
    """Where a submitted run is: waiting for its time, for a worker, handed to its executor,
    running, or done."""

    DUE = "due"
    READY = "ready"
    OUT = "out"
    RUNNING = "running"
    DONE = "done"


class AttemptHandle(Protocol):
    """Stops a running attempt: cancels its coroutine or terminates its process."""

    def cancel(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...


class LaneCount(Protocol):
    """The lane a submitted run was handed over in (``lanes.Lane``): how many runs are busy."""

    busy: int


class AttemptReports(Protocol):
    """Where an attempt reports its start, outcome and end, with the token of its hand-over
    (the ``RunEngine``); a stale token is ignored."""

    @property
    def ledger(self) -> ProgressSink: ...
    def begin(self, submitted: SubmittedRun, token: int) -> bool: ...
    def attach(self, submitted: SubmittedRun, token: int, handle: AttemptHandle) -> bool: ...
    def succeeded(self, submitted: SubmittedRun, token: int, value: Any) -> None: ...
    def failed(self, submitted: SubmittedRun, token: int, exc: BaseException) -> None: ...
    def interrupted(self, submitted: SubmittedRun, token: int) -> None: ...
    def ended(self, submitted: SubmittedRun, token: int) -> None: ...


# Not frozen: a frozen dataclass's __init__ (object.__setattr__ per field) cost 0.6 µs more
# of a 13 µs in-process submit (5%); SubmittedRun copies the fields, so nothing keeps a Work.
@dataclass(slots=True)
class Work:
    """What a submitted run calls and how: ``fn(*args, **kwargs)`` with the run's
    ``options``; whether ``fn`` is a coroutine function; its ``lane``
    (``((executor, lane kind), capacity)``); and ``record``, the encoded work, when a
    persistent history may keep it for the next start."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: RunOptions
    coroutine: bool
    lane: tuple[tuple[str, str], int | None]
    record: bytes | None = None


class SubmittedRun:
    """A submitted run and what it needs to execute; lives until the run is final.

    ``token`` changes each time the run is handed to an executor (and when it is taken back),
    so that a stale hand-over never starts or reports. ``active`` is true from the start of an
    attempt until it no longer holds its worker (a cancelled thread may go on for a while).
    ``record`` is the encoded work, when a persistent history may keep it for the next start.
    """

    __slots__ = (
        "active",
        "args",
        "capacity",
        "context",
        "coroutine",
        "fn",
        "handle",
        "kwargs",
        "lane",
        "lane_key",
        "lane_token",
        "options",
        "place",
        "ready_seq",
        "record",
        "run",
        "token",
    )

    def __init__(self, run: Run, work: Work) -> None:
        self.run = run
        self.fn = work.fn
        self.args = work.args
        self.kwargs = work.kwargs
        self.options = work.options
        self.coroutine = work.coroutine
        self.context = contextvars.copy_context()
        self.lane_key, self.capacity = work.lane
        self.place = Place.DUE
        self.token = 0
        self.ready_seq = 0
        self.lane: LaneCount | None = None
        self.lane_token = -1
        self.handle: AttemptHandle | None = None
        self.active = False
        self.record = work.record
