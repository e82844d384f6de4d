"""What a worker tells its broker and its listeners when an attempt ends: completed, retried
at a later time, failed, timed out, cancelled, given back, or nothing (a lost lease)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.records import Finish
from asyncz_like.events.base import RunEvent
from asyncz_like.events.constants import (
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_PROGRESS,
    RUN_RETRYING,
    RUN_STARTED,
    RUN_TIMEOUT,
)
from asyncz_like.events.dispatcher import EventDispatcher
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.status import RunStatus
from asyncz_like.workers.finishing import Finisher
from asyncz_like.workers.held import Ending, HeldRun, Outcome, Stop
from asyncz_like.workers.log_lines import log_retrying

logger = logging.getLogger("asyncz_like.workers")
#: While the broker is away, the end of a run is sent again after RECORD_RETRY_FIRST seconds,
#: then waits doubling up to RECORD_RETRY_MAX, for up to RECORD_RETRY_SECONDS in all (then
#: the lease runs out and the run is delivered again).
RECORD_RETRY_FIRST, RECORD_RETRY_MAX, RECORD_RETRY_SECONDS = 0.25, 2.0, 120.0
#: How long the end of a run waits for its latest progress to reach the broker.
PROGRESS_WAIT_SECONDS = 5.0
T = TypeVar("T")


def log_extra(held: HeldRun) -> dict[str, Any]:
    run = held.run
    return {"run_id": run.id, "run_name": run.name, "queue": run.queue, "attempt": run.attempt}


class BrokerCalls:
    """The broker's blocking calls, made in threads of their own so the loop stays free."""

    def __init__(self, broker: BaseBroker, threads: int = 4) -> None:
        self.broker = broker
        self.threads = ThreadPoolExecutor(threads, thread_name_prefix="asyncz-like-broker")
        # one thread for progress, so that the reports of a run arrive in order
        self.progress_thread = ThreadPoolExecutor(1, thread_name_prefix="asyncz-like-progress")

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.threads, fn, *args)

    def close(self) -> None:
        self.progress_thread.shutdown(wait=True)
        self.threads.shutdown(wait=True, cancel_futures=True)


class Recorder:
    """Records the outcome of each attempt on the broker and announces it to listeners."""

    def __init__(
        self, calls: BrokerCalls, events: EventDispatcher, now: Callable[[], datetime]
    ) -> None:
        self.calls = calls
        self.broker = calls.broker
        self.events = events
        self.now = now
        self.finish = Finisher(self.broker, calls)  # the ends of runs, sent in batches
        self.counts: Counter[str] = Counter()  # outcomes recorded, for the stop's log line

    def announce(self, code: int, held: HeldRun, exception: BaseException | None = None) -> None:
        if self.events.wants(code):
            run, headers = held.run, held.delivery.envelope.headers
            self.events.dispatch(RunEvent(code, None, run.id, run.task_id, run, exception, headers))

    def started(self, held: HeldRun) -> None:
        run = held.run
        logger.info(
            "Run %s (%s) claimed and started: attempt %d on queue %s",
            run.id,
            run.name,
            run.attempt,
            run.queue,
            extra=log_extra(held),
        )
        self.announce(RUN_STARTED, held)

    def report_progress(self, held: HeldRun, percent: float, message: str | None) -> None:
        """From the run's own thread or task: keep it on the record, send it to the broker."""
        held.run.progress, held.run.message = percent, message
        if held.stop_reason is None:
            held.progress_sent = self.calls.progress_thread.submit(
                self.broker.progress, held.run_id, held.token, percent, message
            )
        self.announce(RUN_PROGRESS, held)

    async def record(self, held: HeldRun, outcome: Outcome) -> None:
        """Tell the broker how the attempt ended (unless the lease was lost). While the broker
        is away the end is sent again, the lease renewed meanwhile, for up to
        RECORD_RETRY_SECONDS: an outage does not get a finished run delivered again."""
        wait, given_up_at = RECORD_RETRY_FIRST, time.monotonic() + RECORD_RETRY_SECONDS
        tries = 0
        while True:
            try:
                await self._record_once(held, outcome)
            except Exception as exc:
                tries += 1
                if time.monotonic() + wait > given_up_at:
                    logger.exception(
                        "Could not record the end of run %s on the broker in %d "
                        "tries; it will be delivered again after its lease",
                        held.run_id,
                        tries,
                        extra=log_extra(held),
                    )
                    return
                if tries == 1:
                    logger.warning(
                        "Could not record the end of run %s on the broker (%r); "
                        "trying again for up to %s s",
                        held.run_id,
                        exc,
                        RECORD_RETRY_SECONDS,
                        extra=log_extra(held),
                    )
                await asyncio.sleep(wait)
                wait = min(wait * 2, RECORD_RETRY_MAX)
                continue
            if tries:
                logger.info(
                    "Recorded the end of run %s after %d failed tries",
                    held.run_id,
                    tries,
                    extra=log_extra(held),
                )
            return

    async def _record_once(self, held: HeldRun, outcome: Outcome) -> None:
        sent = held.progress_sent
        if sent is not None and not sent.done():
            await asyncio.wait([asyncio.wrap_future(sent)], timeout=PROGRESS_WAIT_SECONDS)
        if held.stop_reason is not None:
            await self._stopped(held, held.stop_reason)
        elif outcome.ending is Ending.RETURNED:
            await self._completed(held, outcome.value)
        elif outcome.ending is Ending.TIMED_OUT:
            await self._failed(held, outcome, RunStatus.TIMEOUT)
        else:
            await self._raised(held, outcome)

    async def _stopped(self, held: HeldRun, reason: Stop) -> None:
        run = held.run
        if reason is Stop.LOST:
            logger.warning(
                "Run %s (%s): lease lost; its outcome is dropped",
                run.id,
                run.name,
                extra=log_extra(held),
            )
        elif reason is Stop.GIVE_BACK:
            given = await self.calls(self.broker.give_back, run.id, held.token)
            self.counts["given back"] += given
            if given:  # back in its queue; the record says so (a tracer reads it)
                run.status = RunStatus.PENDING
            logger.info(
                "Run %s (%s) given back to queue %s%s",
                run.id,
                run.name,
                run.queue,
                "" if given else " (refused: no longer ours)",
                extra=log_extra(held),
            )
        else:
            error = RunError("CancelledError", "cancelled on request")
            await self._end(held, RunStatus.CANCELLED, error, RUN_CANCELLED, None)

    async def _completed(self, held: HeldRun, value: Any) -> None:
        run = held.run
        now = self.now()
        if not await self.finish(Finish.completed(run.id, held.token, value, now)):
            self._refused(held)
            return
        run.status, run.result, run.progress, run.finished_at = (
            RunStatus.COMPLETED,
            value,
            100.0,
            now,
        )
        self.counts["completed"] += 1
        logger.info(
            "Run %s (%s) completed in %.3f s",
            run.id,
            run.name,
            self._took(held),
            extra=log_extra(held),
        )
        self.announce(RUN_COMPLETED, held)

    async def _raised(self, held: HeldRun, outcome: Outcome) -> None:
        assert outcome.exception is not None
        error = RunError.from_exception(outcome.exception)
        now = self.now()
        retry_at = held.delivery.retry_at(now)
        if retry_at is None:
            await self._failed(held, outcome, RunStatus.FAILED)
            return
        run = held.run
        if not await self.finish(Finish.retried(run.id, held.token, error, retry_at)):
            self._refused(held)
            return
        run.status, run.error = RunStatus.RETRYING, error
        self.counts["retried"] += 1
        log_retrying(logger, run, error, retry_at, log_extra(held))
        self.announce(RUN_RETRYING, held, outcome.exception)

    async def _failed(self, held: HeldRun, outcome: Outcome, status: RunStatus) -> None:
        assert outcome.exception is not None
        if status is RunStatus.TIMEOUT:
            timeout = held.delivery.envelope.timeout
            error = RunError("TimeoutError", f"the attempt took longer than {timeout} s")
            await self._end(held, status, error, RUN_TIMEOUT, None)
        else:
            error = RunError.from_exception(outcome.exception)
            await self._end(held, status, error, RUN_FAILED, outcome.exception)

    async def _end(
        self,
        held: HeldRun,
        status: RunStatus,
        error: RunError,
        code: int,
        exception: BaseException | None,
    ) -> None:
        run = held.run
        now = self.now()
        if not await self.finish(Finish.failed(run.id, held.token, error, now, status)):
            self._refused(held)
            return
        run.status, run.error, run.finished_at = status, error, now
        self.counts[status.value] += 1
        log = logger.warning if status is RunStatus.CANCELLED else logger.error
        log(
            "Run %s (%s) ended %s after %.3f s: %s: %s",
            run.id,
            run.name,
            status.value,
            self._took(held),
            error.type,
            error.message,
            extra=log_extra(held),
        )
        self.announce(code, held, exception)

    def _refused(self, held: HeldRun) -> None:
        logger.warning(
            "Run %s (%s): the broker refused its outcome (the lease was lost and "
            "the run taken over); dropped",
            held.run_id,
            held.run.name,
            extra=log_extra(held),
        )

    @staticmethod
    def _took(held: HeldRun) -> float:
        return time.monotonic() - held.started


class HeldProgress:
    """The :class:`~asyncz_like.runs.context.ProgressSink` of one held run:
    ``update_progress()`` inside the work lands here."""

    __slots__ = ("held", "recorder")

    def __init__(self, recorder: Recorder, held: HeldRun) -> None:
        self.recorder, self.held = recorder, held

    def report_progress(self, run: Run, percent: float, message: str | None) -> None:
        self.recorder.report_progress(self.held, percent, message)
