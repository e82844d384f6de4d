"""The broker side of a scheduler: submitted runs go to a broker, where a worker in any
process attached to it claims them; this process may run such a worker too.

Without the ``broker`` option nothing here is used: runs stay in the scheduler's process.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any, Protocol

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.plugins import make_broker
from asyncz_like.brokers.records import (
    DEFAULT_QUEUE,
    CancelOutcome,
    Envelope,
    WorkerInfo,
    check_queues,
)
from asyncz_like.brokers.retrying import pending_run, retry_envelope
from asyncz_like.clock import Clock
from asyncz_like.events.dispatcher import EventDispatcher, Listener
from asyncz_like.exceptions import RunLookupError
from asyncz_like.limits import check_count, check_timeout
from asyncz_like.runs.run import Run
from asyncz_like.runs.stats import RunStats, WorkerCounts
from asyncz_like.runs.status import RunStatus
from asyncz_like.schedulers.config import as_bool
from asyncz_like.schedulers.envelopes import make_envelopes
from asyncz_like.schedulers.queue_fires import QueueExecutor
from asyncz_like.schedulers.submit_items import Call
from asyncz_like.tasks.task import QUEUE_PREFIX
from asyncz_like.workers.cancelling import CancelResult
from asyncz_like.workers.worker import Worker

#: The scheduler options read here.
BROKER_OPTIONS = frozenset({"broker", "worker", "queues", "worker_concurrency"})
#: The longest pause between two polls of a wait (the first is 5 ms, then doubling).
MAX_POLL_SECONDS = 0.1


class BrokerHost(Protocol):
    timezone: tzinfo
    dispatcher: EventDispatcher

    @property
    def clock(self) -> Clock: ...


class BrokerSide:
    """The broker (None: no broker) and the :class:`Worker` this scheduler runs on it."""

    def __init__(self, host: BrokerHost) -> None:
        self.host = host
        self.broker: BaseBroker | None = None
        self.queues: tuple[str, ...] = (DEFAULT_QUEUE,)
        self.run_worker = True
        self.worker_concurrency = 10
        self.worker: Worker | None = None
        self._thread: threading.Thread | None = None
        self._broker_started = False
        #: ``(callback, mask)`` added to each worker made at a start.
        self.worker_listeners: list[tuple[Listener, int]] = []

    def configure(self, options: Mapping[str, Any]) -> None:
        """Read ``broker``, ``worker``, ``queues`` and ``worker_concurrency``."""
        given = options.get("broker")
        self.broker = None if given is None else make_broker(given, "broker")
        self._broker_started = False
        self.run_worker = as_bool(options.get("worker", True), "worker")
        queues = options.get("queues") or [DEFAULT_QUEUE]
        if isinstance(queues, str):  # "default,urgent", as a config file gives it
            queues = [queue.strip() for queue in queues.split(",") if queue.strip()]
        self.queues = check_queues(list(queues))
        concurrency = options.get("worker_concurrency", 10)
        if isinstance(concurrency, str):
            concurrency = int(concurrency) if concurrency.isdigit() else concurrency
        self.worker_concurrency = check_count(concurrency, "worker_concurrency")
        if self.broker is None and ({"worker", "queues", "worker_concurrency"} & set(options)):
            raise TypeError("worker, queues and worker_concurrency need the broker option")

    def executor_for(self, alias: str) -> QueueExecutor | None:
        """The executor of a task alias ``"queue:<name>"`` when there is a broker."""
        if self.broker is None or not alias.startswith(QUEUE_PREFIX):
            return None
        return QueueExecutor(alias[len(QUEUE_PREFIX) :], lambda: self.broker)

    def require(self, what: str) -> BaseBroker:
        """The broker, started (a process may submit or read before the scheduler starts)."""
        broker = self.broker
        if broker is None:
            raise ValueError(f"{what} needs a broker: give the scheduler broker=...")
        if not self._broker_started:
            broker.start()  # idempotent
            self._broker_started = True
        return broker

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the broker, then the worker in a thread of its own (its own event loop)."""
        broker = self.broker
        if broker is None:
            return
        broker.start()
        self._broker_started = True
        if not self.run_worker:
            return
        worker = Worker(
            broker,
            self.queues,
            self.worker_concurrency,
            clock=self.host.clock,
            events=self.host.dispatcher,  # the scheduler's listeners hear its worker's runs
        )
        for callback, mask in self.worker_listeners:
            worker.add_listener(callback, mask)
        self.worker = worker
        self._thread = threading.Thread(
            target=worker.run_sync, args=(False,), name="asyncz_like-worker", daemon=True
        )
        self._thread.start()

    def stop(self, wait: bool) -> None:
        """Stop the worker (``wait``: let running runs finish within its grace time; else
        give them back at once), then the broker."""
        broker = self.broker
        if broker is None:
            return
        self.stop_worker(wait)
        broker.shutdown()
        self._broker_started = False

    def stop_worker(self, wait: bool) -> None:
        """Stop the embedded worker and wait for its thread (blocking: from a coroutine, run
        it in a thread)."""
        worker, thread = self.worker, self._thread
        self.worker = self._thread = None
        if worker is not None and thread is not None:
            worker.stop(now=not wait)
            if thread is not threading.current_thread():  # not a run shutting us down
                thread.join()

    # -- submitting -------------------------------------------------------------------------

    def envelopes(self, calls: Iterable[Call], now: datetime) -> list[Envelope]:
        """The envelopes of submitted runs; bad input raises naming the argument."""
        return make_envelopes(calls, now, self.host.timezone)

    def enqueue(self, envelopes: list[Envelope], now: datetime) -> list[Run]:
        """Enqueue in one round trip (shared brokers share it with other threads enqueuing
        at the same time); the runs as they are now (PENDING)."""
        self.require("submit").enqueue(envelopes, now)
        return [pending_run(envelope) for envelope in envelopes]

    # -- reading, waiting, cancelling -------------------------------------------------------

    def list_runs(
        self, status: Any, task_id: str | None, limit: int | None, queue: str | None
    ) -> list[Run]:
        broker = self.require("list_runs")
        if isinstance(status, list | tuple | set | frozenset):
            wanted = {RunStatus(value) for value in status}
            runs = [run for run in broker.list_runs(queue, None, 1_000_000) if run.status in wanted]
        else:
            runs = broker.list_runs(queue, status, 1_000_000 if limit is None or task_id else limit)
        if task_id is not None:
            runs = [run for run in runs if run.task_id == task_id]
        return runs if limit is None else runs[:limit]

    def list_workers(self) -> list[WorkerInfo]:
        return self.require("list_workers").list_workers(self.host.clock.now())

    def stats(self) -> RunStats:
        """The broker's counts: by status and by priority over all queues, and per queue;
        the workers it knows."""
        queues = self.require("stats").stats(self.host.clock.now())
        counts = dict.fromkeys((status.value for status in RunStatus), 0)
        queued: dict[int, int] = {}
        running = 0
        for stats in queues.values():
            for priority, n in stats.pending.items():
                queued[priority] = queued.get(priority, 0) + n
            running += stats.running
            for status in ("running", "retrying", "completed", "failed", "cancelled", "timeout"):
                counts[status] += getattr(stats, status)
            counts["pending"] += sum(stats.pending.values()) + stats.scheduled
        workers = _counts_of(self.list_workers())
        return RunStats(counts, queued, running, {}, 0.0, queues=queues, broker_workers=workers)

    def _finished(self, run_id: str) -> Run | None:
        run = self.require("wait_for").get_run(run_id)
        if run is None:
            raise RunLookupError(run_id)
        return run if run.finished else None

    async def wait_async(self, run_id: str, timeout: float | None) -> Run:  # noqa: ASYNC109
        timeout = check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.005
        while (run := await asyncio.to_thread(self._finished, run_id)) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"Run {run_id!r} did not finish within {timeout} s")
            await asyncio.sleep(_capped(pause, deadline))
            pause = min(pause * 2, MAX_POLL_SECONDS)
        return run

    def wait_blocking(self, run_id: str, timeout: float | None) -> Run:
        timeout = check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.005
        while (run := self._finished(run_id)) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"Run {run_id!r} did not finish within {timeout} s")
            time.sleep(_capped(pause, deadline))
            pause = min(pause * 2, MAX_POLL_SECONDS)
        return run

    def retry(self, run_id: str) -> Run:
        now = self.host.clock.now()
        return self.enqueue([retry_envelope(self.require("retry_run"), run_id, now)], now)[0]

    def cancel(self, run_id: str) -> BrokerCancelResult:
        outcome = self.require("cancel_run").cancel(run_id, self.host.clock.now())
        return BrokerCancelResult(run_id, self, outcome)


class BrokerCancelResult(CancelResult):
    """:class:`CancelResult` of a run in a broker: true when it was cancelled (waiting) or
    its worker was asked to stop it (running); awaiting it (or ``wait()``) polls the broker
    until the run has ended."""

    __slots__ = ("_side", "outcome")

    def __init__(self, run_id: str, side: BrokerSide, outcome: CancelOutcome) -> None:
        super().__init__(run_id)
        self._side, self.outcome = side, outcome
        self.cancelled = outcome in (CancelOutcome.CANCELLED, CancelOutcome.REQUESTED)

    async def _stopped(self) -> bool:
        if self.outcome is CancelOutcome.REQUESTED:
            await self._side.wait_async(self.run_id, None)
        return self.cancelled

    def wait(self, timeout: float | None = None) -> bool:
        if self.outcome is CancelOutcome.REQUESTED:
            self._side.wait_blocking(self.run_id, timeout)
        return self.cancelled


def _counts_of(workers: list[WorkerInfo]) -> WorkerCounts:
    alive = [info for info in workers if info.alive]
    return WorkerCounts(
        alive=len(alive),
        gone=len(workers) - len(alive),
        busy=sum(info.busy for info in alive),
        slots=sum(info.concurrency for info in alive),
    )


def _capped(pause: float, deadline: float | None) -> float:
    return pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic()))
