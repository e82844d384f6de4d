"""The broker contract: where runs wait for a worker, are leased to one, and end.

A broker is sync and thread-safe, like a store: a worker calls it from a thread. Every time it
records is passed in (``now``), so that tests move time by hand. The promises every broker
keeps (``tests/brokers/test_contract.py`` holds each plugin to them):

* **Idempotent enqueue.** A run id is enqueued once: enqueuing it again returns False and
  changes nothing, so a periodic fire enqueued twice under one id runs once.
* **Order.** ``claim`` hands out due runs of the given queues by priority (higher first), then
  due time, then age. A run due later is not handed out before its time.
* **One holder at a time.** A claim is a lease until ``lease_until``; two claims never get
  the same run while its lease holds. A lease that is not renewed in time expires: the run
  goes back in line and a later claim hands it out again with a bigger ``token`` (on
  MariaDB and SQLite, a claim made at most a second after the lease's end: they look for
  expired leases at most once a second).
* **Fencing.** Every call about a delivery passes its token; a stale token (a lease lost and
  taken over) is refused: the call returns False and records nothing.
* **No crash loop.** A run whose deliveries end ``max_deliveries`` times with its worker gone
  (the lease expired) ends FAILED with a reason saying so, instead of being delivered again.
* **Failures it ends itself are told.** A run the broker ends FAILED on its own (lost
  ``max_deliveries`` times, a work record that cannot be read), not through :meth:`fail`, is
  passed to the listeners of :meth:`add_failure_listener` once recorded.
* **Waits live in the broker.** A delay or a retry is a due time kept by the broker; no
  worker holds it in memory. ``give_back`` (a graceful stop) returns a run to the queue without
  counting toward ``max_deliveries``.
* **Results.** A result the serializer cannot encode is kept as an
  :class:`~asyncz_like.runs.UnstoredResult` saying why; finishing never fails for it.
* **Workers known.** A worker registers itself, sends a heartbeat with how many runs it
  holds, and unregisters at a clean stop; any process attached lists them, each alive or
  gone by the age of its last heartbeat. A gone worker stays listed until ``cleanup`` passes
  its last heartbeat. The registry is informational: no claim or lease depends on it.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from asyncz_like.brokers.records import (
    CancelOutcome,
    Delivery,
    Envelope,
    Finish,
    QueueStats,
    Renewal,
    WorkerInfo,
    check_aware,
    check_claim,
    check_name,
)
from asyncz_like.limits import check_count
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.status import RunStatus

#: The statuses ``fail`` may end a run with.
FAIL_STATUSES = frozenset({RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.CANCELLED})
DEFAULT_LEASE_SECONDS = 30.0
#: ``(run_id, error)`` of runs a broker ended FAILED on its own.
Failures = list[tuple[str, RunError]]
#: Called with the :data:`Failures` of a claim.
FailureListener = Callable[[Failures], None]
logger = logging.getLogger(__name__)


def tell_failure_listeners(
    listeners: Iterable[FailureListener], failures: Failures, broker: object
) -> None:
    """Call each listener with (a copy of) ``failures``; what one raises is logged, naming
    ``broker``, and the others are still told."""
    for listener in listeners:
        try:
            listener(list(failures))
        except Exception:
            logger.exception(
                "A failure listener of %r raised",
                broker,
                extra={"run_ids": [run_id for run_id, _ in failures]},
            )


class WorkerRegistry(ABC):
    """Where a broker keeps the workers known to it (one record per worker id). The broker's
    own methods check the arguments and compute ``alive``; a registry only keeps records."""

    @abstractmethod
    def put(self, info: WorkerInfo) -> None:
        """Keep ``info``, replacing any record of its worker id."""

    @abstractmethod
    def beat(self, worker_id: str, busy: int, now: datetime) -> bool:
        """Set the worker's ``busy`` and ``last_heartbeat``; False when it is not known."""

    @abstractmethod
    def remove(self, worker_id: str) -> bool:
        """Forget the worker; False when it was not known."""

    @abstractmethod
    def all(self) -> list[WorkerInfo]:
        """Every record kept, in any order (``alive`` as kept)."""

    @abstractmethod
    def forget(self, before: datetime) -> int:
        """Forget the workers whose last heartbeat is before ``before``; how many."""


class BaseBroker(ABC):
    """Keeps runs for workers in any process attached to the same broker.

    Call :meth:`start` before anything else and :meth:`shutdown` at the end. Methods taking a
    ``token`` return False, recording nothing, when that token is not the run's current one
    (or the run is no longer running).
    """

    alias: str = "broker"
    #: Whether :meth:`get_envelope` still gives the call of a run that ended (what a retry
    #: needs).
    keeps_ended_calls: bool = False
    _failure_listeners: tuple[FailureListener, ...] = ()

    def start(self) -> None:  # noqa: B027  # optional hook
        """Open connections, create tables. Idempotent."""

    def attach(self) -> None:
        """Open the broker to read its runs, creating nothing (no table, queue or key), for
        a tool such as the command line; StoreNotFoundError when nothing is where it points.
        This default is :meth:`start`: a broker that creates something there overrides it."""
        self.start()

    def shutdown(self) -> None:  # noqa: B027  # optional hook
        """Close connections. The runs stay where they are."""

    def add_failure_listener(self, listener: FailureListener) -> None:
        """Call ``listener([(run_id, error), ...])`` with the runs this broker ends FAILED on
        its own, not through :meth:`fail`: lost ``max_deliveries`` times, or unreadable. It
        runs in the claiming thread after the ends are recorded; what it raises is logged."""
        if not callable(listener):
            raise TypeError(f"listener must be callable, got listener={listener!r}")
        self._failure_listeners = (*self._failure_listeners, listener)

    def _ended_failed(self, failures: Failures) -> None:
        """Tell the failure listeners about runs this broker ended FAILED on its own."""
        if failures:
            tell_failure_listeners(self._failure_listeners, failures, self)

    @abstractmethod
    def enqueue(self, envelopes: Iterable[Envelope], now: datetime | None = None) -> list[bool]:
        """Add runs, in one round trip where the transport allows; for each, True when added,
        False when a run with its id exists already (it is left as it is). ``now`` (the
        broker's clock when None) is the creation time of envelopes without ``created_at``;
        one without ``due`` is due at its creation."""

    @abstractmethod
    def claim(
        self,
        worker_id: str,
        queues: Iterable[str],
        limit: int,
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> list[Delivery]:
        """Lease up to ``limit`` runs of ``queues`` due at ``now`` to ``worker_id`` until
        ``now + lease_seconds``: by priority (higher first), then due time, then age (then
        id). First the runs of ``queues`` whose lease expired at ``now`` are put back in line
        as PENDING, or ended: CANCELLED when a cancel was requested, FAILED when their
        worker was lost ``max_deliveries`` times."""

    @abstractmethod
    def renew(
        self,
        worker_id: str,
        tokens: Mapping[str, int],
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> Renewal:
        """Extend the leases of the runs ``{run_id: token}`` held by ``worker_id`` to
        ``now + lease_seconds``; say which it no longer holds and which should be cancelled."""

    @abstractmethod
    def complete(self, run_id: str, token: int, result: Any, now: datetime) -> bool:
        """End the run COMPLETED with ``result``."""

    @abstractmethod
    def fail(
        self,
        run_id: str,
        token: int,
        error: RunError,
        now: datetime,
        status: RunStatus = RunStatus.FAILED,
    ) -> bool:
        """End the run with ``status`` (FAILED, TIMEOUT or CANCELLED) and ``error``."""

    @abstractmethod
    def retry(self, run_id: str, token: int, error: RunError, at: datetime) -> bool:
        """Put the run back as RETRYING, due at ``at``, keeping ``error`` as its last one."""

    def finish_many(self, finishes: Iterable[Finish]) -> list[bool]:
        """End many deliveries, each as :meth:`complete`, :meth:`fail` or :meth:`retry` would
        (each fenced by its own token), in one round trip where the transport allows; for
        each, whether it was recorded. A worker sends the runs that ended together this way.
        This default calls the single methods in turn."""
        answers = []
        for finish in finishes:
            if not isinstance(finish, Finish):
                raise TypeError(f"finish_many takes Finishes, got {finish!r}")
            answers.append(self._finish_one(finish))
        return answers

    def finish_and_claim(
        self,
        finishes: Iterable[Finish],
        worker_id: str,
        queues: Iterable[str],
        limit: int,
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> tuple[list[bool], list[Delivery]]:
        """:meth:`finish_many` then :meth:`claim`, in one round trip where the transport
        allows: a busy worker ends the runs that ended and fills their slots at once. The
        ends are recorded first (a run just ended may be claimed again at once); each keeps
        every promise of its own call. When the claim fails after the ends were recorded,
        their answers come back with no deliveries (the next claim takes the slots). This
        default calls the two in turn."""
        names = check_claim(worker_id, queues, limit, now, lease_seconds)
        answers = self.finish_many(finishes)  # bad arguments raise before anything is done
        try:
            deliveries = self.claim(worker_id, names, limit, now, lease_seconds)
        except Exception as exc:  # the ends are recorded: their answers must not be lost
            logger.warning("Claiming from %r after recording %d ends failed: %r", self,
                           len(answers), exc)  # fmt: skip
            deliveries = []
        return answers, deliveries

    def _finish_one(self, finish: Finish) -> bool:
        if finish.status is RunStatus.COMPLETED:
            return self.complete(finish.run_id, finish.token, finish.result, finish.at)
        if finish.error is None:
            raise TypeError(f"a {finish.status.value} Finish needs an error, got {finish!r}")
        if finish.status is RunStatus.RETRYING:
            return self.retry(finish.run_id, finish.token, finish.error, finish.at)
        return self.fail(finish.run_id, finish.token, finish.error, finish.at, finish.status)

    @abstractmethod
    def give_back(self, run_id: str, token: int) -> bool:
        """Return a run this worker will not finish (it is stopping) to the queue, due at
        once; the delivery does not count toward ``max_deliveries`` nor as an attempt."""

    @abstractmethod
    def progress(self, run_id: str, token: int, percent: float, message: str | None) -> bool:
        """Record the progress (0..100) and an optional message of a running run."""

    @abstractmethod
    def cancel(self, run_id: str, now: datetime) -> CancelOutcome:
        """Cancel a waiting run at once, or ask the worker of a running one to stop."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run | None:
        """The run's record now, or None for an unknown id."""

    def get_envelope(self, run_id: str) -> Envelope | None:
        """The envelope the run was enqueued with (its call: function reference, arguments,
        queue, options, headers), for a retry; None for an unknown id, or when this broker
        no longer keeps it (see :attr:`keeps_ended_calls`: Redis drops the call of a run
        that completed; this default keeps none). BrokenRecordError when it is kept but cannot
        be read back."""
        return None

    @abstractmethod
    def list_runs(
        self, queue: str | None = None, status: RunStatus | str | None = None, limit: int = 100
    ) -> list[Run]:
        """Up to ``limit`` runs, newest first, of one queue and/or one status."""

    @abstractmethod
    def stats(self, now: datetime) -> dict[str, QueueStats]:
        """Per queue, how many runs are in each state at ``now``."""

    @abstractmethod
    def cleanup(self, finished_before: datetime) -> int:
        """Delete the runs that finished before ``finished_before``; return how many.
        Unfinished runs are never deleted. The workers whose last heartbeat is before
        ``finished_before`` are forgotten too (not counted)."""

    # -- the workers known ----------------------------------------------------------------

    @property
    @abstractmethod
    def worker_registry(self) -> WorkerRegistry:
        """Where this broker keeps its workers' records."""

    def register_worker(self, info: WorkerInfo, now: datetime) -> None:
        """Make the worker known, its last heartbeat ``now`` (a record of the same id is
        replaced: a worker registers again when a heartbeat finds it forgotten)."""
        if not isinstance(info, WorkerInfo):
            raise TypeError(f"info must be a WorkerInfo, got info={info!r}")
        self.worker_registry.put(replace(info, last_heartbeat=check_aware(now, "now")))

    def heartbeat_worker(self, worker_id: str, busy: int, now: datetime) -> bool:
        """Record that the worker is there at ``now``, holding ``busy`` runs; False when it
        is not known (never registered, unregistered or cleaned up): register it again."""
        check_name(worker_id, "worker_id")
        check_count(busy, "busy", minimum=0)
        return self.worker_registry.beat(worker_id, busy, check_aware(now, "now"))

    def unregister_worker(self, worker_id: str) -> bool:
        """Forget the worker (at its clean stop); False when it was not known."""
        return self.worker_registry.remove(check_name(worker_id, "worker_id"))

    def list_workers(self, now: datetime) -> list[WorkerInfo]:
        """The workers known, by host, pid and id, each ``alive`` or not at ``now``."""
        check_aware(now, "now")
        found = [replace(info, alive=info.is_alive(now)) for info in self.worker_registry.all()]
        return sorted(found, key=lambda info: (info.hostname, info.pid, info.worker_id))

    @abstractmethod
    def wait_for_work(self, queues: Iterable[str], timeout: float) -> bool:
        """Block up to ``timeout`` seconds; return True early when new work may be waiting
        in ``queues`` (an enqueue from this or another process), False on timeout. A worker
        calls it when a claim came back empty, then claims again."""

    def interrupt_wait(self) -> None:  # noqa: B027  # optional hook
        """End the :meth:`wait_for_work` going on in this broker object at once: it returns
        False. When none is going on, the next one returns False at once. A worker calls it
        when asked to stop, so that an idle worker stops without waiting out its wait.
        Callable from any thread; it may send one message to the server (a NOTIFY, a
        PUBLISH) to wake a wait blocked on its connection. This default does nothing: a
        worker waits in slices, so a stop then waits for the slice to end."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "FAIL_STATUSES",
    "BaseBroker",
    "CancelOutcome",
    "Delivery",
    "Envelope",
    "FailureListener",
    "Failures",
    "Finish",
    "QueueStats",
    "Renewal",
    "WorkerInfo",
    "WorkerRegistry",
]
