"""Decoded records, remembered by their bytes.

A store that keeps a task's next run time beside its record (a column, a score) reads the same
record fire after fire. Decoding it (parsing, checking the signature, importing the function,
rebuilding the trigger) costs far more than copying the task it gave last time, so the last
``capacity`` records decoded are kept, each with its task, and a record read again is a copy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

from asyncz_like.serializers.base import BaseSerializer
from asyncz_like.serializers.tasks import decode_task
from asyncz_like.tasks.task import Task

#: Records remembered per store: a slice of due tasks (``batch_size`` up to 512) many times over.
DEFAULT_CAPACITY = 4096


class DecodedRecords:
    """Decodes task records for one store, remembering the last ``capacity`` decoded.

    Only records that decode are remembered: a broken one raises BrokenRecordError each time,
    as :func:`decode_task` does. The same bytes are the same record whatever store row they
    came from, signature included, so a hit needs no check again.
    """

    def __init__(self, serializer: BaseSerializer, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity!r}")
        self.serializer = serializer
        self.capacity = capacity
        self._tasks: dict[bytes, Task] = {}
        #: The record last decoded for each task id, so that ``forget`` finds it.
        self._records: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def decode(self, record: bytes, next_run_time: float | None) -> Task:
        """The task of ``record``, detached, with ``next_run_time`` (a UTC epoch; None:
        paused) as the store keeps it beside the record."""
        with self._lock:
            template = self._tasks.get(record)
        if template is None:
            template = decode_task(record, self.serializer)
            with self._lock:
                if len(self._tasks) >= self.capacity:  # the oldest first
                    self._drop(next(iter(self._tasks)))
                self._tasks[record] = template
                self._records[template.id] = record
        task = template.clone()
        task.next_run_time = _from_epoch(next_run_time, template)
        return task

    def forget(self, task_ids: Iterable[str]) -> None:
        """Let go of the tasks of ``task_ids`` (deleted, or changed: their record will not
        be read again): a burst of one-off tasks would otherwise stay decoded in memory,
        thousands of objects for every full pass of the garbage collector to walk."""
        with self._lock:
            for task_id in task_ids:
                record = self._records.get(task_id)
                if record is not None:
                    self._drop(record)

    def _drop(self, record: bytes) -> None:
        template = self._tasks.pop(record)
        if self._records.get(template.id) == record:
            del self._records[template.id]

    def clear(self) -> None:
        with self._lock:
            self._tasks.clear()
            self._records.clear()

    def __len__(self) -> int:
        return len(self._tasks)


def _from_epoch(moment: float | None, task: Task) -> datetime | None:
    """The run time in the zone of the task's trigger (as the scheduler computes it)."""
    if moment is None:
        return None
    zone = getattr(task.trigger, "timezone", None)
    return datetime.fromtimestamp(moment, zone if isinstance(zone, tzinfo) else UTC)
