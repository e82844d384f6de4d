"""The scheduler's task API: each method hands on to the task collaborators."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, overload

from asyncz_like.enums import TaskScheduleState
from asyncz_like.schedulers.conflicts import ConflictPolicy, conflict_policy
from asyncz_like.schedulers.decorators import remember_task
from asyncz_like.schedulers.queue_fires import queue_executor_alias
from asyncz_like.schedulers.run_side import RunSide
from asyncz_like.schedulers.task_adding import TaskAdder
from asyncz_like.schedulers.task_factory import UNSET, TaskFactory, add_options, renamed_fn
from asyncz_like.schedulers.task_infos import task_infos
from asyncz_like.schedulers.task_preview import NOT_GIVEN, check_task_count, read_call
from asyncz_like.schedulers.task_registry import TaskRegistry
from asyncz_like.tasks.inspection import TaskRunPreview
from asyncz_like.tasks.task import Task, TaskSnapshot
from asyncz_like.triggers.base import BaseTrigger


class TaskMethods:
    """Add, change, pause, run, list and delete tasks (no state of its own: the scheduler's
    ``__init__`` makes the collaborators these methods call)."""

    _task_factory: TaskFactory
    _task_adder: TaskAdder
    _task_registry: TaskRegistry
    _run_side: RunSide

    def add_task(
        self,
        /,
        fn_or_task: Callable[..., Any] | str | Task | None = None,
        trigger: BaseTrigger | str | None = None,
        args: Any = None,
        kwargs: Any = None,
        id: str | None = None,
        name: str | None = None,
        mistrigger_grace_time: float | None = UNSET,
        coalesce: bool = UNSET,
        max_instances: int = UNSET,
        next_run_time: datetime | None = UNSET,
        store: str | None = None,
        executor: str | None = None,
        replace_existing: bool = False,
        on_conflict: ConflictPolicy | None = None,
        queue: str | None = None,
        **trigger_args: Any,
    ) -> Any:
        """Add a task and return it; called without a function it is a decorator.

        ``fn_or_task`` is a callable, a ``"module:qualname"`` string or a Task object.
        ``trigger`` is a trigger or its alias (``"interval"``, ``"cron"``, ...), with its
        options as keyword arguments. Nothing is added when any argument is bad.

        When a task with this id exists, ``on_conflict`` decides: ``"fail"`` (the default
        without ``replace_existing``) raises ConflictIdError; ``"update"`` (the default with
        ``replace_existing=True``) keeps the stored task and its schedule when the definition
        is the same, gives it a new schedule when the trigger changed, and writes other
        changes keeping the schedule; ``"keep"`` leaves the stored task as it is;
        ``"replace"`` writes the new definition with a new schedule. Tasks added before
        :meth:`start` meet the stored ones at start, where ``"fail"`` keeps the stored task
        (and logs a warning when its definition differs): a restart is not an error.

        ``queue`` (with a broker): each fire is enqueued on that queue for the workers,
        once (its run id is ``"<task id>@<scheduled time>"``), instead of run here; the
        task's executor is then ``"queue:<name>"``.
        """
        if queue is not None:
            executor = queue_executor_alias(
                queue, executor, self._run_side.brokers.broker is not None
            )
        if "fn" in trigger_args:  # asyncz's old name of fn_or_task
            fn_or_task = renamed_fn(fn_or_task, trigger_args.pop("fn"))
        # The usual case without a call: add_task's hot path
        policy: ConflictPolicy = (
            "fail"
            if on_conflict is None and not replace_existing
            else conflict_policy(on_conflict, replace_existing)
        )
        if fn_or_task is None or isinstance(fn_or_task, Task):
            options = add_options(
                args=args,
                kwargs=kwargs,
                id=id,
                name=name,
                mistrigger_grace_time=mistrigger_grace_time,
                coalesce=coalesce,
                max_instances=max_instances,
                next_run_time=next_run_time,
                store=store,
                executor=executor,
                replace_existing=replace_existing,
                on_conflict=on_conflict,
            )
            if fn_or_task is None:

                def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
                    remember_task(fn, self.add_task(fn, trigger, **options, **trigger_args))
                    return fn

                return decorator
            task = self._task_factory.build_given(fn_or_task, trigger, trigger_args, options)
            self._task_adder.add_built(task, policy, next_run_time is UNSET, checked=True)
            return task
        # the common case, kept free of the options dicts
        task = self._task_factory.new_task(
            fn_or_task,
            trigger,
            trigger_args,
            args,
            kwargs,
            id,
            name,
            mistrigger_grace_time,
            coalesce,
            max_instances,
            next_run_time,
            store,
            executor,
        )
        self._task_adder.add_built(
            task, policy, next_run_time is UNSET, False, anonymous=id is None
        )
        return task

    def add_tasks(
        self,
        tasks: Iterable[Task | Mapping[str, Any]],
        *,
        replace_existing: bool = False,
        on_conflict: ConflictPolicy | None = None,
    ) -> list[Task]:
        """Add many tasks at once and return them, in the order given.

        Each item is a Task object or a dict of :meth:`add_task`'s arguments (``fn``,
        ``trigger`` and the trigger's options included). Every item is checked before
        anything is stored: when one is bad, or an id repeats, or (with ``on_conflict``
        ``"fail"``, the default without ``replace_existing``) an id is taken, nothing is
        added. New tasks go to each store in one write: one transaction on SQL, one script on
        Redis. ``on_conflict`` is :meth:`add_task`'s.
        """
        return self._task_adder.add_many(
            tasks, policy=conflict_policy(on_conflict, replace_existing)
        )

    def lookup_task(self, task_id: str, store: str | None) -> tuple[Task, str | None]:
        """The task and its store alias (None while it is pending)."""
        return self._task_registry.lookup(task_id, store)

    def update_task(self, /, task_id: str | Task, store: str | None = None, **changes: Any) -> Task:
        """Change a task's attributes (all but its id); ``queue="name"`` sends its fires to
        that broker queue from now on (as add_task's ``queue``)."""
        if "queue" in changes:
            changes["executor"] = queue_executor_alias(
                changes.pop("queue"),
                changes.get("executor"),
                self._run_side.brokers.broker is not None,
            )
        return self._task_registry.update(task_id, store, changes)

    def reschedule_task(
        self,
        /,
        task_id: str | Task,
        store: str | None = None,
        trigger: BaseTrigger | str | None = None,
        **trigger_args: Any,
    ) -> Task:
        """Give a task a new trigger; its next run time is computed from it."""
        return self._task_registry.reschedule(task_id, store, trigger, trigger_args)

    def pause_task(self, task_id: str | Task, store: str | None = None) -> Task:
        """Stop a task from firing until it is resumed."""
        return self.update_task(task_id, store, next_run_time=None)

    def resume_task(self, task_id: str | Task, store: str | None = None) -> Task | None:
        """Let a paused task fire again from now on; a task with no fire left is deleted."""
        return self._task_registry.resume(task_id, store)

    def run_task(self, task_id: str | Task, store: str | None = None) -> Task:
        """Run a task now, once, on its executor; its schedule is unchanged."""
        return self._task_registry.run(task_id, store)

    def get_tasks(self, store: str | None = None) -> list[Task]:
        """Every task (of one store when given), pending ones included."""
        return self._task_registry.get_all(store)

    def get_task_infos(
        self,
        store: str | None = None,
        *,
        schedule_state: TaskScheduleState | str | None = None,
        executor: str | None = None,
        trigger: str | None = None,
        q: str | None = None,
        sort_by: str = "next_run_time",
        descending: bool = False,
    ) -> list[TaskSnapshot]:
        """Snapshots of the tasks (of ``store`` when given) that match every filter, sorted
        by ``sort_by`` (``id``, ``name``, ``next_run_time``, ``schedule_state``,
        ``executor``, ``store`` or ``trigger``): see :func:`task_infos`."""
        return task_infos(
            self.get_tasks(store), schedule_state, executor, trigger, q, sort_by, descending
        )

    def get_task(self, task_id: str, store: str | None = None) -> Task | None:
        """The task with this id, or None."""
        return self._task_registry.get(task_id, store)

    def get_broken_records(self, store: str | None = None) -> dict[str, dict[str, str]]:
        """Records the stores could not read, ``{store: {task_id: reason}}``. They are kept
        and skipped; ``delete_task(task_id, store)`` removes one on purpose."""
        return self._task_registry.broken_records(store)

    def delete_task(self, task_id: str | Task, store: str | None = None) -> None:
        """Remove a task, or a broken record with this id; TaskLookupError when there is none."""
        self._task_registry.delete(task_id, store)

    remove_task = delete_task

    def remove_all_tasks(self, store: str | None = None) -> None:
        """Remove every task (of one store when given)."""
        self._task_registry.remove_all(store)

    @overload
    def preview_task_runs(
        self,
        trigger: BaseTrigger | type[BaseTrigger],
        count: int = 5,
        start: datetime | None = None,
        **trigger_args: Any,
    ) -> list[datetime]: ...

    @overload
    def preview_task_runs(
        self,
        *,
        task_id: str | Task,
        store: str | None = None,
        count: int = 5,
        now: datetime | str | None = None,
    ) -> TaskRunPreview | None: ...

    @overload
    def preview_task_runs(
        self,
        task: Task,
        store: str | None = None,
        /,
        *,
        count: int = 5,
        now: datetime | str | None = None,
    ) -> TaskRunPreview | None: ...

    @overload
    def preview_task_runs(  # a trigger alias or a task id: told apart at run time
        self, trigger: str, *args: Any, **options: Any
    ) -> Any: ...

    def preview_task_runs(
        self,
        trigger: BaseTrigger | type[BaseTrigger] | str | Task | None = None,
        *args: Any,
        task_id: str | Task | None = None,
        store: str | None = None,
        count: int = NOT_GIVEN,
        now: datetime | str | None = None,
        start: datetime | None = None,
        **trigger_args: Any,
    ) -> list[datetime] | TaskRunPreview | None:
        """The next fire times of a trigger, or (asyncz's form) of a task; nothing changes.

        ``preview_task_runs(trigger, count=5, start=None, **trigger_args)``: the next
        ``count`` (0 to 1,000,000) fire times ``trigger`` (an instance, a class or an alias,
        with its options) would give from ``start`` (default now), as a list; fewer when the
        trigger ends.

        ``preview_task_runs(task_id, store=None, *, count=5, now=None)``: a
        :class:`~asyncz_like.tasks.TaskRunPreview` of the task's next ``count`` (1 to 50) run
        times, or None when there is no such task.

        The call says which: ``task_id=``, ``store=``, ``now=``, a Task, a text that is no
        trigger alias, or a second argument that is a text or None (a store) mean a task; a
        trigger, a trigger class, an alias, ``start=``, a trigger option or a second argument
        that is a number mean a trigger. Preview a task whose id is a trigger alias with
        ``task_id=``. TypeError for a call that mixes the two.
        """
        options = {"task_id": task_id, "store": store, "count": count, "now": now}
        call = read_call(trigger, args, {**options, "start": start}, trigger_args)
        if not call.of_task:
            if call.target is None:
                raise TypeError("preview_task_runs() needs a trigger or a task_id")
            return self._task_registry.preview(call.target, call.count, call.start, trigger_args)
        if not isinstance(call.target, str | Task):
            raise TypeError(f"task_id must be a task id or a Task, got {call.target!r}")
        count = check_task_count(call.count)
        return self._task_registry.preview_task(call.target, call.store, count, call.now)
