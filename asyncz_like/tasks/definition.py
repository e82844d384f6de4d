"""A task's definition (what it calls, with what, when and how), compared with a stored one."""

from __future__ import annotations

from typing import Any, Protocol

from asyncz_like.triggers import IntervalTrigger
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import obj_to_ref


class Definition(Protocol):
    """What is compared of a task (a ``Task`` has it; a Protocol, so that this module does
    not import the one that uses it)."""

    @property
    def fn(self) -> Any: ...
    @property
    def fn_reference(self) -> str | None: ...
    @property
    def args(self) -> Any: ...
    @property
    def kwargs(self) -> Any: ...
    @property
    def trigger(self) -> BaseTrigger | None: ...
    @property
    def unanchored_trigger(self) -> BaseTrigger | None: ...


#: The attributes compared as they are.
_PLAIN = ("name", "executor", "coalesce", "mistrigger_grace_time", "max_instances")


def definition_changes(task: Definition, stored: Definition) -> frozenset[str]:
    """The names of what ``task`` defines differently from ``stored`` (``"fn"``,
    ``"trigger"``, ``"args"``, ...). The next run time is not part of a definition, nor is
    the anchor an interval without ``start_at`` got when it was first added."""
    changed = {name for name in _PLAIN if getattr(task, name) != getattr(stored, name)}
    if _function_of(task) != _function_of(stored):
        changed.add("fn")
    if tuple(task.args) != tuple(stored.args):
        changed.add("args")
    if task.kwargs != stored.kwargs:
        changed.add("kwargs")
    if _trigger_differs(task.unanchored_trigger, stored.trigger):
        changed.add("trigger")
    return frozenset(changed)


def _function_of(task: Definition) -> Any:
    """What a task calls, comparable across processes: its reference when it has one."""
    if task.fn_reference is not None:
        return task.fn_reference
    try:
        return obj_to_ref(task.fn)
    except (TypeError, ValueError):
        return task.fn


def _trigger_differs(mine: BaseTrigger | None, stored: BaseTrigger | None) -> bool:
    """Whether two triggers define other fires. An interval is compared with its start
    taken from the stored one: a new task's anchor is the moment it was added."""
    if mine is None or stored is None:
        return mine is not stored
    if type(mine) is not type(stored):
        return True
    if (
        isinstance(mine, IntervalTrigger)
        and isinstance(stored, IntervalTrigger)
        and mine.start_at is None
        and stored.start_at is not None
    ):
        mine = mine.anchored(stored.start_at)
    if mine == stored:
        return False
    try:  # a trigger without value equality (a user's own): its stored form
        return bool(mine.__getstate__() != stored.__getstate__())
    except Exception:
        return True
