"""A task's stored form: one typed record that every store keeps a task by.

``Task.record()`` gives it and ``Task.from_record(record, scheduler)`` builds a task from it;
a store reads nothing else of a task but its public attributes. The memory store keeps the
record's values in a row (see :mod:`asyncz_like.stores.memory.rows`); the persistent stores
keep its ``state`` (:func:`record_state`, a dict of plain data) through a serializer, which is
also what ``Task.__getstate__`` and ``__setstate__`` give and take. A field added to a task
is added here, in ``Task.record`` and in ``Task._restore``: no store changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from asyncz_like.triggers import with_anchor
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import ref_to_obj

__all__ = [
    "STATE_VERSION",
    "TaskRecord",
    "TaskValues",
    "record_from_state",
    "record_state",
]

#: The version of the state :func:`record_state` writes.
STATE_VERSION = 1


#: A task's values, all plain data, in this order (read them by the constants below): id,
#: next_run_time, anchor (the start the scheduler gave an interval trigger without
#: ``start_at``, kept apart so that many tasks can share one trigger), args, kwarg_items (the
#: keyword arguments as ``(name, value)`` pairs, None for none: no dict per task), name,
#: fn_reference, executor, store_alias, coalesce, mistrigger_grace_time, max_instances.
TaskValues = tuple[
    str,  # id
    datetime | None,  # next_run_time
    datetime | None,  # anchor
    tuple[Any, ...],  # args
    tuple[tuple[str, Any], ...] | None,  # kwarg_items
    str | None,  # name
    str | None,  # fn_reference
    str | None,  # executor
    str | None,  # store_alias
    bool | None,  # coalesce
    float | None,  # mistrigger_grace_time
    int | None,  # max_instances
]

#: Where :data:`TaskValues` keeps each field.
ID: Final = 0
NEXT_RUN_TIME: Final = 1
ANCHOR: Final = 2
ARGS: Final = 3
KWARG_ITEMS: Final = 4
NAME: Final = 5
FN_REFERENCE: Final = 6
EXECUTOR: Final = 7
STORE_ALIAS: Final = 8
COALESCE: Final = 9
MISTRIGGER_GRACE_TIME: Final = 10
MAX_INSTANCES: Final = 11

#: A task's stored form: ``(values, fn, trigger)``, its plain values beside the two objects
#: each store keeps its own way (the memory store holds each once for many tasks; the others
#: write the function's reference and the trigger's state). ``trigger`` is the trigger as
#: given (see ``anchor``). Plain tuples, not NamedTuples: an instance of a tuple subclass
#: costs about 2,000 CPU instructions more to make and free (callgrind), once per add and per
#: fire, and the garbage collector tracks it for as long as it lives; a tuple of plain data
#: it stops tracking, which the memory store's rows rely on.
TaskRecord = tuple[TaskValues, Callable[..., Any] | None, BaseTrigger | None]


def record_state(record: TaskRecord) -> dict[str, Any]:
    """The plain-data state of ``record`` that a serializer writes: the trigger anchored, the
    keyword arguments as a dict, and ``fn`` None when the reference can rebuild it."""
    values, fn, trigger = record
    fn_reference, anchor = values[FN_REFERENCE], values[ANCHOR]
    return {
        "args": values[ARGS],
        "coalesce": values[COALESCE],
        "executor": values[EXECUTOR],
        "fn": None if fn_reference is not None else fn,
        "fn_reference": fn_reference,
        "id": values[ID],
        "max_instances": values[MAX_INSTANCES],
        "mistrigger_grace_time": values[MISTRIGGER_GRACE_TIME],
        "name": values[NAME],
        "next_run_time": values[NEXT_RUN_TIME],
        "store_alias": values[STORE_ALIAS],
        "trigger": trigger if anchor is None or trigger is None else with_anchor(trigger, anchor),
        "kwargs": dict(values[KWARG_ITEMS] or ()),
        "version": STATE_VERSION,
    }


def record_from_state(state: dict[str, Any]) -> TaskRecord:
    """The record of a state :func:`record_state` (or asyncz's ``TaskState``) gave: the
    function imported from its reference when the state holds none. Raises ValueError for a
    state of a newer version, LookupError for a reference that does not import."""
    version = state.get("version", 1)
    if version > STATE_VERSION:
        raise ValueError(f"Task state version {version} is newer than this library knows")
    value: Callable[[str], Any] = state.get
    fn, fn_reference = value("fn"), value("fn_reference")
    if isinstance(fn, str):  # asyncz's TaskState holds the reference as fn
        fn_reference, fn = fn_reference or fn, None
    if fn is None and fn_reference is not None:
        fn = ref_to_obj(fn_reference)
    kwargs = value("kwargs")
    values: TaskValues = (
        value("id"),
        value("next_run_time"),
        None,
        value("args"),
        tuple(kwargs.items()) if kwargs else None,
        value("name"),
        fn_reference,
        value("executor"),
        value("store_alias"),
        value("coalesce"),
        value("mistrigger_grace_time"),
        value("max_instances"),
    )
    return values, fn, value("trigger")
