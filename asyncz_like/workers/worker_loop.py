"""One run of a worker: claim up to the free slots, run, record, renew the leases held, clean
up old runs; on a stop, let the running runs finish within the grace time and give back the
rest."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.records import Delivery
from asyncz_like.clock import Clock
from asyncz_like.events.dispatcher import EventDispatcher
from asyncz_like.limits import shifted
from asyncz_like.workers.handoff import ThreadHandoff
from asyncz_like.workers.held import HeldRun, Stop, attempt
from asyncz_like.workers.presence import Presence
from asyncz_like.workers.recording import (
    BrokerCalls,
    HeldProgress,
    Recorder,
    log_extra,
    logger,
)
from asyncz_like.workers.settings import WorkerSettings

#: An idle worker waits for work in slices this long, so that a stop is never kept waiting
#: long by a thread blocked in a broker whose wait cannot be interrupted (``interrupt_wait``).
WAIT_SLICE = 1.0
#: While runs are going on, a claim waits up to this long for a quarter of the slots to be
#: free, so that a busy worker claims in batches rather than one run per round trip.
BATCH_WINDOW = 0.005
#: How long giving back the unfinished runs may take at a stop.
GIVE_BACK_SECONDS = 10.0


class WorkerLoop:
    """The state of one ``Worker.run()``: the runs held, the threads, the stop requests."""

    def __init__(
        self,
        broker: BaseBroker,
        settings: WorkerSettings,
        worker_id: str,
        clock: Clock,
        events: EventDispatcher,
    ) -> None:
        self.broker, self.settings, self.worker_id, self.clock = broker, settings, worker_id, clock
        self.loop = asyncio.get_running_loop()
        self.calls = BrokerCalls(broker)
        self.threads = ThreadHandoff(self.loop, settings.concurrency)
        self.recorder = Recorder(self.calls, events, clock.now)
        self.presence = Presence(broker, self.calls, settings, worker_id, clock)
        self.held: dict[str, HeldRun] = {}
        self.stranded: set[HeldRun] = set()  # ended runs whose thread still runs
        # runs whose attempt is over and whose outcome is being recorded: their slot is free,
        # so that the next claim goes along with the recording
        self.ending: set[str] = set()
        self.supervisors: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()
        self.immediate = asyncio.Event()
        self.changed = asyncio.Event()  # a slot was freed
        self.next_cleanup: datetime | None = None
        self.claiming = False  # a claim is under way (its own, or along with ends)
        if type(broker).finish_and_claim is not BaseBroker.finish_and_claim:
            self.recorder.finish.along = self  # one round trip for both: worth waiting for

    def request_stop(self, now: bool) -> None:
        self.stopping.set()
        if now:
            self.immediate.set()
        # An idle wait ends now rather than at the end of its slice. In a thread of its own:
        # the broker may send a message to wake its waiting connection.
        threading.Thread(
            target=_interrupt_wait, args=(self.broker,), daemon=True, name="asyncz-like-interrupt"
        ).start()

    async def run(self, on_started: Callable[[], None]) -> None:
        heartbeat = self.loop.create_task(self._heartbeat())
        try:
            await self.calls(self.broker.start)
            await self.presence.register()
            on_started()
            await self.cleanup_if_due()
            await self._claim_until_stopped()
            await self._finish_or_give_back()
            await self.presence.unregister()
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            self.threads.shutdown()
            await self.loop.run_in_executor(None, self.calls.close)

    # -- claiming ---------------------------------------------------------------------------

    def free_slots(self) -> int:
        # At most ``concurrency`` ends being recorded free their slot: when the broker records
        # ends more slowly than the runs end, claiming on would grow a backlog of runs held
        # (and run again if this worker dies) without draining any faster.
        recording = min(len(self.ending), self.settings.concurrency)
        return self.settings.concurrency - (len(self.held) - recording) - len(self.stranded)

    async def _claim_until_stopped(self) -> None:
        while not self.stopping.is_set():
            await self.cleanup_if_due()
            self.changed.clear()
            free = self.free_slots()
            if not self._may_claim(free):
                await self._first(self.changed.wait())
                continue
            if free < self.settings.concurrency // 4 and self.held:
                await asyncio.sleep(BATCH_WINDOW)
                free = self.free_slots()
                if not self._may_claim(free):
                    continue
            deliveries = await self.claim(free)
            if len(deliveries) < free:
                await self._idle()

    def _may_claim(self, free: int) -> bool:
        # ends waiting to be sent claim the free slots along with them (then set `changed`)
        finish = self.recorder.finish
        return free > 0 and not self.claiming and not (finish.along and finish.waiting)

    async def claim(self, limit: int) -> list[Delivery]:
        """Claim up to ``limit`` runs and start them."""
        settings = self.settings
        self.claiming = True
        try:
            deliveries = await self.calls(
                self.broker.claim,
                self.worker_id,
                settings.queues,
                limit,
                self.clock.now(),
                settings.lease_seconds,
            )
        except Exception:
            logger.exception(
                "Claiming from %r failed; trying again in %s s",
                self.broker,
                settings.polling_interval,
            )
            return []
        finally:
            self.claiming = False
        for delivery in deliveries:
            self.start(delivery)
        return deliveries

    def begin_claim(self) -> tuple[Any, ...] | None:
        """A claim for the free slots, sent along with a batch of ends (``ClaimAlong``)."""
        free = self.free_slots()
        if self.claiming or self.stopping.is_set() or free <= 0:
            return None
        self.claiming = True
        settings = self.settings
        return self.worker_id, settings.queues, free, self.clock.now(), settings.lease_seconds

    def end_claim(self, deliveries: list[Delivery]) -> None:
        self.claiming = False
        for delivery in deliveries:
            self.start(delivery)
        self.changed.set()

    async def _idle(self) -> None:
        """Wait for new work, a stop, or the polling interval to pass."""
        deadline = time.monotonic() + self.settings.polling_interval
        while not self.stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            waiting = self.loop.run_in_executor(
                self.calls.threads,
                self.broker.wait_for_work,
                self.settings.queues,
                min(left, WAIT_SLICE),
            )
            await self._first(waiting)
            if not waiting.done():
                return  # stopping: request_stop ends the wait (else it ends with its slice)
            if waiting.exception() is not None:
                logger.warning("Waiting for work failed: %r", waiting.exception())
                await self._first(asyncio.sleep(min(left, WAIT_SLICE)))
            elif waiting.result():
                return

    async def _first(self, awaitable: Awaitable[Any]) -> None:
        """Wait for ``awaitable`` or a stop request, whichever comes first."""
        work = asyncio.ensure_future(awaitable)
        stop = self.loop.create_task(self.stopping.wait())
        await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if isinstance(awaitable, asyncio.Future):
            return  # the caller looks at it
        work.cancel()

    # -- running ----------------------------------------------------------------------------

    def start(self, delivery: Delivery) -> None:
        held = HeldRun.of(delivery, self.clock.now())
        self.held[held.run_id] = held  # a later delivery of a run still being recorded: ours
        self.ending.discard(held.run_id)
        held.task = self.loop.create_task(self._supervise(held))
        self.supervisors.add(held.task)

    async def _supervise(self, held: HeldRun) -> None:
        recorder = self.recorder
        try:
            recorder.started(held)
            outcome = await attempt(held, self.threads, HeldProgress(recorder, held))
            if not held.thread_busy():
                self.ending.add(held.run_id)
                self.changed.set()
            await recorder.record(held, outcome)
        finally:
            if self.held.get(held.run_id) is held:  # not a later delivery of the same run
                del self.held[held.run_id]
                self.ending.discard(held.run_id)
            if held.thread_busy():
                self._strand(held)
            self.changed.set()
            # here rather than in a done callback, which cost 2.3 µs a run (one more callback)
            assert held.task is not None
            self.supervisors.discard(held.task)

    def _strand(self, held: HeldRun) -> None:
        """The run has ended but its thread runs on (a thread cannot be stopped): its slot
        stays taken until the function returns."""
        logger.warning(
            "Run %s (%s) ended but its function still runs in a thread; its result will be dropped",
            held.run_id,
            held.run.name,
            extra=log_extra(held),
        )
        self.stranded.add(held)
        assert held.thread_future is not None
        held.thread_future.add_done_callback(
            lambda _: self.loop.call_soon_threadsafe(self._unstrand, held)
        )

    def _unstrand(self, held: HeldRun) -> None:
        self.stranded.discard(held)
        self.changed.set()

    # -- upkeep -----------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            await self.renew()
            await self.presence.tick(len(self.held))

    async def renew(self) -> None:
        """Renew the leases held; stop the runs lost and those asked to cancel."""
        # Runs whose attempt is over but whose end is not yet recorded are renewed too: a
        # slow finish must not let the lease expire and the run be delivered again.
        tokens = {
            run_id: held.token
            for run_id, held in self.held.items()
            if held.stop_reason is not Stop.LOST
        }
        if not tokens:
            return
        settings = self.settings
        try:
            renewal = await self.calls(
                self.broker.renew, self.worker_id, tokens, self.clock.now(), settings.lease_seconds
            )
        except Exception as exc:
            logger.warning("Renewing %d leases failed: %r", len(tokens), exc)
            return
        for run_id in renewal.lost:
            self._stop(run_id, Stop.LOST, "lease lost (taken over or expired); stopping it")
        for run_id in renewal.cancel_requested - renewal.lost:
            self._stop(run_id, Stop.CANCEL, "cancel requested; stopping it")

    def _stop(self, run_id: str, reason: Stop, text: str) -> None:
        held = self.held.get(run_id)
        if held is None or held.attempt_ended() or not held.stop(reason):
            return
        thread = " (a thread cannot be stopped: its result will be dropped)"
        logger.warning(
            "Run %s (%s): %s%s",
            run_id,
            held.run.name,
            text,
            thread if held.thread_busy() else "",
            extra=log_extra(held),
        )

    async def cleanup_if_due(self) -> None:
        """Delete the runs finished more than ``retain_days`` ago, every ``interval_hours``."""
        now = self.clock.now()
        if self.next_cleanup is not None and now < self.next_cleanup:
            return
        settings = self.settings
        self.next_cleanup = shifted(now, settings.cleanup_interval_hours * 3600)
        before = shifted(now, -settings.retain_days * 86400)
        try:
            count = await self.calls(self.broker.cleanup, before)
        except Exception as exc:
            logger.warning("Cleaning up old runs failed: %r", exc)
            return
        if count:
            logger.info("Cleaned up %d runs finished before %s", count, before.isoformat())

    # -- stopping ---------------------------------------------------------------------------

    async def _finish_or_give_back(self) -> None:
        while self.claiming:  # a claim along with ends: its runs are ours to finish or give back
            self.changed.clear()
            await self.changed.wait()
        running = set(self.supervisors)
        if running and not self.immediate.is_set():
            logger.info(
                "Stopping: waiting up to %s s for %d running runs",
                self.settings.grace_seconds,
                len(running),
            )
            finished = self.loop.create_task(asyncio.wait(running))
            immediate = self.loop.create_task(self.immediate.wait())
            await asyncio.wait(
                {finished, immediate},
                timeout=self.settings.grace_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            finished.cancel()
            immediate.cancel()
        for held in list(self.held.values()):
            held.stop(Stop.GIVE_BACK)
        if self.supervisors:
            await asyncio.wait(set(self.supervisors), timeout=GIVE_BACK_SECONDS)


def _interrupt_wait(broker: BaseBroker) -> None:
    try:
        broker.interrupt_wait()
    except Exception as exc:  # the wait then ends with its slice
        logger.warning("Interrupting the wait for work of %r failed: %r", broker, exc)
