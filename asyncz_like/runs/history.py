"""Where run records are kept: the contract, and the bounded in-memory history."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from asyncz_like.limits import check_count, check_seconds
from asyncz_like.runs.run import Run
from asyncz_like.runs.status import RunStatus


@runtime_checkable
class RunHistory(Protocol):
    """Keeps run records so that they can be looked up while and after they run.

    The scheduler calls these methods under its run lock, so they must be quick and must not
    block: a history backed by a database or Redis buffers its writes and flushes them from a
    thread of its own. Runs are live objects: ``changed`` says one was updated in place.
    """

    def add(self, run: Run) -> None:
        """Keep a new run (pending, or running for a task's fire)."""

    def changed(self, run: Run) -> None:
        """A kept run changed status or progress, and is not finished."""

    def finished(self, run: Run) -> None:
        """A kept run reached a final status; from now on it may be dropped by the limits."""

    def get(self, run_id: str, now: datetime) -> Run | None:
        """The run with this id, unless it is unknown or expired."""

    def list(
        self,
        statuses: Collection[RunStatus] | None,
        task_id: str | None,
        limit: int | None,
        now: datetime,
    ) -> list[Run]:
        """Runs newest first, filtered by status and task id, at most ``limit``."""

    def cleanup(self, now: datetime) -> int:
        """Drop the finished runs whose results expired; return how many."""

    def __len__(self) -> int: ...


class MemoryRunHistory:
    """Runs in a dict, finished ones also in a queue in the order they finished.

    At most ``max_run_history`` finished runs are kept (the oldest are dropped first; 0 keeps
    none); a finished run is dropped ``run_result_ttl`` seconds after it finished (None:
    never). Runs still pending or running are always kept. Nothing survives a restart of the
    process.
    """

    def __init__(
        self, max_run_history: int = 1000, run_result_ttl: float | timedelta | None = 86400.0
    ) -> None:
        if isinstance(max_run_history, bool) or not isinstance(max_run_history, int):
            raise TypeError(f"max_run_history must be an int, got {max_run_history!r}")
        check_count(max_run_history, "max_run_history", minimum=0)
        self.max_run_history = max_run_history
        self.run_result_ttl = _as_ttl(run_result_ttl)
        self._runs: dict[str, Run] = {}
        self._finished: deque[Run] = deque()

    def add(self, run: Run) -> None:
        self._runs[run.id] = run

    def changed(self, run: Run) -> None:
        pass  # the record is the live object

    def finished(self, run: Run) -> None:
        finished = self._finished
        finished.append(run)
        if len(finished) > self.max_run_history:
            dropped = finished.popleft()
            if self._runs.get(dropped.id) is dropped:
                del self._runs[dropped.id]

    def forget(self, run_id: str) -> None:
        """Drop a run that is not finished (it is kept elsewhere from now on)."""
        self._runs.pop(run_id, None)

    def get(self, run_id: str, now: datetime) -> Run | None:
        run = self._runs.get(run_id)
        if run is None or self.expired(run, now):
            return None
        return run

    def list(
        self,
        statuses: Collection[RunStatus] | None,
        task_id: str | None,
        limit: int | None,
        now: datetime,
    ) -> list[Run]:
        found: list[Run] = []
        for run in reversed(self._runs.values()):
            if limit is not None and len(found) >= limit:
                break
            if statuses is not None and run.status not in statuses:
                continue
            if task_id is not None and run.task_id != task_id:
                continue
            if not self.expired(run, now):
                found.append(run)
        return found

    def cleanup(self, now: datetime) -> int:
        finished, dropped = self._finished, 0
        while finished and self.expired(finished[0], now):
            run = finished.popleft()
            if self._runs.get(run.id) is run:
                del self._runs[run.id]
            dropped += 1
        return dropped

    def expired(self, run: Run, now: datetime) -> bool:
        """Whether ``run`` finished at least ``run_result_ttl`` seconds before ``now``."""
        ttl, ended = self.run_result_ttl, run.finished_at
        return ttl is not None and ended is not None and (now - ended).total_seconds() >= ttl

    def __len__(self) -> int:
        return len(self._runs)


def _as_ttl(value: float | timedelta | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"run_result_ttl must be seconds, a timedelta or None, got {value!r}")
    return float(check_seconds(value, "run_result_ttl"))
