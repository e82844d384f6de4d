"""Snapshots of tasks, filtered and sorted for operators' tools (``get_task_infos``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from asyncz_like.enums import TaskScheduleState
from asyncz_like.tasks.task import Task, TaskSnapshot

#: Stands for a missing next run time in a sort key, which puts such tasks last.
_NEVER = datetime.min
#: How a snapshot is ordered by each ``sort_by`` value.
_SORT_KEYS: dict[str, Callable[[TaskSnapshot], Any]] = {
    "id": lambda info: info.id,
    "name": lambda info: (info.name or "").lower(),
    "next_run_time": lambda info: (info.next_run_time is None, info.next_run_time or _NEVER),
    "schedule_state": lambda info: info.schedule_state.value if info.schedule_state else "",
    "executor": lambda info: info.executor or "",
    "store": lambda info: info.store or "",
    "trigger": lambda info: info.trigger_alias or info.trigger,
}


def task_infos(
    tasks: Iterable[Task],
    schedule_state: TaskScheduleState | str | None = None,
    executor: str | None = None,
    trigger: str | None = None,
    q: str | None = None,
    sort_by: str = "next_run_time",
    descending: bool = False,
) -> list[TaskSnapshot]:
    """Snapshots of ``tasks`` that match every filter given, sorted.

    ``schedule_state``: a TaskScheduleState or its value; ``trigger``: an alias (``"cron"``)
    or a class name, any case; ``q``: text found (any case) in the id, name, function,
    trigger, executor or state. ValueError names a bad ``sort_by`` or ``schedule_state``.
    """
    if sort_by not in _SORT_KEYS:
        raise ValueError(f"sort_by must be one of {', '.join(_SORT_KEYS)}, got {sort_by!r}")
    state = _state(schedule_state)
    infos = [task.snapshot() for task in tasks]
    if state is not None:
        infos = [info for info in infos if info.schedule_state is state]
    if executor:
        infos = [info for info in infos if info.executor == executor]
    if trigger:
        wanted = trigger.strip().lower()
        infos = [info for info in infos if wanted in _trigger_names(info)]
    if q:
        needle = q.strip().lower()
        infos = [info for info in infos if needle in _searchable(info)]
    key = _SORT_KEYS[sort_by]
    # the id breaks ties, so that the order is the same at every call
    infos.sort(key=lambda info: info.id)
    infos.sort(key=key, reverse=descending)
    return infos


def _state(value: TaskScheduleState | str | None) -> TaskScheduleState | None:
    if value is None or isinstance(value, TaskScheduleState):
        return value
    try:
        return TaskScheduleState(str(value).strip().lower())
    except ValueError:
        known = ", ".join(state.value for state in TaskScheduleState)
        raise ValueError(f"schedule_state must be one of {known}, got {value!r}") from None


def _trigger_names(info: TaskSnapshot) -> tuple[str, str]:
    return ((info.trigger_alias or "").lower(), (info.trigger_name or "").lower())


def _searchable(info: TaskSnapshot) -> str:
    state = info.schedule_state.value if info.schedule_state else ""
    parts = (
        info.id,
        info.name,
        info.callable_name,
        info.callable_reference,
        info.trigger,
        info.trigger_alias,
        info.executor,
        state,
    )
    return " ".join(part for part in parts if part).lower()
