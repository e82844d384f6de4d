"""What executors report about the attempts of submitted runs, with the token of their
hand-over: start, outcome, and the end of their hold on a worker."""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from asyncz_like.events.constants import (
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_RETRYING,
    RUN_STARTED,
)
from asyncz_like.limits import shifted
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.status import RunStatus
from asyncz_like.workers.lanes import Lanes
from asyncz_like.workers.ledger import Ledger, RunHost, Wake
from asyncz_like.workers.log_lines import log_retrying
from asyncz_like.workers.process import RemoteError
from asyncz_like.workers.submitted import Place, SubmittedRun

if TYPE_CHECKING:
    from asyncz_like.runs.history import RunHistory
    from asyncz_like.workers.fires import FireRecorder
    from asyncz_like.workers.submitted import AttemptHandle

logger = logging.getLogger("asyncz_like.runs")


def log_extra(run: Run) -> dict[str, Any]:
    return {"run_id": run.id, "run_name": run.name, "attempt": run.attempt}


class AttemptTracker:
    """The state of the submitted runs, and the reports of their attempts."""

    def __init__(self, host: RunHost, history: RunHistory, cleanup_interval: float = 60.0):
        self.host = host
        self.ledger = Ledger(host, history)
        self.lock = self.ledger.lock
        self.lanes = Lanes(self.lock, self._send)
        self.cleanup_interval = cleanup_interval
        self.started_at: datetime | None = None
        self.queued: Counter[int] = Counter()
        self._submitted: dict[str, SubmittedRun] = {}
        self._due: list[tuple[datetime, int, SubmittedRun]] = []
        self._deadlines: list[tuple[datetime, int, SubmittedRun, int]] = []
        self._seq = itertools.count()
        self._next_cleanup: datetime | None = None
        self._stop_waiters: dict[str, list[Wake]] = {}
        self.fires: FireRecorder | None = None  # set by the scheduler when it records fires

    def drain_fires(self) -> None:
        """Bring the records of finished fires into the history (before reading it)."""
        if self.fires is not None and self.fires.inbox:
            self.fires.drain()

    def dispatch(self) -> None:
        raise NotImplementedError

    def _send(self, submitted: SubmittedRun, token: int) -> None:
        raise NotImplementedError

    def shift_times(self, step: timedelta) -> None:
        """Move every due time and deadline by ``step``, a step of the wall clock: a delay, a
        retry's backoff and a timeout are spans of elapsed time. (A uniform move keeps each
        heap's order.)"""
        seconds = step.total_seconds()
        with self.lock:
            self._due[:] = [
                (shifted(due, seconds), seq, submitted) for due, seq, submitted in self._due
            ]
            self._deadlines[:] = [
                (shifted(deadline, seconds), seq, submitted, token)
                for deadline, seq, submitted, token in self._deadlines
            ]
            if self._next_cleanup is not None:
                self._next_cleanup = shifted(self._next_cleanup, seconds)

    def _wait_until(self, submitted: SubmittedRun, due: datetime, now: datetime) -> None:
        if due <= now:
            self.lanes.push(submitted, next(self._seq))
        else:
            submitted.place = Place.DUE
            heapq.heappush(self._due, (due, next(self._seq), submitted))

    def _current(self, submitted: SubmittedRun, token: int) -> bool:
        return submitted.token == token and submitted.run.status is RunStatus.RUNNING

    def _finish(self, submitted: SubmittedRun) -> None:
        submitted.place = Place.DONE
        self._submitted.pop(submitted.run.id, None)

    def begin(self, submitted: SubmittedRun, token: int) -> bool:
        """An attempt starts; False when it must not (cancelled or taken back meanwhile)."""
        now = self.host.clock.now()
        deadline = None
        with self.lock:
            if submitted.token != token or submitted.place is not Place.OUT:
                return False
            run = submitted.run
            run.attempt += 1
            run.started_at, run.progress, run.message = now, 0.0, None
            self.ledger.move(run, RunStatus.RUNNING, now)
            submitted.place = Place.RUNNING
            submitted.active = True
            if submitted.options.timeout is not None:
                deadline = shifted(now, submitted.options.timeout)
                heapq.heappush(self._deadlines, (deadline, next(self._seq), submitted, token))
        logger.debug("Run %s (%s) started", run.id, run.name, extra=log_extra(run))
        self.ledger.announce(RUN_STARTED, run)
        if deadline is not None:
            self.host.wake_runs_at(deadline)
        return True

    def attach(self, submitted: SubmittedRun, token: int, handle: AttemptHandle) -> bool:
        """Remember how to stop a running attempt; False when it should stop at once."""
        with self.lock:
            if not self._current(submitted, token):
                return False
            submitted.handle = handle
            return True

    def succeeded(self, submitted: SubmittedRun, token: int, value: Any) -> None:
        now = self.host.clock.now()
        with self.lock:
            run = submitted.run
            if not self._current(submitted, token):
                logger.debug("Result of run %s discarded: it is %s", run.id, run.status.value)
                return
            run.result, run.error, run.progress = value, None, 100.0
            wakes = self.ledger.move(run, RunStatus.COMPLETED, now)
            self._finish(submitted)
        logger.debug("Run %s (%s) completed", run.id, run.name, extra=log_extra(run))
        self.ledger.announce(RUN_COMPLETED, run, wakes)

    def failed(self, submitted: SubmittedRun, token: int, exc: BaseException) -> None:
        """An attempt raised: retry it after its backoff, or fail the run."""
        error = exc.error if isinstance(exc, RemoteError) else RunError.from_exception(exc)
        now = self.host.clock.now()
        with self.lock:
            run, options = submitted.run, submitted.options
            if not self._current(submitted, token):
                return
            run.error = error
            retry = run.attempt <= options.max_retries and _retries_on(exc, options.retry_on)
            if retry:
                due = shifted(now, options.backoff.delay(run.attempt))
                wakes = self.ledger.move(run, RunStatus.RETRYING, now)
                self.queued[run.priority] += 1
                self._wait_until(submitted, due, now)
            else:
                wakes = self.ledger.move(run, RunStatus.FAILED, now)
                self._finish(submitted)
        if retry:
            log_retrying(logger, run, error, due, log_extra(run))
            self.ledger.announce(RUN_RETRYING, run, wakes, exc)
            self.host.wake_runs_at(due)
            return
        logger.error(
            "Run %s (%s) failed: %s: %s",
            run.id,
            run.name,
            error.type,
            error.message,
            exc_info=None if isinstance(exc, RemoteError) else exc,
            extra=log_extra(run),
        )
        self.ledger.announce(RUN_FAILED, run, wakes, exc)

    def interrupted(self, submitted: SubmittedRun, token: int) -> None:
        """The attempt was cancelled from elsewhere (its own code, or the executor)."""
        with self.lock:
            if not self._current(submitted, token):
                return
            wakes = self.ledger.move(submitted.run, RunStatus.CANCELLED, self.host.clock.now())
            self._finish(submitted)
        logger.info("Run %s (%s) was cancelled", submitted.run.id, submitted.run.name)
        self.ledger.announce(RUN_CANCELLED, submitted.run, wakes)

    def ended(self, submitted: SubmittedRun, token: int) -> None:
        """The attempt no longer holds its worker: hand over the next run."""
        with self.lock:
            self.lanes.release(submitted, token)
            wakes = None
            if submitted.token == token:  # not a stale hand-over's end
                submitted.active = False
                if self._stop_waiters:
                    wakes = self._stop_waiters.pop(submitted.run.id, None)
        if wakes:
            for wake in wakes:
                wake()
        self.dispatch()

    def when_stopped(self, submitted: SubmittedRun, wake: Wake) -> bool:
        """Call ``wake`` when the attempt of ``submitted`` has ended; False (and no call) when no
        attempt is going on."""
        with self.lock:
            if not submitted.active:
                return False
            self._stop_waiters.setdefault(submitted.run.id, []).append(wake)
            return True

    def forget_stop_waiter(self, submitted: SubmittedRun, wake: Wake) -> None:
        with self.lock:
            wakes = self._stop_waiters.get(submitted.run.id)
            if wakes and wake in wakes:
                wakes.remove(wake)
                if not wakes:
                    del self._stop_waiters[submitted.run.id]

    def refused(self, submitted: SubmittedRun, token: int, exc: BaseException) -> None:
        """The executor would not take the run (gone, stopped, broken): the run fails."""
        error = RunError.from_exception(exc)
        with self.lock:
            self.lanes.release(submitted, token)
            if submitted.token != token or submitted.place is not Place.OUT:
                return
            submitted.run.error = error
            wakes = self.ledger.move(submitted.run, RunStatus.FAILED, self.host.clock.now())
            self._finish(submitted)
        logger.error(
            "Run %s (%s) could not be handed to executor %r: %s",
            submitted.run.id,
            submitted.run.name,
            submitted.options.executor,
            exc,
            extra=log_extra(submitted.run),
        )
        self.ledger.announce(RUN_FAILED, submitted.run, wakes, exc)


def _retries_on(exc: BaseException, types: tuple[type[BaseException], ...]) -> bool:
    if isinstance(exc, RemoteError):
        return exc.is_instance_of(types)
    return isinstance(exc, types)
