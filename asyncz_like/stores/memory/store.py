"""The memory store: rows by id beside a heap on next run time (O(log n) per change)."""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import Any, cast

from asyncz_like.exceptions import ConflictIdError, TaskLookupError
from asyncz_like.stores.base import BaseStore
from asyncz_like.stores.memory.held import HeldTasks
from asyncz_like.stores.memory.rows import (
    Row,
    SharedObjects,
    drop_row,
    from_row,
    to_row,
    with_next_run_time,
)
from asyncz_like.tasks.record import ID, NEXT_RUN_TIME
from asyncz_like.tasks.task import Task

#: (next run timestamp, tie-breaker, task id, next run time). Many tasks share a run time
#: (a burst): the tie-breaker, a small int (cached, so no allocation: the heap's length at the
#: push, modulo 256), settles most of their comparisons before the ids are compared.
_Entry = tuple[float, int, str, datetime]


class MemoryStore(BaseStore):
    """Keeps tasks in this process. Fast, and lost when the process ends.

    Each task is a row (see :mod:`asyncz_like.stores.memory.rows`), which the garbage
    collector does not visit. The object given to ``add_task`` or ``update_task`` is the one
    handed out (to reads and to fires) and kept up to date while anything else holds it
    (:class:`~asyncz_like.stores.memory.held.HeldTasks`); otherwise a read gets a new object
    built from the row.

    The heap uses lazy deletion: an entry is live while its task is stored, not claimed, and
    has that next run time (as a rule the very object: a cheaper check than a timestamp);
    any other entry is stale and skipped when it reaches the top. A claimed task (taken by
    ``acquire_due_tasks``, not yet updated or deleted) is in ``_claimed``, which also keeps a
    duplicate of its entry from firing it twice. The heap is rebuilt when it holds many more
    entries than tasks. Per task this costs one heap entry, not also a map of live entries.
    """

    validates_on_add = True  # it keeps any task: there is nothing to check

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._rows: dict[str, Row] = {}
        self._shared = SharedObjects()
        self._held = HeldTasks()
        self._heap: list[_Entry] = []
        self._claimed: set[str] = set()

    def lookup_task(self, task_id: str) -> Task | None:
        row = self._rows.get(task_id)
        return None if row is None else self._handed_out(row)

    def add_task(self, task: Task) -> None:
        task_id = task.id
        if task_id in self._rows:
            raise ConflictIdError(task_id)
        self._rows[task_id] = to_row(task, self._shared)
        self._held.keep(task)
        if task.next_run_time is not None:
            self._push(task_id, task.next_run_time)

    def update_task(self, task: Task) -> None:
        task_id = task.id
        previous = self._rows.get(task_id)
        if previous is None:
            raise TaskLookupError(task_id)
        self._rows[task_id] = to_row(task, self._shared)
        drop_row(previous, self._shared)  # after: what both rows hold stays held
        self._held.keep(task)
        next_run_time = task.next_run_time
        if task_id in self._claimed:
            self._claimed.discard(task_id)
        elif next_run_time is not None and next_run_time == previous[NEXT_RUN_TIME]:
            return  # its live entry is in the heap already
        if next_run_time is not None:
            self._push(task_id, next_run_time)

    def release_task(self, task: Task, next_run_time: datetime | None) -> None:
        """Give back a claimed task. A change made meanwhile (``update_task``, which ends the
        claim) that moved its run time wins: a pause or a reschedule stays."""
        task_id = task.id
        row = self._rows.get(task_id)
        if row is None:
            raise TaskLookupError(task_id)
        if task_id not in self._claimed and row[NEXT_RUN_TIME] != task.next_run_time:
            return
        if next_run_time is None:
            self.delete_task(task_id)
            return
        self._claimed.discard(task_id)
        self._rows[task_id] = with_next_run_time(row, next_run_time)
        task.next_run_time = next_run_time
        if self._held and (held := self._held.held(task_id)) is not None:
            held.next_run_time = next_run_time  # an object given while the fire was claimed
        self._push(task_id, next_run_time)

    def delete_task(self, task_id: str) -> None:
        row = self._rows.pop(task_id, None)
        if row is None:
            raise TaskLookupError(task_id)
        drop_row(row, self._shared)
        self._held.pop(task_id, None)
        self._claimed.discard(task_id)
        if len(self._heap) > 2 * len(self._rows) + 64:
            self._compact()

    def remove_all_tasks(self) -> None:
        self._rows.clear()
        self._shared.clear()
        self._held.clear()
        self._heap.clear()
        self._claimed.clear()

    def get_all_tasks(self) -> list[Task]:
        rows = self._rows.values()
        scheduled = [row for row in rows if row[NEXT_RUN_TIME] is not None]
        scheduled.sort(key=_run_time_key)
        paused = [row for row in rows if row[NEXT_RUN_TIME] is None]
        return [self._handed_out(row) for row in scheduled + paused]

    def get_paused_tasks(self) -> list[Task]:
        rows = self._rows.values()
        return [self._handed_out(row) for row in rows if row[NEXT_RUN_TIME] is None]

    def get_due_tasks(self, now: datetime) -> list[Task]:
        entries = self._pop_due(now.timestamp(), len(self._rows))
        for entry in entries:  # put them back: this call changes nothing
            heapq.heappush(self._heap, entry)
            self._claimed.discard(entry[2])
        return [self._handed_out(self._rows[entry[2]]) for entry in entries]

    def acquire_due_tasks(self, now: datetime, limit: int) -> list[Task]:
        rows, objects = self._rows, self._shared.objects
        due = self._pop_due(now.timestamp(), limit)
        if not self._held:  # the common case in a burst: no object given is held any more
            return [from_row(rows[entry[2]], objects) for entry in due]
        held = self._held.held  # a fire's object is built, not kept: nobody else holds it
        return [held(entry[2]) or from_row(rows[entry[2]], objects) for entry in due]

    def get_next_run_time(self) -> datetime | None:
        heap = self._heap
        while heap:
            if self._is_live(heap[0]):
                return heap[0][3]
            heapq.heappop(heap)
        return None

    def _handed_out(self, row: Row) -> Task:
        """The task of ``row``: the object given for it when something still holds that, else
        a new one built from the row (a copy, as the persistent stores hand out)."""
        return self._held.held(row[ID]) or from_row(row, self._shared.objects)

    def _is_live(self, entry: _Entry) -> bool:
        """Its task is stored, not claimed, and has this run time (the same object, as a
        rule; else the same instant)."""
        timestamp, _, task_id, run_time = entry
        row = self._rows.get(task_id)
        if row is None or task_id in self._claimed:
            return False
        next_run_time = row[NEXT_RUN_TIME]
        return next_run_time is run_time or (
            next_run_time is not None and next_run_time.timestamp() == timestamp
        )

    def _pop_due(self, now_timestamp: float, limit: int) -> list[_Entry]:
        """Remove, claim and return up to ``limit`` live entries due at ``now_timestamp``."""
        heap, rows, claimed = self._heap, self._rows, self._claimed
        due: list[_Entry] = []
        while heap and len(due) < limit and heap[0][0] <= now_timestamp:
            entry = heapq.heappop(heap)
            # _is_live(entry), inline: once per fire
            task_id, row = entry[2], rows.get(entry[2])
            if row is None or task_id in claimed:
                continue
            next_run_time = row[NEXT_RUN_TIME]
            if next_run_time is entry[3] or (
                next_run_time is not None and next_run_time.timestamp() == entry[0]
            ):
                claimed.add(task_id)
                due.append(entry)
        return due

    def _push(self, task_id: str, next_run_time: datetime) -> None:
        heap = self._heap
        heapq.heappush(heap, (next_run_time.timestamp(), len(heap) & 255, task_id, next_run_time))
        if len(heap) > 2 * len(self._rows) + 64:
            self._compact()

    def _compact(self) -> None:
        self._heap = list({entry for entry in self._heap if self._is_live(entry)})
        heapq.heapify(self._heap)


def _run_time_key(row: Row) -> datetime:
    """The sort key of a scheduled task's row (one with a run time)."""
    return cast(datetime, row[NEXT_RUN_TIME])
