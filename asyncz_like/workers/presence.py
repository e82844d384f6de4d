"""A worker's record among the workers its broker knows: registered at its start, a
heartbeat with the runs it holds every few seconds, unregistered at a clean stop.

The record is informational (the dashboard and ``asyncz-like workers`` list it): no claim or
lease depends on it, so a failing call is logged and the worker works on.
"""

from __future__ import annotations

import math
import os
import socket
from datetime import datetime

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.records import WorkerInfo
from asyncz_like.clock import Clock
from asyncz_like.version import VERSION
from asyncz_like.workers.recording import BrokerCalls, logger
from asyncz_like.workers.settings import WorkerSettings

#: How often a worker's record gets a heartbeat. Leases are renewed every second while runs
#: are held; the record needs less: one round trip per worker every few seconds, idle or
#: busy, and a worker that died is listed gone within three of them.
PRESENCE_SECONDS = 5.0


class Presence:
    """The registry calls of one ``Worker.run()``. :meth:`tick` is called at each lease
    heartbeat; every ``PRESENCE_SECONDS`` worth of ticks it sends the record's heartbeat."""

    def __init__(
        self,
        broker: BaseBroker,
        calls: BrokerCalls,
        settings: WorkerSettings,
        worker_id: str,
        clock: Clock,
    ) -> None:
        self.broker, self.calls, self.clock = broker, calls, clock
        self.settings, self.worker_id = settings, worker_id
        # whole lease heartbeats, at least PRESENCE_SECONDS (less a rounding error's worth)
        self.every = max(1, math.ceil(PRESENCE_SECONDS / settings.heartbeat_seconds - 1e-9))
        self.seconds = self.every * settings.heartbeat_seconds
        self.ticks = 0
        self.registered = False
        self.started_at: datetime | None = None

    def info(self, now: datetime, busy: int) -> WorkerInfo:
        """This worker's record at ``now``."""
        settings = self.settings
        return WorkerInfo(
            self.worker_id,
            socket.gethostname()[:255],
            os.getpid(),
            settings.queues,
            settings.concurrency,
            self.started_at or now,
            now,
            busy,
            self.seconds,
            VERSION,
        )

    async def register(self, busy: int = 0) -> None:
        now = self.clock.now()
        self.started_at = self.started_at or now
        try:
            await self.calls(self.broker.register_worker, self.info(now, busy), now)
        except Exception as exc:
            self._failed("Registering", exc)
            return
        self.registered = True

    async def tick(self, busy: int) -> None:
        """A lease heartbeat passed: send the record's own when its turn has come."""
        self.ticks += 1
        if self.ticks % self.every:
            return
        if not self.registered:
            await self.register(busy)
            return
        try:
            known = await self.calls(
                self.broker.heartbeat_worker, self.worker_id, busy, self.clock.now()
            )
        except Exception as exc:
            self._failed("Sending the heartbeat of", exc)
            return
        if not known:  # cleaned up after a long pause, or the broker lost its records
            logger.info(
                "Worker %s was not known to the broker; registering it again",
                self.worker_id,
                extra={"worker_id": self.worker_id},
            )
            await self.register(busy)

    async def unregister(self) -> None:
        if not self.registered:
            return
        try:
            await self.calls(self.broker.unregister_worker, self.worker_id)
        except Exception as exc:
            self._failed("Unregistering", exc)
            return
        self.registered = False

    def _failed(self, doing: str, exc: Exception) -> None:
        logger.warning(
            "%s worker %s failed (it works on; only the list of workers misses it): %r",
            doing,
            self.worker_id,
            exc,
            extra={"worker_id": self.worker_id},
        )
