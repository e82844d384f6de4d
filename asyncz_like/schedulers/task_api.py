"""The task half of the scheduler's API: add, change, pause, run, list and delete tasks."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asyncz_like.events.base import TaskEvent
from asyncz_like.events.constants import ALL_TASKS_REMOVED, TASK_ADDED, TASK_MODIFIED, TASK_REMOVED
from asyncz_like.exceptions import ConflictIdError, SchedulerNotRunningError, TaskLookupError
from asyncz_like.limits import check_number
from asyncz_like.schedulers.conflicts import ConflictPolicy, Stored, conflict_policy, store_task
from asyncz_like.schedulers.core import _PAUSED, _RUNNING, SchedulerCore
from asyncz_like.schedulers.decorators import remember_task
from asyncz_like.schedulers.pending import PendingTask
from asyncz_like.tasks.task import Task
from asyncz_like.triggers import anchor_trigger, anchored_first_fire, build_trigger
from asyncz_like.triggers.base import BaseTrigger

if TYPE_CHECKING:
    from asyncz_like.stores.base import BaseStore


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: Marks an argument that was not given (None is a meaningful value for some of them).
UNSET: Any = _Unset()
#: The most fire times preview_task_runs lists.
_MAX_PREVIEW = 1_000_000


class TaskAPI(SchedulerCore):
    """Task operations of the scheduler."""

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
        """
        if "fn" in trigger_args:  # asyncz's old name of fn_or_task
            fn_or_task = _renamed_fn(fn_or_task, trigger_args.pop("fn"))
        # The usual case without a call: add_task's hot path
        policy: ConflictPolicy = (
            "fail"
            if on_conflict is None and not replace_existing
            else conflict_policy(on_conflict, replace_existing)
        )
        if fn_or_task is None or isinstance(fn_or_task, Task):
            options = _add_options(
                args=args, kwargs=kwargs, id=id, name=name,
                mistrigger_grace_time=mistrigger_grace_time, coalesce=coalesce,
                max_instances=max_instances, next_run_time=next_run_time, store=store,
                executor=executor, replace_existing=replace_existing, on_conflict=on_conflict,
            )  # fmt: skip
            if fn_or_task is None:

                def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
                    remember_task(fn, self.add_task(fn, trigger, **options, **trigger_args))
                    return fn

                return decorator
            task = self._build_given(fn_or_task, trigger, trigger_args, options)
            self._add_built_task(task, policy, next_run_time is UNSET, checked=True)
            return task
        # the common case, kept free of the options dicts
        task = self._new_task(
            fn_or_task, trigger, trigger_args, args, kwargs, id, name,
            mistrigger_grace_time, coalesce, max_instances, next_run_time, store, executor,
        )  # fmt: skip
        self._add_built_task(task, policy, next_run_time is UNSET, False, anonymous=id is None)
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
        policy = conflict_policy(on_conflict, replace_existing)
        built: list[Task] = []
        compute_next: list[bool] = []  # False where the item gave its own next_run_time
        seen: set[tuple[str, str | None]] = set()
        for index, item in enumerate(tasks):
            try:
                task = self._build_spec(item, policy)
            except Exception as exc:
                exc.add_note(f"add_tasks(): item {index}")
                raise
            key = (task.id, task.store_alias)
            if key in seen:
                raise ConflictIdError(task.id)
            seen.add(key)
            built.append(task)
            compute_next.append(not (isinstance(item, Mapping) and "next_run_time" in item))
        with self._lock:
            if not self.running and not self.paused:
                self._add_many_pending(built, policy, compute_next)
                return built
            for task, compute in zip(built, compute_next, strict=True):
                self._schedule_new_task(task, compute)
            self._store_many(built, policy)
            for task in built:
                task.attach(self)
        for task in built:
            self._emit_task_event(TASK_ADDED, task.id, task.store_alias)
        times = [task.next_run_time for task in built if task.next_run_time is not None]
        if times:
            self._wake_if_earlier(min(times))
        return built

    def _add_many_pending(
        self, tasks: list[Task], policy: ConflictPolicy, compute: list[bool]
    ) -> None:
        if policy == "fail":
            self._pending.check_new(tasks)
        for task, compute_next in zip(tasks, compute, strict=True):
            self._add_pending(task, policy, compute_next)

    def _build_spec(self, item: Task | Mapping[str, Any], policy: ConflictPolicy) -> Task:
        if isinstance(item, Task):
            return self._build_given(item, None, {}, _add_options(on_conflict=policy))
        if not isinstance(item, Mapping):
            raise TypeError(f"add_tasks() takes Task objects or dicts, got {item!r}")
        spec = dict(item)
        fn, trigger = spec.pop("fn", None), spec.pop("trigger", None)
        if fn is None:
            raise TypeError("add_tasks(): a dict needs 'fn' (a callable or 'module:qualname')")
        option_names = set(_add_options())
        options = _add_options(
            on_conflict=policy, **{k: spec.pop(k) for k in list(spec) if k in option_names}
        )
        if isinstance(fn, Task):
            return self._build_given(fn, trigger, spec, options)
        del options["replace_existing"], options["on_conflict"]
        task = self._new_task(fn, trigger, spec, **options)
        self.lookup_store(task.store_alias or "default").validate_task(task)
        return task

    def _store_many(self, tasks: list[Task], policy: ConflictPolicy) -> None:
        by_store: dict[str, list[Task]] = {}
        for task in tasks:
            by_store.setdefault(task.store_alias or "default", []).append(task)
        for alias, group in by_store.items():
            if policy != "fail":
                for task in group:
                    self._store_task(task, policy)
            else:
                self.lookup_store(alias).add_tasks(group)

    def _new_task(
        self, fn: Any, trigger: Any, trigger_args: dict[str, Any], args: Any, kwargs: Any,
        id: str | None, name: str | None, mistrigger_grace_time: Any, coalesce: Any,
        max_instances: Any, next_run_time: Any, store: str | None, executor: str | None,
    ) -> Task:  # fmt: skip
        """A new task from add_task's arguments, the scheduler's task_defaults filling in
        what is not given. Checks: the trigger, the executor and store aliases, then Task()'s;
        not yet whether the store can keep it (``validate_task``)."""
        built_trigger = self._resolve_trigger(trigger, trigger_args)
        executor = "default" if executor is None else executor
        store = "default" if store is None else store
        if executor not in self._executors:
            self.lookup_executor(executor)  # raises UnknownAliasError
        if store not in self._stores:
            self.lookup_store(store)  # raises UnknownAliasError
        defaults = self.task_defaults
        if mistrigger_grace_time is UNSET:
            mistrigger_grace_time = (
                None
                if built_trigger.allow_mistrigger_by_default
                else defaults.mistrigger_grace_time
            )
        if coalesce is UNSET or coalesce is None:
            coalesce = defaults.coalesce
        if max_instances is UNSET or max_instances is None:
            max_instances = defaults.max_instances
        return Task.build(
            fn, built_trigger, id, name, args, kwargs, executor, store, coalesce,
            mistrigger_grace_time, max_instances, None if next_run_time is UNSET else next_run_time,
        )  # fmt: skip

    def _build_given(
        self, given: Task, trigger: Any, trigger_args: dict[str, Any], options: dict[str, Any]
    ) -> Task:
        """A Task object given to add_task, with the options (and trigger) given with it."""
        built_trigger = self._resolve_trigger(trigger, trigger_args)
        if given.submitted:
            raise ValueError(f"Task {given.id!r} has already been added to a scheduler")
        if options["id"] is not None and options["id"] != given.id:
            raise ValueError("The task id cannot be changed")
        use_trigger = trigger is not None or given.trigger is None
        settings = self._task_settings(
            options, built_trigger if use_trigger else given.trigger, given
        )
        if use_trigger:
            settings["trigger"] = built_trigger
        self.lookup_executor(settings["executor"])
        store = self.lookup_store(settings["store_alias"])
        before = given.current_values()
        given.modify(**settings)
        try:
            store.validate_task(given)
        except Exception:
            given.set_values(before)  # a Task object the caller made is left as it was given
            raise
        return given

    def _task_settings(
        self, options: dict[str, Any], trigger: BaseTrigger | None, given: Task
    ) -> dict[str, Any]:
        """The task's attributes from the add_task options, the Task object given and the
        scheduler's task_defaults, in that order of precedence."""
        names = ("args", "kwargs", "name", "executor", "mistrigger_grace_time", "coalesce")
        settings = {key: options[key] for key in names if options[key] not in (UNSET, None)}
        for key in ("max_instances", "next_run_time"):
            if options[key] not in (UNSET, None):
                settings[key] = options[key]
        if options["store"] is not None:
            settings["store_alias"] = options["store"]
        if options["next_run_time"] is None:
            settings["next_run_time"] = None
        if options["mistrigger_grace_time"] is None:
            settings["mistrigger_grace_time"] = None
        elif trigger is not None and trigger.allow_mistrigger_by_default:
            settings.setdefault("mistrigger_grace_time", None)
        defaults = self.task_defaults
        for key in ("coalesce", "max_instances", "mistrigger_grace_time"):
            if key not in settings and getattr(given, key) is None:
                settings[key] = getattr(defaults, key)
        settings.setdefault("executor", given.executor or "default")
        settings.setdefault("store_alias", given.store_alias or "default")
        return settings

    def create_trigger(self, trigger: Any, trigger_args: Mapping[str, Any]) -> BaseTrigger:
        """A trigger from an alias, class, config or instance (asyncz's API overrides it)."""
        return self._resolve_trigger(trigger, dict(trigger_args))

    def _resolve_trigger(self, trigger: Any, trigger_args: dict[str, Any]) -> BaseTrigger:
        if trigger is None:
            trigger = "date"
        if isinstance(trigger, str):  # first: isinstance on the BaseTrigger ABC is slower
            return build_trigger(trigger, trigger_args)
        if isinstance(trigger, BaseTrigger):
            if trigger_args:
                raise TypeError(
                    f"Trigger options {sorted(trigger_args)} given with a trigger instance"
                )
            return trigger
        return build_trigger(trigger, trigger_args)

    def _add_built_task(
        self, task: Task, policy: ConflictPolicy, compute_next: bool, checked: bool,
        anonymous: bool = False,
    ) -> None:  # fmt: skip
        """Store ``task`` (or keep it until start); ``checked``: its store validated it;
        ``anonymous``: it was given no id. add_task's hot path: the store is looked up once,
        and the wake-up is checked against the state read under the lock."""
        with self._lock:
            state = self.state
            pending = state != _RUNNING and state != _PAUSED
            store = self.lookup_store(task.store_alias or "default")
            if not checked and (pending or not store.validates_on_add):
                store.validate_task(task)
            if pending:
                if anonymous and store.does_io:
                    self._warn_added_at_every_start(task)
                self._add_pending(task, policy, compute_next)
                return
            self._schedule_new_task(task, compute_next)
            stored = store_task(store, task, policy)
            task.attach(self)
        if stored.outcome != "kept":
            code = TASK_MODIFIED if stored.outcome == "updated" else TASK_ADDED
            self._emit_task_event(code, task.id, task.store_alias)
        if task.next_run_time is not None and state == _RUNNING:
            self.wakeup_at(task.next_run_time)

    def _add_pending(self, task: Task, policy: ConflictPolicy, compute_next: bool) -> None:
        """Keep a task until start; a duplicate id is handled now, as on a running one."""
        if self._pending.add(PendingTask(task, policy, compute_next)):
            task.attach(self)
            task.pending = True

    def _warn_added_at_every_start(self, task: Task) -> None:
        """A task without an id, added before start to a store that outlives the process,
        is added again by every start: say so, and how to fix it."""
        self.logger.warning(
            "Task %s (%s) is added to the persistent store %r without an id: every start "
            "of this app adds another copy. Give it an id (add_task(..., id=%r, "
            "replace_existing=True)) so that a restart finds the stored one",
            task.id, task.name, task.store_alias, task.name,
            extra={"task_id": task.id, "store": task.store_alias},
        )  # fmt: skip

    def _store_task(
        self, task: Task, policy: ConflictPolicy, store: BaseStore | None = None
    ) -> Stored:
        """Write ``task`` to its store (``store`` when the caller looked it up already)."""
        if store is None:
            store = self.lookup_store(task.store_alias or "default")
        return store_task(store, task, policy)

    def lookup_task(self, task_id: str, store: str | None) -> tuple[Task, str | None]:
        """The task and its store alias (None while it is pending)."""
        pending = self._pending.find(task_id, store)
        if pending is not None:
            return pending, None
        for alias, candidate in self._started_stores():
            if store is None or alias == store:
                task = candidate.lookup_task(task_id)
                if task is not None:
                    return self._adopt(task), alias
        raise TaskLookupError(task_id)

    def update_task(self, /, task_id: str | Task, store: str | None = None, **changes: Any) -> Task:
        """Change a task's attributes (all but its id)."""
        task_id = task_id.id if isinstance(task_id, Task) else task_id
        if isinstance(changes.get("trigger"), BaseTrigger):
            changes["trigger"] = anchor_trigger(changes["trigger"], self.clock.now())
        with self._lock:
            task, alias = self.lookup_task(task_id, store)
            task.update_task(**changes, scheduler=self)
            if alias is not None:
                self.lookup_store(alias).update_task(task)
        self.dispatch_event(TaskEvent(code=TASK_MODIFIED, task_id=task_id, store=alias))
        self._wake_if_earlier(task.next_run_time)
        return task

    def reschedule_task(
        self, /, task_id: str | Task, store: str | None = None,
        trigger: BaseTrigger | str | None = None, **trigger_args: Any,
    ) -> Task:  # fmt: skip
        """Give a task a new trigger; its next run time is computed from it."""
        built = self.create_trigger(trigger, trigger_args)  # asyncz's hook
        built, next_time = anchored_first_fire(built, self.timezone, self.clock.now())
        return self.update_task(task_id, store, trigger=built, next_run_time=next_time)

    def pause_task(self, task_id: str | Task, store: str | None = None) -> Task:
        """Stop a task from firing until it is resumed."""
        return self.update_task(task_id, store, next_run_time=None)

    def resume_task(self, task_id: str | Task, store: str | None = None) -> Task | None:
        """Let a paused task fire again from now on; a task with no fire left is deleted."""
        task_id = task_id.id if isinstance(task_id, Task) else task_id
        with self._lock:
            task, alias = self.lookup_task(task_id, store)
            assert task.trigger is not None
            next_time = task.trigger.get_next_trigger_time(self.timezone, None, self.clock.now())
        store = alias or store  # where it was found (None while pending)
        if next_time is None:
            self.delete_task(task_id, store)
            return None
        return self.update_task(task_id, store, next_run_time=next_time)

    def run_task(self, task_id: str | Task, store: str | None = None) -> Task:
        """Run a task now, once, on its executor; its schedule is unchanged."""
        task_id = task_id.id if isinstance(task_id, Task) else task_id
        if not self.running and not self.paused:
            raise SchedulerNotRunningError("run_task() needs a started scheduler")
        with self._lock:
            task, _ = self.lookup_task(task_id, store)
        executor = self.lookup_executor(task.executor or "default")
        executor.send_task(task, [self.clock.now()])
        return task

    def get_tasks(self, store: str | None = None) -> list[Task]:
        """Every task (of one store when given), pending ones included."""
        return self._gather_tasks(store, lambda candidate: candidate.get_all_tasks())

    def _gather_tasks(
        self, store: str | None, read: Callable[[BaseStore], list[Task]]
    ) -> list[Task]:
        """The pending tasks (of ``store`` when given), then what ``read`` gives of each
        store (or of that one)."""
        with self._lock:
            tasks = self._pending.tasks(store)
            for alias, candidate in self._started_stores():
                if store is None or alias == store:
                    tasks.extend(self._adopt(task) for task in read(candidate))
        return tasks

    def _started_stores(self) -> list[tuple[str, BaseStore]]:
        """The stores that have been started: one never started has nothing to read yet (a
        SQL store makes its table at start), and before the first start the tasks are the
        pending ones, as in APScheduler and asyncz."""
        return [
            (alias, store) for alias, store in self.iter_stores() if store.scheduler is not None
        ]

    def _adopt(self, task: Task) -> Task:
        """A task a store handed out, attached to this scheduler so that its own ``pause()``,
        ``update()``... work: stores decode tasks detached (they know no scheduler)."""
        if task.scheduler is None:
            task.attach(self)
        return task

    def get_broken_records(self, store: str | None = None) -> dict[str, dict[str, str]]:
        """Records the stores could not read, ``{store: {task_id: reason}}``. They are kept
        and skipped; ``delete_task(task_id, store)`` removes one on purpose."""
        with self._lock:
            found = {
                alias: candidate.get_broken_records()
                for alias, candidate in self.iter_stores()
                if store is None or alias == store
            }
        return {alias: records for alias, records in found.items() if records}

    def get_task(self, task_id: str, store: str | None = None) -> Task | None:
        """The task with this id, or None."""
        with self._lock:
            try:
                return self.lookup_task(task_id, store)[0]
            except TaskLookupError:
                return None

    def delete_task(self, task_id: str | Task, store: str | None = None) -> None:
        """Remove a task, or a broken record with this id; TaskLookupError when there is none."""
        task_id = task_id.id if isinstance(task_id, Task) else task_id
        with self._lock:
            try:
                task, alias = self.lookup_task(task_id, store)
            except TaskLookupError:
                alias = self._store_with_broken_record(task_id, store)
                self.lookup_store(alias).delete_task(task_id)
                self._emit_task_event(TASK_REMOVED, task_id, alias)
                return
            if alias is None:
                self._pending.discard(task)
            else:
                self.lookup_store(alias).delete_task(task_id)
        self._emit_task_event(TASK_REMOVED, task_id, alias)

    remove_task = delete_task

    def _store_with_broken_record(self, task_id: str, store: str | None) -> str:
        for alias, records in self.get_broken_records(store).items():
            if task_id in records:
                return alias
        raise TaskLookupError(task_id)

    def remove_all_tasks(self, store: str | None = None) -> None:
        """Remove every task (of one store when given)."""
        with self._lock:
            self._pending.clear(store)
            for alias, candidate in self.iter_stores():
                if store is None or alias == store:
                    candidate.remove_all_tasks()
        if self.wants_event(ALL_TASKS_REMOVED):
            self.dispatch_event(TaskEvent(code=ALL_TASKS_REMOVED, alias=store))

    def preview_task_runs(
        self, trigger: BaseTrigger | str, count: int = 5,
        start: datetime | None = None, **trigger_args: Any,
    ) -> list[datetime]:  # fmt: skip
        """The next ``count`` fire times a trigger would give, from ``start`` (default now).

        ``count`` is an int from 0 to 1,000,000; fewer come back when the trigger ends.
        """
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"count must be an int, got count={count!r}")
        check_number(count, "count", maximum=_MAX_PREVIEW)
        built = self._resolve_trigger(trigger, trigger_args)
        now = start or self.clock.now()
        times: list[datetime] = []
        previous = None
        while len(times) < count:
            fire = built.get_next_trigger_time(self.timezone, previous, now)
            if fire is None:
                break
            times.append(fire)
            previous = fire
        return times

    def _emit_task_event(self, code: int, task_id: str, store: str | None) -> None:
        if self._listeners.wants(code):
            self.dispatch_event(TaskEvent(code=code, task_id=task_id, store=store))


def _add_options(
    args: Any = None, kwargs: Any = None, id: str | None = None, name: str | None = None,
    mistrigger_grace_time: Any = UNSET, coalesce: Any = UNSET, max_instances: Any = UNSET,
    next_run_time: Any = UNSET, store: str | None = None, executor: str | None = None,
    replace_existing: bool = False, on_conflict: ConflictPolicy | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The options of add_task other than the function and the trigger, defaults filled in."""
    return {
        "args": args, "kwargs": kwargs, "id": id, "name": name,
        "mistrigger_grace_time": mistrigger_grace_time, "coalesce": coalesce,
        "max_instances": max_instances, "next_run_time": next_run_time, "store": store,
        "executor": executor, "replace_existing": replace_existing, "on_conflict": on_conflict,
    }  # fmt: skip


def _renamed_fn(fn_or_task: Any, fn: Any) -> Any:
    """``add_task(fn=...)``: asyncz's old keyword, still taken, with a DeprecationWarning."""
    if fn_or_task is not None:
        raise TypeError("add_task() got both fn_or_task and fn (its old name)")
    warnings.warn(
        "The parameter 'fn' was renamed to 'fn_or_task'", DeprecationWarning, stacklevel=3
    )
    return fn
