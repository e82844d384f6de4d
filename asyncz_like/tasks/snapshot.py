"""A read-only view of a task at one moment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from asyncz_like.enums import TaskScheduleState
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import get_callable_name, obj_to_ref


@dataclass(frozen=True, slots=True)
class TaskSnapshot:
    """A read-only view of a task at one moment."""

    id: str
    name: str | None
    fn_reference: str | None
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    trigger: str
    executor: str | None
    store: str | None
    coalesce: bool | None
    mistrigger_grace_time: float | None
    max_instances: int | None
    next_run_time: datetime | None
    paused: bool
    #: The readable name of the function (None when only its reference is known).
    callable_name: str | None = None
    trigger_alias: str | None = None
    #: The trigger's class name.
    trigger_name: str | None = None
    schedule_state: TaskScheduleState | None = None
    #: ``fn_reference``, or the reference the function would be stored by (None: it has none).
    callable_reference: str | None = None

    @property
    def trigger_description(self) -> str:
        """asyncz's name of ``trigger`` (its text)."""
        return self.trigger

    @property
    def store_alias(self) -> str | None:
        """asyncz's name of ``store``."""
        return self.store


class Viewed(Protocol):
    """What a snapshot reads of a task (a Protocol: ``task.py`` imports this module)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def fn(self) -> Any: ...
    @property
    def fn_reference(self) -> str | None: ...
    @property
    def args(self) -> tuple[Any, ...]: ...
    @property
    def trigger(self) -> BaseTrigger | None: ...
    @property
    def executor(self) -> str | None: ...
    @property
    def store_alias(self) -> str | None: ...
    @property
    def coalesce(self) -> bool | None: ...
    @property
    def mistrigger_grace_time(self) -> float | None: ...
    @property
    def max_instances(self) -> int | None: ...
    @property
    def next_run_time(self) -> datetime | None: ...
    @property
    def paused(self) -> bool: ...
    @property
    def schedule_state(self) -> TaskScheduleState: ...
    def call_kwargs(self) -> Mapping[str, Any]: ...


def snapshot_of(task: Viewed) -> TaskSnapshot:
    """The snapshot of ``task`` now."""
    trigger, fn = task.trigger, task.fn
    return TaskSnapshot(
        id=task.id,
        name=task.name,
        fn_reference=task.fn_reference,
        args=task.args,
        kwargs=dict(task.call_kwargs()),
        trigger=str(trigger),
        executor=task.executor,
        store=task.store_alias,
        coalesce=task.coalesce,
        mistrigger_grace_time=task.mistrigger_grace_time,
        max_instances=task.max_instances,
        next_run_time=task.next_run_time,
        paused=task.paused,
        callable_name=None if fn is None else get_callable_name(fn),
        trigger_alias=getattr(trigger, "alias", None),
        trigger_name=None if trigger is None else type(trigger).__name__,
        schedule_state=task.schedule_state,
        callable_reference=task.fn_reference or _reference_of(fn),
    )


def _reference_of(fn: Any) -> str | None:
    """The ``module:qualname`` reference of ``fn``, or None when it has none."""
    if fn is None:
        return None
    try:
        return obj_to_ref(fn)
    except (TypeError, ValueError):
        return None
