"""The in-process broker: runs in dicts and heaps, for one process (the default).

Nothing is encoded: arguments and results stay the objects they are, as when a scheduler runs
work itself. Claims cost O(log n): per queue, one heap of runs due later (by due time) and one
of runs due now (by priority, due time, age); entries left behind by a change are skipped.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asyncz_like.brokers.base import (
    DEFAULT_LEASE_SECONDS,
    BaseBroker,
    CancelOutcome,
    Delivery,
    Envelope,
    QueueStats,
    Renewal,
    WorkerRegistry,
)
from asyncz_like.brokers.checks import check_claim, check_fail_status, check_percent_message
from asyncz_like.brokers.memory_workers import MemoryWorkerRegistry
from asyncz_like.brokers.records import check_aware, check_queues, lost_reason
from asyncz_like.limits import check_count, shifted
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.status import RunStatus

_WAITING = (RunStatus.PENDING, RunStatus.RETRYING)


@dataclass(slots=True, eq=False)
class _Entry:
    envelope: Envelope
    seq: int
    created_at: datetime
    due: datetime
    status: RunStatus = RunStatus.PENDING
    token: int = 0
    attempt: int = 0
    lost: int = 0  # deliveries whose lease expired
    version: int = 0  # bumped at each change of due/status: older heap entries are stale
    worker_id: str | None = None
    lease_until: datetime | None = None
    cancel_requested: bool = False
    progress: float = 0.0
    message: str | None = None
    result: Any = None
    error: RunError | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_run(self) -> Run:
        envelope = self.envelope
        return Run(
            envelope.run_id, envelope.task_id, envelope.name, self.status, self.progress,
            self.message, self.result, self.error, self.attempt, envelope.priority,
            self.created_at, self.due, self.started_at, self.finished_at, envelope.queue,
            self.token,
        )  # fmt: skip


@dataclass(slots=True)
class _Queue:
    later: list[tuple[datetime, int, int, str]] = field(default_factory=list)
    ready: list[tuple[int, datetime, int, int, str]] = field(default_factory=list)


class MemoryBroker(BaseBroker):
    """Runs kept in this process's memory. Any number of workers (threads, or the scheduler
    itself) of this process share it; nothing survives the process."""

    alias = "memory"
    keeps_ended_calls = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._runs: dict[str, _Entry] = {}
        self._queues: dict[str, _Queue] = {}
        self._running: dict[str, _Entry] = {}
        self._seq = itertools.count()
        self._workers = MemoryWorkerRegistry()
        self._interrupted = False  # interrupt_wait: the wait going on (or the next) ends

    @property
    def worker_registry(self) -> WorkerRegistry:
        return self._workers

    # -- adding and handing out ------------------------------------------------------------

    def enqueue(self, envelopes: Iterable[Envelope], now: datetime | None = None) -> list[bool]:
        now = check_aware(now, "now") if now is not None else datetime.now(UTC)
        added: list[bool] = []
        with self._lock:
            for envelope in envelopes:
                if not isinstance(envelope, Envelope):
                    raise TypeError(f"enqueue takes Envelopes, got {envelope!r}")
                if envelope.run_id in self._runs:
                    added.append(False)
                    continue
                created = envelope.created_at or now
                entry = _Entry(envelope, next(self._seq), created, envelope.due or created)
                self._runs[envelope.run_id] = entry
                self._schedule(entry)
                added.append(True)
            if any(added):
                self._work.notify_all()
        return added

    def _schedule(self, entry: _Entry) -> None:
        entry.version += 1
        queue = self._queues.setdefault(entry.envelope.queue, _Queue())
        item = (entry.due, entry.seq, entry.version, entry.envelope.run_id)
        heapq.heappush(queue.later, item)

    def claim(
        self,
        worker_id: str,
        queues: Iterable[str],
        limit: int,
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> list[Delivery]:
        names = check_claim(worker_id, queues, limit, now, lease_seconds)
        lease_until = shifted(now, lease_seconds)
        with self._lock:
            failed = self._take_back_expired(names, now)
            candidates = self._pop_ready(names, now, limit)
            deliveries = [self._deliver(entry, worker_id, now, lease_until) for entry in candidates]
        self._ended_failed(failed)
        return deliveries

    def _take_back_expired(
        self, names: tuple[str, ...], now: datetime
    ) -> list[tuple[str, RunError]]:
        """Put the runs whose lease expired back in line, or end them; the runs ended FAILED."""
        failed = []
        expired = [
            entry
            for entry in self._running.values()
            if entry.envelope.queue in names and entry.lease_until is not None
            and entry.lease_until <= now
        ]  # fmt: skip
        for entry in expired:
            entry.lost += 1
            if entry.cancel_requested:
                self._finish(entry, RunStatus.CANCELLED, now, error=entry.error)
            elif entry.lost >= entry.envelope.max_deliveries:
                error = RunError("WorkerLost", lost_reason(entry.lost))
                self._finish(entry, RunStatus.FAILED, now, error=error)
                failed.append((entry.envelope.run_id, error))
            else:
                self._release(entry, RunStatus.PENDING, entry.due)
        return failed

    def _pop_ready(self, names: tuple[str, ...], now: datetime, limit: int) -> list[_Entry]:
        heaps = [self._queues[name] for name in names if name in self._queues]
        for queue in heaps:
            while queue.later and queue.later[0][0] <= now:
                _, seq, version, run_id = heapq.heappop(queue.later)
                entry = self._runs.get(run_id)
                if entry is not None and entry.version == version:
                    priority = -entry.envelope.priority
                    heapq.heappush(queue.ready, (priority, entry.due, seq, version, run_id))
        taken: list[_Entry] = []
        while len(taken) < limit:
            best = min((queue for queue in heaps if queue.ready), default=None,
                       key=lambda queue: queue.ready[0])  # fmt: skip
            if best is None:
                break
            *_, version, run_id = heapq.heappop(best.ready)
            entry = self._runs.get(run_id)
            if entry is not None and entry.version == version and entry.status in _WAITING:
                taken.append(entry)
        return taken

    def _deliver(
        self, entry: _Entry, worker_id: str, now: datetime, lease_until: datetime
    ) -> Delivery:
        entry.version += 1
        entry.status = RunStatus.RUNNING
        entry.token += 1
        entry.attempt += 1
        entry.worker_id = worker_id
        entry.lease_until = lease_until
        entry.started_at = now
        self._running[entry.envelope.run_id] = entry
        return Delivery(entry.envelope, entry.token, entry.attempt, lease_until)

    # -- the holder's calls ----------------------------------------------------------------

    def _held(self, run_id: str, token: int) -> _Entry | None:
        entry = self._running.get(run_id)
        if entry is None or entry.token != token:
            return None
        return entry

    def renew(
        self,
        worker_id: str,
        tokens: Mapping[str, int],
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> Renewal:
        check_claim(worker_id, ["default"], 1, now, lease_seconds)
        lease_until = shifted(now, lease_seconds)
        lost: set[str] = set()
        cancel: set[str] = set()
        with self._lock:
            for run_id, token in tokens.items():
                entry = self._held(run_id, token)
                if entry is None or entry.worker_id != worker_id:
                    lost.add(run_id)
                    continue
                entry.lease_until = lease_until
                if entry.cancel_requested:
                    cancel.add(run_id)
        return Renewal(frozenset(lost), frozenset(cancel))

    def _on_held(self, run_id: str, token: int, change: Callable[[_Entry], object]) -> bool:
        """Whether ``token`` holds the run now (a holder's call with a stale token answers
        False and changes nothing); if so, ``change(entry)``, under the lock."""
        with self._lock:
            entry = self._held(run_id, token)
            if entry is None:
                return False
            change(entry)
            return True

    def complete(self, run_id: str, token: int, result: Any, now: datetime) -> bool:
        def completed(entry: _Entry) -> None:
            entry.progress = 100.0
            self._finish(entry, RunStatus.COMPLETED, now, result=result)

        return self._on_held(run_id, token, completed)

    def fail(
        self,
        run_id: str,
        token: int,
        error: RunError,
        now: datetime,
        status: RunStatus = RunStatus.FAILED,
    ) -> bool:
        status = check_fail_status(status)
        return self._on_held(
            run_id, token, lambda entry: self._finish(entry, status, now, error=error)
        )

    def retry(self, run_id: str, token: int, error: RunError, at: datetime) -> bool:
        def retrying(entry: _Entry) -> None:
            self._release(entry, RunStatus.RETRYING, at)
            entry.error = error

        return self._on_held(run_id, token, retrying)

    def give_back(self, run_id: str, token: int) -> bool:
        def given_back(entry: _Entry) -> None:
            entry.attempt -= 1
            self._release(entry, RunStatus.PENDING, entry.due)
            self._work.notify_all()

        return self._on_held(run_id, token, given_back)

    def progress(self, run_id: str, token: int, percent: float, message: str | None) -> bool:
        percent = check_percent_message(percent, message)

        def reported(entry: _Entry) -> None:
            entry.progress, entry.message = percent, message

        return self._on_held(run_id, token, reported)

    def _release(self, entry: _Entry, status: RunStatus, due: datetime) -> None:
        del self._running[entry.envelope.run_id]
        entry.status, entry.due = status, due
        entry.worker_id = entry.lease_until = None
        self._schedule(entry)

    def _finish(
        self,
        entry: _Entry,
        status: RunStatus,
        now: datetime,
        result: Any = None,
        error: RunError | None = None,
    ) -> None:
        self._running.pop(entry.envelope.run_id, None)
        entry.version += 1
        entry.status, entry.result, entry.error = status, result, error
        entry.finished_at = now
        entry.worker_id = entry.lease_until = None

    # -- anyone's calls --------------------------------------------------------------------

    def cancel(self, run_id: str, now: datetime) -> CancelOutcome:
        with self._lock:
            entry = self._runs.get(run_id)
            if entry is None:
                return CancelOutcome.UNKNOWN
            if entry.status.finished:
                return CancelOutcome.FINISHED
            if entry.status is RunStatus.RUNNING:
                entry.cancel_requested = True
                return CancelOutcome.REQUESTED
            self._finish(entry, RunStatus.CANCELLED, now, error=entry.error)
            return CancelOutcome.CANCELLED

    def get_run(self, run_id: str) -> Run | None:
        with self._lock:
            entry = self._runs.get(run_id)
            return None if entry is None else entry.to_run()

    def get_envelope(self, run_id: str) -> Envelope | None:
        with self._lock:
            entry = self._runs.get(run_id)
            return None if entry is None else entry.envelope

    def list_runs(
        self, queue: str | None = None, status: RunStatus | str | None = None, limit: int = 100
    ) -> list[Run]:
        wanted = None if status is None else RunStatus(status)
        check_count(limit, "limit", minimum=0)
        with self._lock:
            found = [
                entry for entry in self._runs.values()
                if (queue is None or entry.envelope.queue == queue)
                and (wanted is None or entry.status is wanted)
            ]  # fmt: skip
            found.sort(key=lambda entry: (entry.created_at, entry.envelope.run_id), reverse=True)
            return [entry.to_run() for entry in found[:limit]]

    def stats(self, now: datetime) -> dict[str, QueueStats]:
        counts: dict[str, QueueStats] = {}
        with self._lock:
            for entry in self._runs.values():
                _count(counts.setdefault(entry.envelope.queue, QueueStats()), entry, now)
        return counts

    def cleanup(self, finished_before: datetime) -> int:
        with self._lock:
            old = [
                run_id for run_id, entry in self._runs.items()
                if entry.finished_at is not None and entry.finished_at < finished_before
            ]  # fmt: skip
            for run_id in old:
                del self._runs[run_id]
        self._workers.forget(finished_before)
        return len(old)

    def wait_for_work(self, queues: Iterable[str], timeout: float) -> bool:
        check_queues(list(queues))
        with self._work:
            woken = self._interrupted or self._work.wait(timeout)
            if self._interrupted:
                self._interrupted = False
                return False
            return woken

    def interrupt_wait(self) -> None:
        with self._work:
            self._interrupted = True
            self._work.notify_all()


def _count(stats: QueueStats, entry: _Entry, now: datetime) -> None:
    """Count ``entry`` in its queue's ``stats``."""
    if entry.status is RunStatus.PENDING and entry.due > now:
        stats.scheduled += 1
    elif entry.status is RunStatus.PENDING:
        priority = entry.envelope.priority
        stats.pending[priority] = stats.pending.get(priority, 0) + 1
    else:
        name = entry.status.value
        setattr(stats, name, getattr(stats, name) + 1)
