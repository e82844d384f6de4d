"""Schedulers driven by a thread that waits on an Event."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from asyncz_like.schedulers.base import BaseScheduler, SchedulerState


class BlockingScheduler(BaseScheduler):
    """``start()`` runs the loop in the calling thread until ``shutdown()`` from elsewhere."""

    def _configure_extra(self, options: Mapping[str, Any]) -> None:
        self._event = threading.Event()

    def _start_loop(self) -> None:
        self._event.clear()
        self._main_loop()

    def _stop_loop(self) -> None:
        self.wakeup()

    def wakeup(self) -> None:
        self._event.set()

    def _main_loop(self) -> None:
        while self.state != SchedulerState.STATE_STOPPED:
            try:
                wait = self.process_tasks() if self.running else None
            except Exception:  # a store that is down: its own retries gave up; so do we, briefly
                self.logger.exception("Error processing the stores; retrying")
                wait = self.failed_pass_wait
            if wait is None or wait > 0:
                self._event.wait(wait)
                self._event.clear()


class BackgroundScheduler(BlockingScheduler):
    """Runs the loop in a daemon thread of its own; ``start()`` returns at once."""

    def _extra_options(self) -> frozenset[str]:
        return frozenset({"daemon"})

    def _configure_extra(self, options: Mapping[str, Any]) -> None:
        super()._configure_extra(options)
        self.daemon = bool(options.get("daemon", True))
        self._thread: threading.Thread | None = None

    def _start_loop(self) -> None:
        self._event.clear()
        self._thread = threading.Thread(
            target=self._main_loop, name="asyncz_like-scheduler", daemon=self.daemon
        )
        self._thread.start()

    def _stop_loop(self) -> None:
        self.wakeup()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None
