"""A SQL store's records read back: decoded, or remembered as broken and reported once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.serializers import BaseSerializer
from asyncz_like.serializers.decoded import DecodedRecords
from asyncz_like.tasks.task import Task


class SQLRecords:
    """Decodes a store's rows (a copy of the task a record decoded to last time: see
    DecodedRecords) and keeps the ids of the broken ones, which the claims then skip."""

    def __init__(
        self, serializer: BaseSerializer, report: Callable[[str | None, BaseException], None]
    ) -> None:
        self.decoded = DecodedRecords(serializer)
        self._report = report
        self._broken: dict[str, str] = {}
        self._unreported: list[tuple[str, BrokenRecordError]] = []
        self._lock = threading.Lock()

    def decode(self, task_id: str, state: bytes, next_run_time: float | None) -> Task | None:
        """The task, or None for a broken record (remembered, reported later)."""
        try:
            task = self.decoded.decode(bytes(state), next_run_time)
            if task.id != task_id:
                raise BrokenRecordError(task_id, f"its id is {task.id!r}, not {task_id!r}")
        except Exception as error:
            if not isinstance(error, BrokenRecordError):
                error = BrokenRecordError(task_id, f"cannot decode: {error!r}")
            with self._lock:
                if task_id not in self._broken:
                    self._broken[task_id] = error.reason
                    self._unreported.append((task_id, error))
            return None
        if task_id in self._broken:  # rewritten since (by update_task, maybe elsewhere)
            self.forget_broken(task_id)
        return task

    def decode_all(self, rows: Sequence[tuple[str, bytes, float | None]]) -> list[Task | None]:
        tasks = [self.decode(task_id, state, next_time) for task_id, state, next_time in rows]
        self.report_new()
        return tasks

    def report_new(self) -> None:
        """Report each newly broken record once, outside any transaction."""
        with self._lock:
            pending, self._unreported = self._unreported, []
        for task_id, error in pending:
            self._report(task_id, error)

    def broken_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._broken)

    def broken(self) -> dict[str, str]:
        """The broken records by task id, with the reason."""
        with self._lock:
            return dict(self._broken)

    def keep_broken_only(self, present: Iterable[str]) -> None:
        """Forget the broken records not ``present`` (deleted by another scheduler)."""
        present = set(present)
        with self._lock:
            for task_id in [task_id for task_id in self._broken if task_id not in present]:
                del self._broken[task_id]

    def forget_broken(self, task_id: str) -> None:
        with self._lock:
            self._broken.pop(task_id, None)

    def forget(self, task_ids: Iterable[str]) -> None:
        """The records of these tasks are not read again (deleted, or rewritten)."""
        task_ids = list(task_ids)
        for task_id in task_ids:
            self.forget_broken(task_id)
        self.decoded.forget(task_ids)
