"""The plain data a broker takes and hands out: envelopes, deliveries, finishes, renewals,
counts, workers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from asyncz_like.limits import (
    MAX_COUNT,
    check_count,
    check_seconds,
    check_time,
    check_wait,
    shifted,
)
from asyncz_like.runs.backoff import Backoff, as_backoff, default_backoff
from asyncz_like.runs.run import RunError
from asyncz_like.runs.status import RunStatus

#: Longest run id, queue name, task id or worker id: what a SQL key column holds (MariaDB
#: indexes at most 767 bytes: 191 four-byte characters).
MAX_ID_LENGTH = 191
DEFAULT_QUEUE = "default"
DEFAULT_MAX_DELIVERIES = 3
#: A worker is listed alive while its last heartbeat is at most this many of its heartbeat
#: intervals old: one late or lost heartbeat does not make it look gone.
GONE_AFTER_HEARTBEATS = 3
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.<>]*$")
_new, _set = object.__new__, object.__setattr__
#: Targets found well formed (most runs share a few functions), up to a bound.
_GOOD_TARGETS: set[str] = set()
_MAX_GOOD_TARGETS = 4096


def check_name(value: Any, argument: str) -> str:
    """A nonempty string of at most MAX_ID_LENGTH characters; TypeError/ValueError naming
    ``argument`` otherwise."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"{argument} must be a nonempty string, got {argument}={value!r}")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{argument} is longer than {MAX_ID_LENGTH} characters: {value[:40]!r}...")
    return value


def check_target(value: Any) -> str:
    """A ``"module:qualname"`` reference to a function; TypeError otherwise."""
    if type(value) is str and value in _GOOD_TARGETS:  # the regex was 0.4 µs per envelope
        return value
    if not isinstance(value, str) or not _TARGET.match(value):
        raise TypeError(
            f"target must be a 'module:qualname' reference to a function, got {value!r}"
        )
    if type(value) is str and len(_GOOD_TARGETS) < _MAX_GOOD_TARGETS:
        _GOOD_TARGETS.add(value)
    return value


def check_queues(queues: Any) -> tuple[str, ...]:
    """The queue names of a claim or a wait: a nonempty list of names."""
    if isinstance(queues, str):
        queues = [queues]
    if not isinstance(queues, list | tuple | set | frozenset) or not queues:
        raise TypeError(f"queues must be a nonempty list of queue names, got queues={queues!r}")
    return tuple(sorted({check_name(queue, "queues") for queue in queues}))


def check_aware(value: Any, argument: str) -> datetime:
    """A timezone-aware datetime within the calendar."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise TypeError(f"{argument} must be a timezone-aware datetime, got {argument}={value!r}")
    return check_time(value, argument)


def check_claim(
    worker_id: str, queues: Iterable[str], limit: int, now: datetime, lease_seconds: float
) -> tuple[str, ...]:
    """The queue names of a claim (or renew) whose arguments are all valid."""
    check_name(worker_id, "worker_id")
    check_count(limit, "limit", minimum=0)
    check_aware(now, "now")
    check_wait(lease_seconds, "lease_seconds")
    return check_queues(list(queues) if not isinstance(queues, str) else queues)


@dataclass(frozen=True, slots=True, eq=True)
class Envelope:
    """One run to enqueue: what to call, with what, on which queue, when and how.

    ``target`` is the function as an importable ``"module:qualname"`` reference (a worker in
    another process imports it). ``due`` None means at once. ``retry_backoff`` is the base of
    a doubling backoff with jitter between the attempts (seconds, a timedelta or a
    :class:`~asyncz_like.runs.Backoff`). ``max_deliveries`` bounds how many times the run is
    handed to a worker that then stops without finishing it. ``headers`` carry strings across
    (trace context, an idempotency key). Bad input raises TypeError/ValueError naming the field.
    """

    run_id: str
    target: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = DEFAULT_QUEUE
    priority: int = 0
    due: datetime | None = None
    max_retries: int = 0
    retry_backoff: Backoff = field(default_factory=default_backoff)
    timeout: float | None = None
    max_deliveries: int = DEFAULT_MAX_DELIVERIES
    task_id: str | None = None
    name: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        # Exact types and common values first, the checks that name what is wrong after:
        # a submit makes an envelope per run, a worker one per run it reads (4.6 -> 3.2 µs).
        self._check_call()
        check_name(self.queue, "queue")
        check_count(self.priority, "priority", minimum=-MAX_COUNT - 1)
        if self.due is not None:
            check_aware(self.due, "due")
        if self.created_at is not None:
            check_aware(self.created_at, "created_at")
        check_count(self.max_retries, "max_retries", minimum=0)
        check_count(self.max_deliveries, "max_deliveries", minimum=1)
        if type(self.retry_backoff) is not Backoff:
            object.__setattr__(self, "retry_backoff", as_backoff(self.retry_backoff))
        if self.timeout is not None:
            object.__setattr__(
                self, "timeout", float(check_seconds(self.timeout, "timeout", positive=True))
            )
        if self.task_id is not None:
            check_name(self.task_id, "task_id")
        if self.name is not None:
            check_name(self.name, "name")
        if type(self.headers) is not dict or self.headers:
            self._check_headers()

    def _check_call(self) -> None:
        """Check the fields of the call: run id, target, arguments."""
        run_id = self.run_id
        if type(run_id) is not str or not 0 < len(run_id) <= MAX_ID_LENGTH:
            check_name(run_id, "run_id")
        check_target(self.target)
        if not isinstance(self.args, tuple):
            if not isinstance(self.args, list):
                raise TypeError(f"args must be a tuple or a list, got args={self.args!r}")
            object.__setattr__(self, "args", tuple(self.args))
        kwargs = self.kwargs
        if (type(kwargs) is not dict or kwargs) and (
            not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs)
        ):
            raise TypeError(f"kwargs must be a dict with string keys, got kwargs={kwargs!r}")

    def for_call(
        self,
        run_id: str,
        target: str,
        args: tuple[Any, ...] | list[Any],
        kwargs: dict[str, Any],
        name: str | None,
    ) -> Envelope:
        """This envelope for another run: its id, target, arguments and name checked as the
        constructor checks them, the other fields as here (checked when this one was made),
        headers copied. ``submit_many`` makes the envelopes of a batch so: 1.2 µs each
        instead of 3 (a frozen dataclass's ``__init__`` sets each field through
        ``object.__setattr__``, then ``__post_init__`` checks them all)."""
        made: Envelope = _new(Envelope)
        _set(made, "run_id", run_id)
        _set(made, "target", target)
        _set(made, "args", args)
        _set(made, "kwargs", kwargs)
        _set(made, "queue", self.queue)
        _set(made, "priority", self.priority)
        _set(made, "due", self.due)
        _set(made, "max_retries", self.max_retries)
        _set(made, "retry_backoff", self.retry_backoff)
        _set(made, "timeout", self.timeout)
        _set(made, "max_deliveries", self.max_deliveries)
        _set(made, "task_id", self.task_id)
        _set(made, "name", name)
        _set(made, "headers", dict(self.headers) if self.headers else {})
        _set(made, "created_at", self.created_at)
        made._check_call()
        if name is not None:
            check_name(name, "name")
        return made

    def _check_headers(self) -> None:
        headers = self.headers
        if not isinstance(headers, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in headers.items()
        ):
            raise TypeError(f"headers must be a dict of strings to strings, got {headers!r}")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One handing of a run to a worker.

    ``token`` is the fencing token: it grows with each claim of the run, and every later call
    about this delivery (renew, complete, fail, retry, give_back, progress) passes it, so a
    worker whose lease was lost and taken over cannot record anything. ``attempt`` is the
    1-based number of this try. The worker holds the run until ``lease_until`` unless it
    renews the lease.
    """

    envelope: Envelope
    token: int
    attempt: int
    lease_until: datetime

    @property
    def run_id(self) -> str:
        return self.envelope.run_id

    def retry_at(self, now: datetime) -> datetime | None:
        """When the next attempt should start after this one failed (``now`` plus the
        backoff), or None when the run has used its ``max_retries``."""
        if self.attempt > self.envelope.max_retries:
            return None
        return shifted(now, self.envelope.retry_backoff.delay(self.attempt))


@dataclass(frozen=True, slots=True)
class Finish:
    """How one delivery ends, for :meth:`~asyncz_like.brokers.base.BaseBroker.finish_many`:
    COMPLETED with ``result``; FAILED, TIMEOUT or CANCELLED with ``error``; or RETRYING with
    ``error``, due again at ``at``. ``at`` is otherwise the time the run ended. Build one
    with :meth:`completed`, :meth:`failed` or :meth:`retried`."""

    run_id: str
    token: int
    status: RunStatus
    at: datetime
    result: Any = None
    error: RunError | None = None

    @classmethod
    def completed(cls, run_id: str, token: int, result: Any, now: datetime) -> Finish:
        return cls(run_id, token, RunStatus.COMPLETED, now, result)

    @classmethod
    def failed(
        cls,
        run_id: str,
        token: int,
        error: RunError,
        now: datetime,
        status: RunStatus = RunStatus.FAILED,
    ) -> Finish:
        return cls(run_id, token, status, now, None, error)

    @classmethod
    def retried(cls, run_id: str, token: int, error: RunError, at: datetime) -> Finish:
        return cls(run_id, token, RunStatus.RETRYING, at, None, error)


@dataclass(frozen=True, slots=True)
class Renewal:
    """What a renew found: runs whose lease this worker no longer holds (stop them, do not
    finish them), and runs someone asked to cancel (stop them, then ``fail`` them with status
    CANCELLED)."""

    lost: frozenset[str] = frozenset()
    cancel_requested: frozenset[str] = frozenset()


class CancelOutcome(StrEnum):
    """What ``cancel`` did."""

    CANCELLED = "cancelled"  # it was waiting: cancelled at once
    REQUESTED = "requested"  # it is running: its worker sees the request at its next renew
    FINISHED = "finished"  # it had already ended: nothing changed
    UNKNOWN = "unknown"  # no run has that id


@dataclass(slots=True)
class QueueStats:
    """The runs of one queue by state. ``pending`` counts those due now, by priority;
    ``scheduled`` those due later (delayed); ``retrying`` those waiting for a retry."""

    pending: dict[int, int] = field(default_factory=dict)
    scheduled: int = 0
    running: int = 0
    retrying: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    timeout: int = 0

    @property
    def waiting(self) -> int:
        """All the runs not yet started (pending now, scheduled or retrying)."""
        return sum(self.pending.values()) + self.scheduled + self.retrying


def lost_reason(deliveries: int) -> str:
    """The error message of a run ended for reaching its ``max_deliveries``."""
    return (
        f"its worker stopped during each of {deliveries} deliveries (max_deliveries="
        f"{deliveries}); not delivered again"
    )


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One worker known to a broker: where it runs, what it claims, how busy it was at its
    last heartbeat. ``busy`` counts the runs it held; ``heartbeat_seconds`` is how often it
    sends a heartbeat. ``alive`` is computed by
    :meth:`~asyncz_like.brokers.base.BaseBroker.list_workers`: the last heartbeat is at
    most :data:`GONE_AFTER_HEARTBEATS` intervals old. Bad values raise TypeError/ValueError
    naming the field."""

    worker_id: str
    hostname: str
    pid: int
    queues: tuple[str, ...]
    concurrency: int
    started_at: datetime
    last_heartbeat: datetime
    busy: int = 0
    heartbeat_seconds: float = 5.0
    version: str = ""
    alive: bool = True

    def __post_init__(self) -> None:
        check_name(self.worker_id, "worker_id")
        for argument in ("hostname", "version"):
            if not isinstance(getattr(self, argument), str):
                raise TypeError(f"{argument} must be a string, got {getattr(self, argument)!r}")
        check_count(self.pid, "pid", minimum=0)
        queues = [self.queues] if isinstance(self.queues, str) else self.queues
        if not isinstance(queues, list | tuple) or not queues:
            raise TypeError(f"queues must be a nonempty list of names, got queues={queues!r}")
        object.__setattr__(self, "queues", tuple(check_name(name, "queues") for name in queues))
        check_count(self.concurrency, "concurrency")
        check_count(self.busy, "busy", minimum=0)
        check_aware(self.started_at, "started_at")
        check_aware(self.last_heartbeat, "last_heartbeat")
        seconds = check_seconds(self.heartbeat_seconds, "heartbeat_seconds", positive=True)
        object.__setattr__(self, "heartbeat_seconds", float(seconds))

    @property
    def idle(self) -> int:
        """The free slots at the last heartbeat."""
        return max(self.concurrency - self.busy, 0)

    def is_alive(self, now: datetime) -> bool:
        """Whether the last heartbeat is recent enough at ``now`` for the worker to be
        counted alive."""
        gone_after = timedelta(seconds=self.heartbeat_seconds * GONE_AFTER_HEARTBEATS)
        return now - self.last_heartbeat <= gone_after
