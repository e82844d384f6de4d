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
from typing import Any, Final

from asyncz_like.tasks.record import ID, MAX_INSTANCES, TaskRecord
from asyncz_like.tasks.task import Task
from asyncz_like.triggers.date import DateTrigger

#: A task's :data:`~asyncz_like.tasks.record.TaskRecord` as one flat tuple: the record's
#: values at their own indices (``ID``, ``NEXT_RUN_TIME``...), then the callable and the
#: trigger as their index in :class:`SharedObjects` (a date trigger as its ``(run_at,
#: timezone)``). One tuple, not the record's nested two: 48 bytes less per stored task.
Row = tuple[Any, ...]

#: Where a row keeps its callable's index and its trigger's, after the record's values.
FN: Final = MAX_INSTANCES + 1
TRIGGER: Final = FN + 1


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
    values, fn, trigger = task.record()
    # Unrolled for the callable and the trigger (add_task's hot path), as a rule in the table
    index, counts = shared.index, shared.counts
    fn_index = index.get(id(fn))
    if fn_index is None:
        fn_index = shared.add(fn)
    else:
        counts[fn_index] += 1
    # Concatenated: a tuple unpacked into a new one is 2.4 times slower (timeit, CPython 3.11)
    if trigger.__class__ is DateTrigger:
        return values + (fn_index, (trigger.run_at, trigger.timezone))  # noqa: RUF005
    trigger_index = index.get(id(trigger))
    if trigger_index is None:
        trigger_index = shared.add(trigger)
    else:
        counts[trigger_index] += 1
    return values + (fn_index, trigger_index)  # noqa: RUF005


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


def from_row(row: Row, objects: list[Any]) -> Task:
    """A new Task object with the values of ``row`` (``objects``: ``SharedObjects.objects``),
    detached, as the persistent stores hand out theirs (the scheduler attaches a task it
    hands on)."""
    fn, trigger = row[FN], row[TRIGGER]
    if trigger.__class__ is int:
        trigger = objects[trigger]
    elif trigger is not None:  # a date trigger's values: as a rule the last ones read (a burst)
        run_at, timezone, last = _last_date
        if last is None or trigger[0] is not run_at or trigger[1] is not timezone:
            last = _date_trigger(trigger)
        trigger = last
    values: Any = row[:FN]  # the record's values (TaskValues)
    record: TaskRecord = (values, None if fn is None else objects[fn], trigger)
    return _from_record(record)


#: ``Task.from_record``, bound once (a classmethod makes a bound method at each lookup).
_from_record = Task.from_record

#: The last date trigger :func:`_date_trigger` built, with its values: :func:`from_row` gives
#: it again for the same ones (the tasks of a burst, added with one run time, share that
#: datetime object).
_last_date: tuple[Any, Any, DateTrigger | None] = (None, None, None)


def _date_trigger(value: tuple[datetime | None, tzinfo | None]) -> DateTrigger:
    """A DateTrigger of a row's ``(run_at, timezone)``, built without DateTrigger's checks
    (those passed when the task was added), and kept as the last one."""
    global _last_date
    run_at, timezone = value
    trigger = DateTrigger.__new__(DateTrigger)
    trigger.run_at, trigger.timezone = run_at, timezone
    _last_date = (run_at, timezone, trigger)
    return trigger


def with_next_run_time(row: Row, next_run_time: datetime) -> Row:
    """``row`` with another next run time (once per fire)."""
    head = (row[ID], next_run_time)
    return head + row[2:]  # (2: past the run time) fastest (timeit)
