"""The memory store: a dict by id beside a heap on next run time (O(log n) per change)."""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asyncz_like.exceptions import ConflictIdError, TaskLookupError
from asyncz_like.stores.base import BaseStore

if TYPE_CHECKING:
    from asyncz_like.tasks.task import Task

_Entry = tuple[float, str]  # (next run timestamp, task id)


class MemoryStore(BaseStore):
    """Keeps tasks in this process. Fast, and lost when the process ends.

    The heap uses lazy deletion: ``_current`` maps each scheduled task to the timestamp of its
    live entry; an entry that does not match is stale and skipped when it reaches the top (a
    popped entry leaves ``_current``, so a duplicate of it is stale too), and the heap is
    rebuilt when stale entries outnumber live ones.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._tasks: dict[str, Task] = {}
        self._heap: list[_Entry] = []
        self._current: dict[str, float] = {}

    def lookup_task(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def add_task(self, task: Task) -> None:
        if task.id in self._tasks:
            raise ConflictIdError(task.id)
        self._tasks[task.id] = task
        self._schedule(task)

    def update_task(self, task: Task) -> None:
        if task.id not in self._tasks:
            raise TaskLookupError(task.id)
        self._tasks[task.id] = task
        self._schedule(task)

    def delete_task(self, task_id: str) -> None:
        if self._tasks.pop(task_id, None) is None:
            raise TaskLookupError(task_id)
        self._current.pop(task_id, None)
        self._compact_if_sparse()

    def remove_all_tasks(self) -> None:
        self._tasks.clear()
        self._heap.clear()
        self._current.clear()

    def get_all_tasks(self) -> list[Task]:
        scheduled = [task for task in self._tasks.values() if task.next_run_time is not None]
        scheduled.sort(key=_run_time_key)
        paused = [task for task in self._tasks.values() if task.next_run_time is None]
        return scheduled + paused

    def get_due_tasks(self, now: datetime) -> list[Task]:
        entries = self._pop_due(now.timestamp(), len(self._tasks))
        for entry in entries:  # put them back: this call changes nothing
            heapq.heappush(self._heap, entry)
            self._current[entry[1]] = entry[0]
        return [self._tasks[entry[1]] for entry in entries]

    def acquire_due_tasks(self, now: datetime, limit: int) -> list[Task]:
        return [self._tasks[entry[1]] for entry in self._pop_due(now.timestamp(), limit)]

    def get_next_run_time(self) -> datetime | None:
        heap = self._heap
        while heap:
            timestamp, task_id = heap[0]
            if self._current.get(task_id) == timestamp:
                return self._tasks[task_id].next_run_time
            heapq.heappop(heap)
        return None

    def _schedule(self, task: Task) -> None:
        if task.next_run_time is None:
            self._current.pop(task.id, None)
            return
        timestamp = task.next_run_time.timestamp()
        if self._current.get(task.id) == timestamp:
            return  # its live entry is in the heap already
        self._current[task.id] = timestamp
        heapq.heappush(self._heap, (timestamp, task.id))
        self._compact_if_sparse()

    def _pop_due(self, now_timestamp: float, limit: int) -> list[_Entry]:
        """Remove and return up to ``limit`` live entries due at ``now_timestamp``."""
        heap, current = self._heap, self._current
        due: list[_Entry] = []
        while heap and len(due) < limit and heap[0][0] <= now_timestamp:
            entry = heapq.heappop(heap)
            if current.get(entry[1]) == entry[0]:
                del current[entry[1]]
                due.append(entry)
        return due

    def _compact_if_sparse(self) -> None:
        if len(self._heap) > 2 * len(self._current) + 64:
            live = self._current
            self._heap = list({entry for entry in self._heap if live.get(entry[1]) == entry[0]})
            heapq.heapify(self._heap)


def _run_time_key(task: Task) -> datetime:
    assert task.next_run_time is not None
    return task.next_run_time
