"""Tasks added before the scheduler starts, kept until :meth:`start` stores them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from asyncz_like.exceptions import ConflictIdError
from asyncz_like.schedulers.conflicts import ConflictPolicy
from asyncz_like.tasks.task import Task


@dataclass(slots=True)
class PendingTask:
    """A task waiting for start, with what its add_task call asked for."""

    task: Task
    on_conflict: ConflictPolicy
    #: False when the caller gave the task its own next run time.
    compute_next: bool


class PendingTasks:
    """The tasks added before start, in the order they were added.

    Keyed by ``(task id, store alias)``, so that an add, a lookup and a removal cost O(1):
    apps define their tasks before start, thousands of them at times.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str | None], PendingTask] = {}
        self._aliases: set[str | None] = set()

    def add(self, entry: PendingTask) -> bool:
        """Keep ``entry``; a pending task with its id is handled by ``entry.on_conflict``.

        Returns False when the one already pending was kept instead (``"keep"``); raises
        ConflictIdError with ``"fail"``, as add_task would on a running scheduler.
        """
        task = entry.task
        key = (task.id, task.store_alias)
        if key in self._entries:
            if entry.on_conflict == "fail":
                raise ConflictIdError(task.id)
            if entry.on_conflict == "keep":
                return False
            del self._entries[key]  # the newer definition goes last, as if added now
        self._entries[key] = entry
        self._aliases.add(task.store_alias)
        return True

    def check_new(self, tasks: list[Task]) -> None:
        """ConflictIdError for the first of ``tasks`` whose id is pending already."""
        for task in tasks:
            if (task.id, task.store_alias) in self._entries:
                raise ConflictIdError(task.id)

    def find(self, task_id: str, store: str | None) -> Task | None:
        """The pending task with this id (in ``store`` when given), or None."""
        for alias in self._aliases if store is None else (store,):
            entry = self._entries.get((task_id, alias))
            if entry is not None:
                return entry.task
        return None

    def tasks(self, store: str | None = None) -> list[Task]:
        """The pending tasks (of ``store`` when given), in the order they were added."""
        return [
            entry.task
            for entry in self._entries.values()
            if store is None or entry.task.store_alias == store
        ]

    def discard(self, task: Task) -> None:
        """Forget this task object (nothing when it is not pending)."""
        key = (task.id, task.store_alias)
        entry = self._entries.get(key)
        if entry is not None and entry.task is task:
            del self._entries[key]

    def clear(self, store: str | None = None) -> None:
        """Forget every pending task (of ``store`` when given)."""
        if store is None:
            self._entries.clear()
            return
        self._entries = {
            key: entry for key, entry in self._entries.items() if entry.task.store_alias != store
        }

    def take_all(self) -> list[PendingTask]:
        """Every entry, in the order added; none is pending afterwards."""
        entries = list(self._entries.values())
        self._entries.clear()
        self._aliases.clear()
        return entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[PendingTask]:
        return iter(list(self._entries.values()))
