"""The Task: a callable, its arguments, its trigger and how it may run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from asyncz_like.exceptions import TaskConfigurationError
from asyncz_like.limits import MAX_COUNT, MAX_SECONDS
from asyncz_like.tasks.actions import TaskActions
from asyncz_like.tasks.record import TaskRecord, TaskValues, record_from_state, record_state
from asyncz_like.tasks.schedule import MAX_RUN_TIMES, TaskSchedule
from asyncz_like.tasks.snapshot import TaskSnapshot, snapshot_of
from asyncz_like.tasks.validation import (
    check_call,
    check_coalesce,
    check_executor,
    check_grace,
    check_id,
    check_max_instances,
    check_name,
    check_next_run_time,
    check_store,
    check_trigger,
    new_task_id,
    validate_changes,
)
from asyncz_like.triggers import with_anchor
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import get_callable_name

if TYPE_CHECKING:
    from asyncz_like.tasks.base import TaskScheduler

__all__ = ["MAX_RUN_TIMES", "QUEUE_PREFIX", "Task", "TaskRecord", "TaskSnapshot", "call_kwargs"]

#: The executor alias ``"queue:<name>"`` of a task whose fires go to a broker queue.
QUEUE_PREFIX = "queue:"


#: The slots that hold a task's values as they are read and written.
_PLAIN_SLOTS = (
    "args",
    "coalesce",
    "executor",
    "fn",
    "fn_reference",
    "id",
    "max_instances",
    "mistrigger_grace_time",
    "name",
    "next_run_time",
    "store_alias",
)
#: The slots of the task's own workings.
_PRIVATE_SLOTS = ("_anchor", "_given", "_kwargs", "_pending", "_scheduler", "_trigger")


class Task(TaskActions, TaskSchedule):
    """A scheduled callable. Given ``scheduler=``, it is added to that scheduler at once and
    holds it: ``update``, ``pause`` and the other actions go through it.

    Attributes not given (None) take the scheduler's ``task_defaults`` when the task is added.
    """

    # __weakref__: for the memory store's HeldTasks
    __slots__ = ("__weakref__", *_PRIVATE_SLOTS, *_PLAIN_SLOTS)

    #: True for the internal tasks that carry one run of submitted background work.
    is_background_run: ClassVar[bool] = False

    _given: TaskScheduler | None

    def __init__(
        self,
        fn: Callable[..., Any] | str | None = None,
        trigger: BaseTrigger | None = None,
        *,
        id: str | None = None,
        name: str | None = None,
        args: Any = None,
        kwargs: Any = None,
        executor: str | None = None,
        store: str | None = None,
        store_alias: str | None = None,
        coalesce: bool | None = None,
        mistrigger_grace_time: float | None = None,
        max_instances: int | None = None,
        next_run_time: datetime | None = None,
        scheduler: TaskScheduler | None = None,
    ) -> None:
        self._setup(
            fn, trigger, id, name, args, kwargs, executor, store_alias or store, coalesce,
            mistrigger_grace_time, max_instances, next_run_time,
        )  # fmt: skip
        self._given = scheduler
        if scheduler is not None:
            scheduler.add_task(self)

    @classmethod
    def build(
        cls, fn: Callable[..., Any] | str | None, trigger: BaseTrigger | None, id: str | None,
        name: str | None, args: Any, kwargs: Any, executor: str | None, store_alias: str | None,
        coalesce: bool | None, mistrigger_grace_time: float | None, max_instances: int | None,
        next_run_time: datetime | None,
    ) -> Task:  # fmt: skip
        """A new task, not added, checked as ``Task(...)`` checks it: add_task's hot path
        (a class called with keywords packs them into a dict)."""
        task: Task = cls.__new__(cls)
        task._setup(
            fn, trigger, id, name, args, kwargs, executor, store_alias, coalesce,
            mistrigger_grace_time, max_instances, next_run_time,
        )  # fmt: skip
        return task

    @classmethod
    def from_record(cls, record: TaskRecord, scheduler: TaskScheduler | None = None) -> Self:
        """A task with the values of ``record`` (not checked: a store gives back what it was
        given), attached to ``scheduler`` when one is given. The one place a task is built
        from a record: once per fire, so written out, not a call."""
        task: Self = cls.__new__(cls)
        values, task.fn, task._trigger = record
        (
            task.id, task.next_run_time, task._anchor, task.args, kwargs, task.name,
            task.fn_reference, task.executor, task.store_alias, task.coalesce,
            task.mistrigger_grace_time, task.max_instances,
        ) = values  # fmt: skip
        task._kwargs = None if kwargs is None else dict(kwargs)
        task._scheduler, task._given, task._pending = scheduler, None, False
        return task

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Task:
        """A detached task of the plain-data state ``__getstate__`` gave (see
        :func:`~asyncz_like.tasks.record.record_from_state` for the errors)."""
        task: Task = cls.__new__(cls)
        task.__setstate__(state)
        return task

    def _setup(
        self, fn: Callable[..., Any] | str | None, trigger: BaseTrigger | None, id: str | None,
        name: str | None, args: Any, kwargs: Any, executor: str | None, store_alias: str | None,
        coalesce: bool | None, mistrigger_grace_time: float | None, max_instances: int | None,
        next_run_time: datetime | None,
    ) -> None:  # fmt: skip
        """Check and set every attribute; None means not given. The checks, and their order,
        are :func:`validate_changes`'s; a value that plainly passes one (None, or of the exact
        type checked) skips its call, as this is add_task's hot path."""
        self._scheduler: TaskScheduler | None = None
        self._given = None
        self._pending = False
        self.id: str = new_task_id() if id is None else check_id(id)
        # The MRO finds a subclass at C speed; isinstance on the ABC is a Python-level call.
        if trigger is not None and BaseTrigger not in trigger.__class__.__mro__:
            trigger = check_trigger(trigger, None)
        self._trigger: BaseTrigger | None = trigger
        self._anchor: datetime | None = None
        if name is not None:
            name = check_name(name, None)
        if executor.__class__ is not str:
            executor = check_executor(executor, None)
        if store_alias.__class__ is not str:
            store_alias = check_store(store_alias, None)
        if coalesce is not None and coalesce.__class__ is not bool:
            coalesce = check_coalesce(coalesce, None)
        if mistrigger_grace_time is not None and not (
            mistrigger_grace_time.__class__ is float and 0 < mistrigger_grace_time <= MAX_SECONDS
        ):  # nan fails the comparison: checked
            mistrigger_grace_time = check_grace(mistrigger_grace_time, None)
        if max_instances is not None and (
            max_instances.__class__ is not int or not 0 < max_instances <= MAX_COUNT
        ):
            max_instances = check_max_instances(max_instances, None)
        if next_run_time is not None:
            next_run_time = check_next_run_time(next_run_time, None)
        self.executor: str | None = executor
        self.store_alias: str | None = store_alias
        self.coalesce: bool | None = coalesce
        self.mistrigger_grace_time: float | None = mistrigger_grace_time
        self.max_instances: int | None = max_instances
        self.next_run_time: datetime | None = next_run_time
        checked = check_call(fn, args, kwargs, name)
        self.fn, self.fn_reference, self.args, self._kwargs, self.name = checked

    # -- plain data -------------------------------------------------------------------------

    @property
    def trigger(self) -> BaseTrigger | None:
        """What decides the run times. An interval trigger without ``start_at`` is anchored
        to the task's first fire when the task is added (see :meth:`set_trigger`)."""
        anchor, trigger = self._anchor, self._trigger
        if anchor is None or trigger is None:
            return trigger
        return with_anchor(trigger, anchor)

    @trigger.setter
    def trigger(self, value: BaseTrigger | None) -> None:
        self._trigger, self._anchor = value, None

    @property
    def unanchored_trigger(self) -> BaseTrigger | None:
        """The trigger as given, without the anchor the scheduler gave an interval."""
        return self._trigger

    @property
    def anchor(self) -> datetime | None:
        """The start the scheduler gave an interval trigger without ``start_at`` (its first
        fire), kept apart from the trigger; None for any other."""
        return self._anchor

    def set_trigger(self, trigger: BaseTrigger | None, anchor: datetime | None) -> None:
        """Keep ``trigger`` and, for an interval trigger without ``start_at``, the ``anchor``
        (its start) apart: the trigger can then stay the one many tasks share, and a task is
        one object for the garbage collector instead of two (see docs/performance.md).
        ``trigger`` reads them back as one anchored trigger."""
        self._trigger, self._anchor = trigger, anchor

    @property
    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of each call."""
        kwargs = self._kwargs
        if kwargs is None:  # none were given: the dict is made when first asked for
            kwargs = self._kwargs = {}
        return kwargs

    @kwargs.setter
    def kwargs(self, value: dict[str, Any] | None) -> None:
        self._kwargs = value

    @property
    def store(self) -> str | None:
        """The alias of the store this task lives in."""
        return self.store_alias

    @property
    def queue(self) -> str | None:
        """The broker queue this task's fires are sent to (``add_task(queue=...)``), or None
        when they run in the scheduler's own executors."""
        executor = self.executor
        if executor is not None and executor.startswith(QUEUE_PREFIX):
            return executor[len(QUEUE_PREFIX) :]
        return None

    @property
    def scheduler(self) -> TaskScheduler | None:
        """The scheduler the task was added to, else the one it was made with."""
        return self._scheduler or self._given

    @property
    def pending(self) -> bool:
        """True while the task waits, added to a scheduler not started yet, for its store."""
        return self._pending

    @pending.setter
    def pending(self, value: bool) -> None:
        self._pending = value

    @property
    def submitted(self) -> bool:
        """Whether this object has been added to a scheduler (it can be, only once)."""
        return self._scheduler is not None

    def current_values(self) -> dict[str, Any]:
        """The task's values by attribute name (not its scheduler); :meth:`set_values` puts
        them back."""
        return {name: getattr(self, name) for name in _VALUE_SLOTS}

    def set_values(self, values: dict[str, Any]) -> None:
        """Set these attributes as they are (not checked: see :meth:`modify`); a task
        without a name takes its function's."""
        for key, value in values.items():
            setattr(self, key, value)
        if self.name is None and self.fn is not None:
            self.name = get_callable_name(self.fn)

    def attach(self, scheduler: TaskScheduler) -> None:
        """Make ``scheduler`` the one this task was added to (once, and only the one it
        was made with, if any): its ``pause()``, ``update()``... then go through it."""
        if self._scheduler is not None:
            raise TaskConfigurationError(f"Task {self.id!r} has already been added to a scheduler")
        given = self._given
        if given is not None and given is not scheduler:
            raise TaskConfigurationError(
                f"Task {self.id!r} was made for another scheduler: the task scheduler may not be "
                "changed"
            )
        self._scheduler = scheduler

    def detach(self) -> None:
        """Undo :meth:`attach` (the task could not be stored: it may be added again)."""
        self._scheduler = None

    def modify(self, **changes: Any) -> None:
        """Validate and apply ``changes`` to this object only (the scheduler persists them)."""
        scheduler = self.scheduler
        timezone = scheduler.timezone if scheduler is not None else None
        self.set_values(validate_changes(changes, self.current_values(), timezone))

    def update_task(self, **changes: Any) -> Task:
        """asyncz's name: validate and apply ``changes`` to this object only, not through the
        scheduler (whose ``update_task`` stores them). ``scheduler=`` may name only the
        scheduler the task already has."""
        if "scheduler" in changes:
            given = changes.pop("scheduler")
            if given is not None and self.scheduler is not None and given is not self.scheduler:
                raise ValueError("The task scheduler may not be changed.")
            if self._scheduler is None:
                self._given = given
        self.modify(**changes)
        return self

    def snapshot(self) -> TaskSnapshot:
        """A read-only view of the task as it is now."""
        return snapshot_of(self)

    def clone(self, attached: bool = False) -> Task:
        """A copy: the same values (the trigger and the arguments shared, the ``kwargs``
        dict copied), of the same class; detached unless ``attached`` (then it holds this
        task's scheduler too)."""
        return type(self).from_record(self.record(), self._scheduler if attached else None)

    # -- the stored form --------------------------------------------------------------------

    def record(self) -> TaskRecord:
        """The task's values as the one record every store keeps (see
        :mod:`asyncz_like.tasks.record`)."""
        kwargs = self._kwargs
        values: TaskValues = (
            self.id, self.next_run_time, self._anchor, self.args,
            tuple(kwargs.items()) if kwargs else None, self.name, self.fn_reference,
            self.executor, self.store_alias, self.coalesce, self.mistrigger_grace_time,
            self.max_instances,
        )  # fmt: skip
        return values, self.fn, self._trigger

    def call_kwargs(self) -> Mapping[str, Any]:
        """The keyword arguments to call ``fn`` with, without making a dict for a task that
        has none (most tasks: an empty dict per task would be an eighth of its memory)."""
        return self._kwargs or _NO_KWARGS

    def __getstate__(self) -> dict[str, Any]:
        return record_state(self.record())

    def __setstate__(self, state: dict[str, Any]) -> None:
        built = Task.from_record(record_from_state(state))
        for name in _ALL_SLOTS:
            setattr(self, name, getattr(built, name))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<Task (id={self.id} name={self.name})>"


#: Every slot but ``__weakref__``.
_ALL_SLOTS = tuple(name for name in Task.__slots__ if name != "__weakref__")
#: The attributes that hold a task's values (not its link to a scheduler).
_VALUE_SLOTS = (*_PLAIN_SLOTS, "trigger", "kwargs")

#: What :meth:`Task.call_kwargs` gives for a task without keyword arguments.
_NO_KWARGS: Mapping[str, Any] = MappingProxyType({})

#: ``call_kwargs(task)``: :meth:`Task.call_kwargs` as a function (one call, not two).
call_kwargs = Task.call_kwargs
