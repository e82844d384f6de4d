"""Submitted runs from ``submit`` to their final status: waiting for their time, queued by
priority, handed to executors, timed out, retried or cancelled."""

from __future__ import annotations

import heapq
import threading
from datetime import datetime, timedelta

from asyncz_like.events.constants import RUN_CANCELLED, RUN_FAILED, RUN_SUBMITTED, RUN_TIMEOUT
from asyncz_like.executors.pool import ProcessPoolExecutor
from asyncz_like.runs.history import RunHistory
from asyncz_like.runs.run import Run, RunError, new_run_id
from asyncz_like.runs.status import RunStatus
from asyncz_like.workers.attempts import AttemptTracker, log_extra, logger
from asyncz_like.workers.calls import make_run_task
from asyncz_like.workers.ledger import Wake
from asyncz_like.workers.process import start_process_attempt
from asyncz_like.workers.submitted import Place, SubmittedRun, Work


class RunEngine(AttemptTracker):
    """The queues and the life of submitted runs. Every status change goes through the
    :class:`~asyncz_like.workers.ledger.Ledger`; executors report back through the methods of
    :class:`~asyncz_like.workers.attempts.AttemptTracker`."""

    # -- submitting and the loop ------------------------------------------------------------

    def submit(self, work: Work, due: datetime | None, name: str) -> Run:
        """A new run ``name`` of ``work``, pending until ``due`` (None: now)."""
        now = self.host.clock.now()
        due = now if due is None else due
        run = Run(
            new_run_id(),
            None,
            name,
            RunStatus.PENDING,
            0.0,
            None,
            None,
            None,
            0,
            work.options.priority,
            now,
            due,
        )
        submitted = SubmittedRun(run, work)
        with self.lock:
            self.ledger.enter(run)
            self._submitted[run.id] = submitted
            self.queued[run.priority] += 1
            self._wait_until(submitted, due, now)
        logger.debug("Run %s (%s) submitted", run.id, name, extra=log_extra(run))
        self.ledger.announce(RUN_SUBMITTED, run)
        self.host.wake_runs_at(max(due, now))
        return run

    def process(self, now: datetime) -> datetime | None:
        """One pass: due runs become ready, late ones time out, expired records go; then
        hand over what the lanes have room for. Returns when a pass is needed again."""
        cleanup = self._next_cleanup is None or now >= self._next_cleanup
        fires = self.fires
        if (
            not (cleanup or self._due or self._deadlines)
            and self.lanes.empty()
            and (fires is None or len(fires.inbox) < fires.drain_at)
        ):  # the common pass: no submitted work at all (a hand-over would find nothing)
            return None
        if fires is not None and len(fires.inbox) >= fires.drain_at:
            fires.compact()
        with self.lock:
            due = self._due
            while due and due[0][0] <= now:
                _, _, submitted = heapq.heappop(due)
                if submitted.place is Place.DUE:
                    self.lanes.push(submitted, next(self._seq))
            timed_out = self._expire(now)
            if cleanup:
                self.ledger.history.cleanup(now)
                self._next_cleanup = now + timedelta(seconds=self.cleanup_interval)
        for submitted, wakes in timed_out:
            if submitted.handle is not None:
                submitted.handle.cancel()
            logger.warning(
                "Run %s (%s) timed out after %s s",
                submitted.run.id,
                submitted.run.name,
                submitted.options.timeout,
                extra=log_extra(submitted.run),
            )
            self.ledger.announce(RUN_TIMEOUT, submitted.run, wakes)
        self.dispatch()
        with self.lock:  # after the hand-over: an inline run may have set a retry or deadline
            return self._next_wake()

    def _expire(self, now: datetime) -> list[tuple[SubmittedRun, list[Wake] | None]]:
        deadlines, expired = self._deadlines, []
        while deadlines and deadlines[0][0] <= now:
            _, _, submitted, token = heapq.heappop(deadlines)
            if self._current(submitted, token):
                expired.append((submitted, self.ledger.move(submitted.run, RunStatus.TIMEOUT, now)))
                self._finish(submitted)
        return expired

    def _next_wake(self) -> datetime | None:
        due, deadlines = self._due, self._deadlines
        while due and due[0][2].place is not Place.DUE:
            heapq.heappop(due)
        while deadlines and not self._current(deadlines[0][2], deadlines[0][3]):
            heapq.heappop(deadlines)
        # No wake-up for the clean-up: reads skip expired records; a pass drops them.
        times = [heap[0][0] for heap in (due, deadlines) if heap]
        return min(times) if times else None

    def dispatch(self) -> None:
        """Hand over as many ready runs as the lanes have room for, best first."""
        self.lanes.hand_over(self.host.may_start_runs, self._taken)

    def _taken(self, submitted: SubmittedRun) -> None:
        self.queued[submitted.run.priority] -= 1

    def _send(self, submitted: SubmittedRun, token: int) -> None:
        try:
            executor = self.host.lookup_executor(submitted.options.executor)
            if isinstance(executor, ProcessPoolExecutor):
                start_process_attempt(self, submitted, token, executor)
            else:
                run_time = submitted.run.scheduled_at
                assert run_time is not None  # set by submit
                executor.send_task(make_run_task(self, submitted, token), [run_time])
        except Exception as exc:
            self.refused(submitted, token, exc)

    # -- cancelling, starting, stopping -----------------------------------------------------

    def restore(self, run: Run, work: Work, due: datetime | None) -> None:
        """Take on a pending (or retrying) run kept by an earlier shutdown: it waits for
        ``due`` (or a worker) as if it had been submitted here."""
        now = self.host.clock.now()
        submitted = SubmittedRun(run, work)
        with self.lock:
            self.ledger.enter(run)
            self._submitted[run.id] = submitted
            self.queued[run.priority] += 1
            self._wait_until(submitted, now if due is None else due, now)
        logger.info(
            "Run %s (%s) kept by an earlier shutdown is pending here",
            run.id,
            run.name,
            extra=log_extra(run),
        )

    def restore_failed(self, run: Run, error: BaseException) -> None:
        """A kept run that cannot be run here (its function is gone): it fails, recorded."""
        now = self.host.clock.now()
        with self.lock:
            run.error = RunError.from_exception(error)
            self.ledger.enter(run)
            wakes = self.ledger.move(run, RunStatus.FAILED, now)
        logger.error(
            "Run %s (%s) kept by an earlier shutdown cannot run: %s",
            run.id,
            run.name,
            error,
            extra=log_extra(run),
        )
        self.ledger.announce(RUN_FAILED, run, wakes, error)

    def cancel(self, run_id: str) -> SubmittedRun | None:
        """Cancel a pending, retrying or running run; its SubmittedRun, or None when there is
        none to cancel."""
        with self.lock:
            submitted = self._submitted.get(run_id)
            if submitted is None:
                return None
            if submitted.place in (Place.DUE, Place.READY):
                self.queued[submitted.run.priority] -= 1
            handle = submitted.handle if submitted.place is Place.RUNNING else None
            wakes = self.ledger.move(submitted.run, RunStatus.CANCELLED, self.host.clock.now())
            self._finish(submitted)
        if handle is not None:
            handle.cancel()
        logger.info("Run %s (%s) was cancelled", submitted.run.id, submitted.run.name)
        self.ledger.announce(RUN_CANCELLED, submitted.run, wakes)
        return submitted

    def executor_failed(self, run_id: str, error: BaseException | None) -> None:
        """An executor gave up on what it was handed: a run that never began fails (one that
        began reports its own outcome)."""
        submitted = self._submitted.get(run_id)
        if submitted is not None and submitted.place is Place.OUT:
            self.refused(submitted, submitted.token, error or RuntimeError("the executor failed"))
            self.dispatch()

    def replace_history(self, history: RunHistory) -> None:
        """Keep records in ``history`` from now on; the unfinished runs move there."""
        with self.lock:
            for submitted in self._submitted.values():
                history.add(submitted.run)
            self.ledger.history = history

    def start(self, now: datetime) -> None:
        """The scheduler started: queue the ready runs again (the first pass hands them over)."""
        with self.lock:
            self.started_at = now
            self._next_cleanup = now + timedelta(seconds=self.cleanup_interval)
            self.lanes.reset(
                submitted
                for submitted in self._submitted.values()
                if submitted.place is Place.READY
            )

    def running_runs(self) -> list[Run]:
        """The runs whose attempt is running now."""
        with self.lock:
            return [
                submitted.run
                for submitted in self._submitted.values()
                if submitted.place is Place.RUNNING
            ]

    def stop(self, wait: bool, keep: bool = False) -> list[tuple[Run, bytes, datetime | None]]:
        """The scheduler stops. Runs handed over but not started are taken back (PENDING, for
        the next start). Running ones finish with ``wait``, else they are cancelled.

        With ``keep`` (a persistent history), running attempts in threads are waited for too
        (so that their outcome is recorded before the history's last write), and the pending
        and retrying runs leave this engine: returned with their work and due time, for the
        history to keep in its store.
        """
        cancelled: list[tuple[SubmittedRun, list[Wake] | None]] = []
        now = self.host.clock.now()
        with self.lock:
            self.started_at = None
            for submitted in list(self._submitted.values()):
                if submitted.place is Place.OUT:
                    self.lanes.release(submitted, submitted.lane_token)
                    submitted.token += 1
                    submitted.place = Place.READY
                    self.queued[submitted.run.priority] += 1
                elif submitted.place is Place.RUNNING and not wait:
                    cancelled.append(
                        (submitted, self.ledger.move(submitted.run, RunStatus.CANCELLED, now))
                    )
                    self._finish(submitted)
            running = [
                submitted.handle
                for submitted in self._submitted.values()
                if submitted.handle is not None
            ]
            threads = [
                submitted
                for submitted in self._submitted.values()
                if submitted.place is Place.RUNNING
                and submitted.handle is None
                and not submitted.coroutine
            ]
        for submitted, wakes in cancelled:
            if submitted.handle is not None:
                submitted.handle.cancel()
            self.ledger.announce(RUN_CANCELLED, submitted.run, wakes)
        if wait:
            for handle in running:
                handle.join()
            if keep:
                for submitted in threads:
                    stopped = threading.Event()
                    if self.when_stopped(submitted, stopped.set):
                        stopped.wait()
        return self._take_pending() if keep else []

    def _take_pending(self) -> list[tuple[Run, bytes, datetime | None]]:
        with self.lock:
            due_at = {
                id(submitted): due
                for due, _, submitted in self._due
                if submitted.place is Place.DUE
            }
            taken = []
            for submitted in list(self._submitted.values()):
                if submitted.place in (Place.DUE, Place.READY) and submitted.record is not None:
                    self.queued[submitted.run.priority] -= 1
                    self._finish(submitted)  # DONE: the lanes and the due heap skip it
                    taken.append((submitted.run, submitted.record, due_at.get(id(submitted))))
            return taken
