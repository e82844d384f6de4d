"""The worker: a process (or a task in one) that claims runs from a broker's queues and runs
them, in any process on any host attached to the same broker."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from asyncz_like.brokers.base import DEFAULT_LEASE_SECONDS, BaseBroker
from asyncz_like.brokers.plugins import make_broker
from asyncz_like.clock import Clock, SystemClock
from asyncz_like.events.constants import ALL_RUN_EVENTS
from asyncz_like.events.dispatcher import EventDispatcher, ForwardingDispatcher, Listener
from asyncz_like.workers.recording import logger
from asyncz_like.workers.settings import (
    DEFAULT_CLEANUP_INTERVAL_HOURS,
    DEFAULT_CONCURRENCY,
    DEFAULT_GRACE_SECONDS,
    DEFAULT_POLLING_INTERVAL,
    DEFAULT_RETAIN_DAYS,
    WorkerSettings,
    make_settings,
)
from asyncz_like.workers.worker_loop import WorkerLoop

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Worker:
    """Claims runs from ``queues`` of ``broker`` and runs up to ``concurrency`` at a time.

    ``broker`` is a broker, a ``{"type": alias, ...}`` config or a URL (``sqlite:///runs.db``,
    ``postgresql+psycopg://...``); a broker built here is shut down when the worker stops.
    Runs are claimed by priority, then age; coroutine functions run on the event loop, plain
    functions in a pool of ``concurrency`` threads. Each claim is a lease of
    ``lease_seconds``, renewed while the run goes on (at least every second, so that a
    requested cancel stops the run within a second). When idle, the worker waits for new
    work, at most ``polling_interval`` seconds between claims. A stop lets the running runs
    finish within ``grace_seconds`` and gives the others back to their queue. Every
    ``cleanup_interval_hours`` it deletes the runs finished more than ``retain_days`` ago
    (and forgets the workers gone as long). It registers itself with the broker as
    ``worker_id`` (see :meth:`~asyncz_like.brokers.base.BaseBroker.list_workers`), sends a
    heartbeat with the runs it holds every few seconds and unregisters at a clean stop.
    Run events (RUN_STARTED, RUN_COMPLETED, ...) go to the worker's own listeners
    (:meth:`add_listener`), and also to ``events`` when given: a scheduler passes its own
    dispatcher, so that its listeners hear the runs of its embedded worker. ``clock`` (tests)
    gives the times recorded on the broker.
    """

    def __init__(
        self,
        broker: BaseBroker | Mapping[str, Any] | str,
        queues: Iterable[str] | str = ("default",),
        concurrency: int = DEFAULT_CONCURRENCY,
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        cleanup_interval_hours: float = DEFAULT_CLEANUP_INTERVAL_HOURS,
        retain_days: float = DEFAULT_RETAIN_DAYS,
        worker_id: str | None = None,
        clock: Clock | None = None,
        events: EventDispatcher | None = None,
    ) -> None:
        self.settings: WorkerSettings = make_settings(
            queues=queues,
            concurrency=concurrency,
            polling_interval=polling_interval,
            lease_seconds=lease_seconds,
            grace_seconds=grace_seconds,
            cleanup_interval_hours=cleanup_interval_hours,
            retain_days=retain_days,
        )
        self._owns_broker = not isinstance(broker, BaseBroker)
        self.broker = make_broker(broker, "broker")
        host = socket.gethostname()[:100]
        self.worker_id = worker_id or f"{host}-{os.getpid()}-{secrets.token_hex(3)}"
        self.clock: Clock = clock or SystemClock()
        self._events = (
            EventDispatcher(logger) if events is None else ForwardingDispatcher(logger, events)
        )
        self._session: WorkerLoop | None = None
        self._last_session: WorkerLoop | None = None
        self._stop_first: bool | None = None  # a stop asked before run() got going
        self._signals = 0

    def __repr__(self) -> str:
        settings = self.settings
        return (
            f"Worker({self.broker!r}, queues={list(settings.queues)!r}, "
            f"concurrency={settings.concurrency})"
        )

    # -- settings (the Framefox names) ------------------------------------------------------

    def set_queues(self, queues: Iterable[str] | str) -> None:
        """The queues to claim from (a list, or names separated by commas)."""
        self.settings.set_queues(queues)

    def set_concurrent_tasks(self, concurrency: int) -> None:
        """How many runs at a time (takes effect at the next :meth:`run`)."""
        self.settings.set_concurrency(concurrency)

    def set_polling_interval(self, seconds: float) -> None:
        """The longest wait between two claims of an idle worker."""
        self.settings.set_polling_interval(seconds)

    def set_cleanup_config(self, interval_hours: float, retain_days: float) -> None:
        """Every ``interval_hours``, delete the runs finished more than ``retain_days`` ago."""
        self.settings.set_cleanup(interval_hours, retain_days)

    # -- events -----------------------------------------------------------------------------

    def add_listener(self, callback: Listener, mask: int = ALL_RUN_EVENTS) -> None:
        """Call ``callback(event)`` for the run events whose code matches ``mask``. It is
        called on the worker's event loop (or a run's thread, for RUN_PROGRESS); keep it
        short."""
        self._events.add(callback, mask)

    def remove_listener(self, callback: Listener) -> None:
        self._events.remove(callback)

    # -- running ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._session is not None

    def runs_in_progress(self) -> dict[str, int]:
        """How many runs this worker holds now, by queue (empty when it is not running).
        Callable from any thread."""
        session = self._session
        if session is None:
            return {}
        return dict(Counter(held.run.queue or "" for held in list(session.held.values())))

    @property
    def stranded_threads(self) -> int:
        """Runs whose function still runs in a thread though the worker let go of them (a
        timeout, a cancel, a stop): a thread cannot be killed."""
        session = self._session or self._last_session
        return 0 if session is None else len(session.stranded)

    async def run(self) -> None:
        """Work until :meth:`stop` is called, then return once the runs are finished or given
        back."""
        if self._session is not None:
            raise RuntimeError("this worker is running already")
        session = WorkerLoop(self.broker, self.settings, self.worker_id, self.clock, self._events)
        self._session = session
        started = time.monotonic()
        if self._stop_first is not None:
            session.request_stop(self._stop_first)
        try:
            await session.run(on_started=self._log_started)
        finally:
            self._stop_first = None
            self._session, self._last_session = None, session
            if self._owns_broker:
                self.broker.shutdown()
            took = time.monotonic() - started
            counts = ", ".join(f"{n} {what}" for what, n in session.recorder.counts.items() if n)
            logger.info(
                "Worker %s stopped after %.1f s (%s)",
                self.worker_id,
                took,
                counts or "no runs",
                extra={"worker_id": self.worker_id},
            )

    def _log_started(self) -> None:
        settings = self.settings
        logger.info(
            "Worker %s started: queues %s, concurrency %d, broker %r",
            self.worker_id,
            ",".join(settings.queues),
            settings.concurrency,
            self.broker,
            extra={"worker_id": self.worker_id, "queues": settings.queues},
        )

    def stop(self, now: bool = False) -> None:
        """Stop claiming; let the running runs finish within ``grace_seconds`` (at once with
        ``now=True``), then give back the others. Callable from any thread."""
        session = self._session
        if session is None:
            self._stop_first = now or bool(self._stop_first)
            return
        session.loop.call_soon_threadsafe(session.request_stop, now)

    def run_sync(self, handle_signals: bool = True) -> None:
        """Run in this thread until stopped. With ``handle_signals`` (in the main thread), the
        first SIGTERM or SIGINT stops gracefully and a second one stops at once."""
        asyncio.run(self._run_with_signals() if handle_signals else self.run())

    async def _run_with_signals(self) -> None:
        loop = asyncio.get_running_loop()
        installed = []
        for sig in _SIGNALS:
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (RuntimeError, ValueError):  # not the main thread
                continue
            installed.append(sig)
        try:
            await self.run()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        self._signals += 1
        name = signal.Signals(sig).name
        if self._signals == 1:
            logger.warning(
                "%s: stopping; running runs have %s s to finish, then go back to their queue",
                name,
                self.settings.grace_seconds,
            )
            self.stop()
        else:
            logger.warning(
                "%s again: stopping at once; unfinished runs go back to their queue", name
            )
            self.stop(now=True)
