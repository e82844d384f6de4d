"""The Task: a callable, its arguments, its trigger and how it may run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from asyncz_like.enums import TaskScheduleState
from asyncz_like.exceptions import TaskConfigurationError
from asyncz_like.limits import MAX_COUNT, MAX_SECONDS, shifted
from asyncz_like.tasks.definition import definition_changes
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
from asyncz_like.triggers import IntervalTrigger, with_anchor
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import datetime_repr, get_callable_name, obj_to_ref, ref_to_obj

if TYPE_CHECKING:
    from asyncz_like.tasks.base import TaskScheduler

#: At most this many missed run times are listed for one fire; see ``get_run_times``.
MAX_RUN_TIMES = 1000


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


class Task:
    """A scheduled callable. Given ``scheduler=``, it is added to that scheduler at once and
    holds it: ``update``, ``pause`` and the other actions go through it.

    Attributes not given (None) take the scheduler's ``task_defaults`` when the task is added.
    """

    __slots__ = (
        "__weakref__",  # for the memory store's HeldTasks
        "_anchor",
        "_given",
        "_kwargs",
        "_pending",
        "_scheduler",
        "_trigger",
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

    #: True for the internal tasks that carry one run of submitted background work.
    is_background_run: ClassVar[bool] = False

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
        self._pending = False
        if scheduler is not None:
            scheduler.add_task(self)

    _given: TaskScheduler | None

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
        to the task's first fire when the task is added (see :meth:`_set_trigger`)."""
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

    def _set_trigger(self, trigger: BaseTrigger | None, anchor: datetime | None) -> None:
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
    def scheduler(self) -> TaskScheduler | None:
        """The scheduler the task was added to, else the one it was made with."""
        # Tasks built without __init__ (stores, the add path) have neither slot set.
        return self._scheduler or getattr(self, "_given", None)

    @property
    def pending(self) -> bool:
        """True while the task waits, added to a scheduler not started yet, for its store."""
        return getattr(self, "_pending", False)

    @pending.setter
    def pending(self, value: bool) -> None:
        self._pending = value

    @property
    def schedule_state(self) -> TaskScheduleState:
        """Pending (added before start), paused (no next run time) or scheduled."""
        if self.pending:
            return TaskScheduleState.PENDING
        if self.next_run_time is None:
            return TaskScheduleState.PAUSED
        return TaskScheduleState.SCHEDULED

    @property
    def paused(self) -> bool:
        """Whether the task is paused: added (not pending) and without a next run time."""
        return not self.pending and self.next_run_time is None

    @property
    def submitted(self) -> bool:
        """Whether this object has been added to a scheduler (it can be, only once)."""
        return self._scheduler is not None

    def current_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _VALUE_SLOTS}

    def _apply(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            setattr(self, key, value)
        if self.name is None and self.fn is not None:
            self.name = get_callable_name(self.fn)

    def _attach(self, scheduler: TaskScheduler) -> None:
        if self._scheduler is not None:
            raise TaskConfigurationError(f"Task {self.id!r} has already been added to a scheduler")
        given = getattr(self, "_given", None)
        if given is not None and given is not scheduler:
            raise TaskConfigurationError(
                f"Task {self.id!r} was made for another scheduler: the task scheduler may not be "
                "changed"
            )
        self._scheduler = scheduler

    def _modify(self, **changes: Any) -> None:
        """Validate and apply ``changes`` to this object only (the scheduler persists them)."""
        scheduler = self.scheduler
        timezone = scheduler.timezone if scheduler is not None else None
        self._apply(validate_changes(changes, self.current_values(), timezone))

    def shift_schedule(self, step: timedelta) -> None:
        """Move the next run time and the phase of an interval (its anchor, or its
        ``start_at``) by ``step``: after the wall clock stepped by ``step``, an interval task's
        next fire then comes after the same elapsed time as before."""
        seconds = step.total_seconds()
        if self.next_run_time is not None:
            self.next_run_time = shifted(self.next_run_time, seconds)
        if self._anchor is not None:
            self._anchor = shifted(self._anchor, seconds)
        elif isinstance(self._trigger, IntervalTrigger):
            self._trigger = self._trigger.moved(step)

    # -- the same task, defined again --------------------------------------------------------

    def changes_from(self, stored: Task) -> frozenset[str]:
        """The names of what this task defines differently from ``stored`` (the same id,
        read from a store): ``"fn"``, ``"trigger"``, ``"args"``, ... Its next run time is
        not part of the definition, nor is an interval's anchor (its start given when the
        task was first added)."""
        return definition_changes(self, stored)

    def adopt_schedule(self, stored: Task) -> None:
        """Take the next run time of ``stored`` and, for an interval without ``start_at``,
        its anchor: this object then fires as the stored task does."""
        self.next_run_time = stored.next_run_time
        mine, theirs = self._trigger, stored.trigger
        if (
            isinstance(mine, IntervalTrigger)
            and mine.start_at is None
            and isinstance(theirs, IntervalTrigger)
        ):
            self._anchor = theirs.start_at

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
        self._modify(**changes)
        return self

    # -- actions through the scheduler ------------------------------------------------------

    def update(self, **changes: Any) -> Task:
        """Change attributes (all but the id). Through the scheduler when the task has one."""
        scheduler = self.scheduler
        if scheduler is None:
            self._modify(**changes)
        else:
            scheduler.update_task(self.id, self.store_alias, **changes)
        return self

    def reschedule(self, *args: Any, trigger: Any = None, **trigger_args: Any) -> Task:
        """Give the task a new trigger.

        Both ``task.reschedule("cron", hour=8)`` and asyncz's ``task.reschedule(task_id,
        trigger="cron", hour=8)`` are accepted.
        """
        if len(args) > 1:
            raise TypeError("reschedule() takes at most one positional argument")
        if args and trigger is None:
            trigger = args[0]
        elif args and args[0] != self.id:
            raise ValueError(f"reschedule() was given the id {args[0]!r} of another task")
        if trigger is None:
            raise TypeError("reschedule() needs a trigger")
        scheduler = self._require_scheduler("reschedule")
        scheduler.reschedule_task(self.id, self.store_alias, trigger, **trigger_args)
        return self

    def pause(self) -> Task:
        self._require_scheduler("pause").pause_task(self.id, self.store_alias)
        return self

    def resume(self) -> Task:
        self._require_scheduler("resume").resume_task(self.id, self.store_alias)
        return self

    def delete(self) -> None:
        self._require_scheduler("delete").delete_task(self.id, self.store_alias)

    def _require_scheduler(self, action: str) -> TaskScheduler:
        scheduler = self.scheduler
        if scheduler is None:
            raise TaskConfigurationError(f"Cannot {action} task {self.id!r}: it has no scheduler")
        return scheduler

    # -- schedule ---------------------------------------------------------------------------

    def get_run_times(
        self, timezone: tzinfo, now: datetime, limit: int = MAX_RUN_TIMES
    ) -> list[datetime]:
        """Run times from ``next_run_time`` up to ``now``, oldest first, at most ``limit``."""
        return self.run_times_from(self.next_run_time, timezone, now, limit)[0]

    def run_times_from(
        self, first: datetime | None, timezone: tzinfo, now: datetime, limit: int
    ) -> tuple[list[datetime], datetime | None]:
        """The trigger's fires from ``first`` up to ``now`` (at most ``limit``), and the fire
        after the last one listed."""
        run_times: list[datetime] = []
        next_time = first
        trigger = self.trigger
        while next_time is not None and next_time <= now and len(run_times) < limit:
            run_times.append(next_time)
            next_time = trigger.get_next_trigger_time(timezone, next_time, now) if trigger else None
        return run_times, next_time

    def snapshot(self) -> TaskSnapshot:
        return TaskSnapshot(
            id=self.id,
            name=self.name,
            fn_reference=self.fn_reference,
            args=self.args,
            kwargs=dict(self._kwargs or ()),
            trigger=str(self.trigger),
            executor=self.executor,
            store=self.store_alias,
            coalesce=self.coalesce,
            mistrigger_grace_time=self.mistrigger_grace_time,
            max_instances=self.max_instances,
            next_run_time=self.next_run_time,
            paused=self.paused,
            callable_name=None if self.fn is None else get_callable_name(self.fn),
            trigger_alias=getattr(self.trigger, "alias", None),
            trigger_name=None if self.trigger is None else type(self.trigger).__name__,
            schedule_state=self.schedule_state,
            callable_reference=self.fn_reference or _reference_of(self.fn),
        )

    def clone(self) -> Task:
        """A detached copy: the same values (the trigger and the arguments shared, the
        ``kwargs`` dict copied), no scheduler."""
        copy = type(self).__new__(type(self))
        for name in _PLAIN_SLOTS:
            setattr(copy, name, getattr(self, name))
        copy._trigger, copy._anchor = self._trigger, self._anchor
        copy._kwargs = dict(self._kwargs) if self._kwargs else None
        copy._scheduler = copy._given = None
        copy._pending = False
        return copy

    # -- persistence ------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in _VALUE_SLOTS}
        state["kwargs"] = self._kwargs or {}
        state["version"] = 1
        if self.fn_reference is not None:
            state["fn"] = None  # rebuilt from the reference on load
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        version = state.get("version", 1)
        if version > 1:
            raise ValueError(f"Task state version {version} is newer than this library knows")
        self._scheduler = self._given = None
        value = state.get
        for name in _VALUE_SLOTS:
            setattr(self, name, value(name))
        self._kwargs = self._kwargs or None  # none: no dict kept, as for a new task
        if isinstance(self.fn, str):  # asyncz's TaskState holds the reference as fn
            self.fn_reference = self.fn_reference or self.fn
            self.fn = None
        if self.fn is None and self.fn_reference is not None:
            self.fn = ref_to_obj(self.fn_reference)
        self._pending = False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<Task (id={self.id} name={self.name})>"

    def __str__(self) -> str:
        status = f"next run at: {datetime_repr(self.next_run_time)}"
        if self.pending:
            status = "pending"
        elif self.next_run_time is None:
            status = "paused"
        return f"{self.name} (trigger: {self.trigger}, {status})"


def _reference_of(fn: Any) -> str | None:
    """The ``module:qualname`` reference of ``fn``, or None when it has none."""
    if fn is None:
        return None
    try:
        return obj_to_ref(fn)
    except (TypeError, ValueError):
        return None


#: The slots that hold a task's values as they are read and written.
_PLAIN_SLOTS = tuple(name for name in Task.__slots__ if not name.startswith("_"))
#: The attributes that hold a task's values (not its link to a scheduler).
_VALUE_SLOTS = (*_PLAIN_SLOTS, "trigger", "kwargs")

#: What :func:`call_kwargs` gives for a task without keyword arguments.
_NO_KWARGS: Mapping[str, Any] = MappingProxyType({})


def call_kwargs(task: Task) -> Mapping[str, Any]:
    """The keyword arguments to call ``task.fn`` with, without making a dict for a task that
    has none (most tasks: an empty dict per task would be an eighth of its memory)."""
    return task._kwargs or _NO_KWARGS
