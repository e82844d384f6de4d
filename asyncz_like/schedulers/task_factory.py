"""Tasks built from add_task's arguments: the trigger, the aliases and the defaults checked."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any, Protocol

from asyncz_like.executors.base import BaseExecutor
from asyncz_like.schedulers.config import TaskDefaults
from asyncz_like.schedulers.conflicts import ConflictPolicy
from asyncz_like.schedulers.plugins import Plugins
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks.task import Task
from asyncz_like.tasks.validation import check_next_run_time
from asyncz_like.triggers import build_trigger
from asyncz_like.triggers.base import BaseTrigger


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: Marks an argument that was not given (None is a meaningful value for some of them).
UNSET: Any = _Unset()


class FactoryHost(Protocol):
    """What building a task reads of the scheduler: its ``timezone`` and ``task_defaults``
    (``setup()`` changes them) and its plugins, found through it (asyncz code patches the
    lookups)."""

    timezone: tzinfo

    @property
    def task_defaults(self) -> TaskDefaults: ...
    def lookup_store(self, alias: str) -> BaseStore: ...
    def lookup_executor(self, alias: str) -> BaseExecutor: ...


class TaskFactory:
    """Builds the Task of an add_task call, or of an item of add_tasks."""

    def __init__(self, host: FactoryHost, plugins: Plugins) -> None:
        self.host = host
        self.plugins = plugins

    def build_spec(self, item: Task | Mapping[str, Any], policy: ConflictPolicy) -> Task:
        if isinstance(item, Task):
            return self.build_given(item, None, {}, add_options(on_conflict=policy))
        if not isinstance(item, Mapping):
            raise TypeError(f"add_tasks() takes Task objects or dicts, got {item!r}")
        spec = dict(item)
        fn, trigger = spec.pop("fn", None), spec.pop("trigger", None)
        if fn is None:
            raise TypeError("add_tasks(): a dict needs 'fn' (a callable or 'module:qualname')")
        option_names = set(add_options())
        options = add_options(
            on_conflict=policy, **{k: spec.pop(k) for k in list(spec) if k in option_names}
        )
        if isinstance(fn, Task):
            return self.build_given(fn, trigger, spec, options)
        del options["replace_existing"], options["on_conflict"]
        task = self.new_task(fn, trigger, spec, **options)
        self.host.lookup_store(task.store_alias or "default").validate_task(task)
        return task

    def new_task(
        self,
        fn: Any,
        trigger: Any,
        trigger_args: dict[str, Any],
        args: Any,
        kwargs: Any,
        id: str | None,
        name: str | None,
        mistrigger_grace_time: Any,
        coalesce: Any,
        max_instances: Any,
        next_run_time: Any,
        store: str | None,
        executor: str | None,
    ) -> Task:
        """A new task from add_task's arguments, the scheduler's task_defaults filling in
        what is not given. Checks: the trigger, the executor and store aliases, then Task()'s;
        not yet whether the store can keep it (``validate_task``)."""
        if trigger.__class__ is str:  # the usual case, without resolve_trigger's call
            built_trigger = build_trigger(trigger, trigger_args)
        else:
            built_trigger = self.resolve_trigger(trigger, trigger_args)
        executor = "default" if executor is None else executor
        store = "default" if store is None else store
        if executor not in self.plugins.executors:
            self.host.lookup_executor(executor)  # raises UnknownAliasError
        if store not in self.plugins.stores:
            self.host.lookup_store(store)  # raises UnknownAliasError
        defaults = self.host.task_defaults
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
            fn,
            built_trigger,
            id,
            name,
            args,
            kwargs,
            executor,
            store,
            coalesce,
            mistrigger_grace_time,
            max_instances,
            self._next_run_time(next_run_time),
        )

    def build_given(
        self, given: Task, trigger: Any, trigger_args: dict[str, Any], options: dict[str, Any]
    ) -> Task:
        """A Task object given to add_task, with the options (and trigger) given with it."""
        built_trigger = self.resolve_trigger(trigger, trigger_args)
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
        self.host.lookup_executor(settings["executor"])
        store = self.host.lookup_store(settings["store_alias"])
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
        if options["max_instances"] not in (UNSET, None):
            settings["max_instances"] = options["max_instances"]
        if options["next_run_time"] not in (UNSET, None):
            settings["next_run_time"] = self._next_run_time(options["next_run_time"])
        if options["store"] is not None:
            settings["store_alias"] = options["store"]
        if options["next_run_time"] is None:
            settings["next_run_time"] = None
        if options["mistrigger_grace_time"] is None:
            settings["mistrigger_grace_time"] = None
        elif trigger is not None and trigger.allow_mistrigger_by_default:
            settings.setdefault("mistrigger_grace_time", None)
        defaults = self.host.task_defaults
        for key in ("coalesce", "max_instances", "mistrigger_grace_time"):
            if key not in settings and getattr(given, key) is None:
                settings[key] = getattr(defaults, key)
        settings.setdefault("executor", given.executor or "default")
        settings.setdefault("store_alias", given.store_alias or "default")
        return settings

    def _next_run_time(self, value: Any) -> Any:
        """A ``next_run_time`` given to add_task: a naive one (a datetime or a string) is
        read in the scheduler's zone, as update_task and asyncz read it."""
        if value is UNSET or value is None:
            return None
        return check_next_run_time(value, self.host.timezone)

    def resolve_trigger(self, trigger: Any, trigger_args: dict[str, Any]) -> BaseTrigger:
        """A trigger from an alias (None: ``"date"``), class, config or instance."""
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


def add_options(
    args: Any = None,
    kwargs: Any = None,
    id: str | None = None,
    name: str | None = None,
    mistrigger_grace_time: Any = UNSET,
    coalesce: Any = UNSET,
    max_instances: Any = UNSET,
    next_run_time: Any = UNSET,
    store: str | None = None,
    executor: str | None = None,
    replace_existing: bool = False,
    on_conflict: ConflictPolicy | None = None,
) -> dict[str, Any]:
    """The options of add_task other than the function and the trigger, defaults filled in."""
    return {
        "args": args,
        "kwargs": kwargs,
        "id": id,
        "name": name,
        "mistrigger_grace_time": mistrigger_grace_time,
        "coalesce": coalesce,
        "max_instances": max_instances,
        "next_run_time": next_run_time,
        "store": store,
        "executor": executor,
        "replace_existing": replace_existing,
        "on_conflict": on_conflict,
    }


def renamed_fn(fn_or_task: Any, fn: Any) -> Any:
    """``add_task(fn=...)``: asyncz's old keyword, still taken, with a DeprecationWarning."""
    if fn_or_task is not None:
        raise TypeError("add_task() got both fn_or_task and fn (its old name)")
    warnings.warn(
        "The parameter 'fn' was renamed to 'fn_or_task'", DeprecationWarning, stacklevel=3
    )
    return fn
