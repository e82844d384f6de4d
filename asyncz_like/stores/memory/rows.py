"""A task as a row: a plain tuple the garbage collector stops tracking.

A Task object is tracked by CPython's cycle collector for as long as it lives, and every full
collection visits each one: with 100k stored tasks a pass costs about 27 ms more (see
docs/performance.md). A tuple of atomic values (strings, numbers, datetimes, None, and tuples
of those) is untracked by the first young collection that sees it, so rows cost the collector
nothing. What a row cannot hold as a plain value, the callable and the trigger, it holds as a
small int into :class:`SharedObjects`, which many rows share. A date trigger, one per one-off
task when each has its own time, is a value: the row keeps its ``(run_at, timezone)``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from asyncz_like.tasks.task import Task
from asyncz_like.triggers.date import DateTrigger

#: (id, next_run_time, fn index, trigger index or date, anchor, args, kwargs items, name,
#: fn_reference, executor, store_alias, coalesce, mistrigger_grace_time, max_instances)
Row = tuple[Any, ...]

#: Where a row keeps its id, its next run time (the only field a fire changes), the index of
#: its callable in :class:`SharedObjects`, and that of its trigger (or a date trigger's value).
ID, NEXT_RUN_TIME, FN, TRIGGER = 0, 1, 2, 3


class SharedObjects:
    """The objects rows refer to by index (callables, triggers), each kept once while any
    row uses it: many tasks share one callable and one trigger."""

    __slots__ = ("_free", "counts", "index", "objects")

    def __init__(self) -> None:
        #: By index; None in a free place.
        self.objects: list[Any] = []
        #: How many rows use each; 0 in a free place.
        self.counts: list[int] = []
        #: id(object) -> index (the object is kept, so its id stays its own).
        self.index: dict[int, int] = {}
        self._free: list[int] = []

    def add(self, obj: object) -> int | None:
        """The index of ``obj``, not in the table yet, now used by one row (None for None).
        An object in the table already is counted by the caller: see :func:`to_row`."""
        if obj is None:
            return None
        if self._free:
            index = self._free.pop()
            self.objects[index], self.counts[index] = obj, 1
        else:
            index = len(self.objects)
            self.objects.append(obj)
            self.counts.append(1)
        self.index[id(obj)] = index
        return index

    def free(self, index: int) -> None:
        """Let go of the object at ``index``, which no row uses any more."""
        del self.index[id(self.objects[index])]
        self.objects[index] = None
        self._free.append(index)

    def clear(self) -> None:
        self.objects.clear()
        self.counts.clear()
        self.index.clear()
        self._free.clear()

    def __len__(self) -> int:
        return len(self.index)


def to_row(task: Task, shared: SharedObjects) -> Row:
    """The row of ``task``; it holds the task's callable in ``shared``, and its trigger
    there too unless it is a date trigger (whose value the row holds)."""
    # Unrolled for the callable and the trigger (add_task's hot path), as a rule in the table
    index, counts, fn, trigger = shared.index, shared.counts, task.fn, task._trigger
    fn_index = index.get(id(fn))
    if fn_index is None:
        fn_index = shared.add(fn)
    else:
        counts[fn_index] += 1
    trigger_field: int | tuple[datetime | None, tzinfo | None] | None
    if trigger.__class__ is DateTrigger:
        trigger_field = (trigger.run_at, trigger.timezone)
    else:
        trigger_field = index.get(id(trigger))
        if trigger_field is None:
            trigger_field = shared.add(trigger)
        else:
            counts[trigger_field] += 1
    kwargs = task._kwargs
    return (
        task.id, task.next_run_time, fn_index, trigger_field, task._anchor, task.args,
        tuple(kwargs.items()) if kwargs else None, task.name, task.fn_reference, task.executor,
        task.store_alias, task.coalesce, task.mistrigger_grace_time, task.max_instances,
    )  # fmt: skip


def drop_row(row: Row, shared: SharedObjects) -> None:
    """Let go of what ``row`` holds in ``shared`` (the row is deleted or replaced)."""
    counts, fn, trigger = shared.counts, row[FN], row[TRIGGER]  # unrolled: once per last fire
    if fn is not None:
        counts[fn] -= 1
        if not counts[fn]:
            shared.free(fn)
    if trigger.__class__ is int:  # not None, nor a date trigger's value
        counts[trigger] -= 1
        if not counts[trigger]:
            shared.free(trigger)


def from_row(row: Row, objects: list[Any], scheduler: Any) -> Task:
    """A new Task object with the values of ``row`` (``objects``: ``SharedObjects.objects``)."""
    task = Task.__new__(Task)
    (
        task.id, task.next_run_time, fn, trigger, task._anchor, task.args, kwargs, task.name,
        task.fn_reference, task.executor, task.store_alias, task.coalesce,
        task.mistrigger_grace_time, task.max_instances,
    ) = row  # fmt: skip
    task.fn = None if fn is None else objects[fn]
    if trigger.__class__ is int:
        task._trigger = objects[trigger]
    else:
        task._trigger = None if trigger is None else _date_trigger(trigger)
    task._kwargs = None if kwargs is None else dict(kwargs)
    task._scheduler = scheduler
    return task


#: The last date trigger :func:`_date_trigger` built, with its values: given again for the
#: same ones (the tasks of a burst, added with one run time, share that datetime object).
_last_date: tuple[Any, Any, DateTrigger | None] = (None, None, None)


def _date_trigger(value: tuple[datetime | None, tzinfo | None]) -> DateTrigger:
    """The DateTrigger of a row's ``(run_at, timezone)``, built without DateTrigger's checks:
    those passed when the task was added."""
    global _last_date
    run_at, timezone = value
    last_run_at, last_timezone, trigger = _last_date
    if trigger is None or last_run_at is not run_at or last_timezone is not timezone:
        trigger = DateTrigger.__new__(DateTrigger)
        trigger.run_at, trigger.timezone = run_at, timezone
        _last_date = (run_at, timezone, trigger)
    return trigger


def with_next_run_time(row: Row, next_run_time: Any) -> Row:
    # Concatenation: once per fire, and the fastest form (timeit)
    return (row[ID], next_run_time) + row[NEXT_RUN_TIME + 1 :]  # noqa: RUF005
