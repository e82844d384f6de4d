"""What a shutdown that waits for running work says in the log while it waits.

Under uvicorn or systemd a shutdown that waits 10 s in silence looks hung: the operator
cannot tell a long run from a deadlock. This names what is waited for, at once and then
every ``every`` seconds, with how long the wait has lasted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType

from asyncz_like.executors.base import BaseExecutor
from asyncz_like.runs.run import Run

#: Seconds between two reports of a wait that goes on.
REPORT_EVERY = 5.0


class WaitReport:
    """A context manager around a shutdown's wait for running work.

    ``describe`` lists what is still running (``"fire of task 'poll'"``, ...); nothing is
    logged when it lists nothing at the start.
    """

    def __init__(
        self, logger: logging.Logger, describe: Callable[[], list[str]], every: float | None = None
    ) -> None:
        self.logger = logger
        self.describe = describe
        self.every = REPORT_EVERY if every is None else every
        self._done = threading.Event()
        self._started = 0.0
        self._thread: threading.Thread | None = None

    def __enter__(self) -> WaitReport:
        self._started = time.monotonic()
        running = self.describe()
        if running:
            self.logger.info("Shutdown waits for %d running: %s", len(running), "; ".join(running))
            self._thread = threading.Thread(
                target=self._report, name="asyncz_like-shutdown-report", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self.logger.info("Shutdown waited %.1f s for running work", self.elapsed)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def _report(self) -> None:
        while not self._done.wait(self.every):
            running = self.describe()
            if running:
                self.logger.info(
                    "Shutdown still waits after %.0f s for %d running: %s",
                    self.elapsed,
                    len(running),
                    "; ".join(running),
                )


def running_work(now: datetime, runs: list[Run], executors: Iterable[BaseExecutor]) -> list[str]:
    """What runs now, one line each: submitted ``runs`` with their age, and fires by task."""
    lines: list[str] = []
    for run in runs:
        started = run.started_at
        age = "" if started is None else f", started {(now - started).total_seconds():.1f} s ago"
        lines.append(f"run {run.id} ({run.name}{age})")
    run_ids = {run.id for run in runs}
    for executor in executors:
        for task_id, count in executor.instances.items():
            if count and task_id not in run_ids:
                times = f" ({count} instances)" if count > 1 else ""
                lines.append(f"fire of task {task_id!r}{times}")
    return lines
