"""Scheduler attributes and methods that asyncz's own plugins and framework glue use.

Each delegates to the scheduler's own machinery: ``scheduler.stores`` and ``executors`` are live
views of its tables, ``listeners`` of its event dispatcher, ``create_trigger`` looks aliases up
in ``trigger_classes`` / ``trigger_plugins`` (asyncz's tables, filled with our triggers).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, NoReturn, TypeVar

from asyncz_like.enums import TaskScheduleState
from asyncz_like.events.base import SchedulerEvent, TaskEvent
from asyncz_like.events.dispatcher import EventDispatcher, Listener
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.schedulers import defaults
from asyncz_like.schedulers.task_api import TaskAPI
from asyncz_like.schedulers.task_infos import task_infos
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks.task import TaskSnapshot
from asyncz_like.triggers import build_trigger
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import ref_to_obj

__all__ = ["AsynczSchedulerAPI", "PluginTable"]

P = TypeVar("P", BaseStore, BaseExecutor)


class PluginTable(MutableMapping[str, P]):
    """A live view of a scheduler's stores or executors by alias (asyncz's dicts). Setting
    or deleting an entry changes the scheduler's table as is: the plugin is neither started
    nor stopped (``add_store`` / ``remove_store`` do that)."""

    def __init__(self, scheduler: AsynczSchedulerAPI, attribute: str) -> None:
        self._scheduler = scheduler
        self._attribute = attribute

    def _table(self) -> dict[str, P]:
        table: dict[str, P] = getattr(self._scheduler, self._attribute)
        return table

    def __getitem__(self, alias: str) -> P:
        return self._table()[alias]

    def __setitem__(self, alias: str, plugin: P) -> None:
        with self._scheduler._lock:
            self._scheduler._replace_table(self._attribute, {**self._table(), alias: plugin})

    def __delitem__(self, alias: str) -> None:
        with self._scheduler._lock:
            table = dict(self._table())
            del table[alias]
            self._scheduler._replace_table(self._attribute, table)

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return repr(self._table())


class AsynczSchedulerAPI(TaskAPI):
    """asyncz's scheduler extension API: ``stores``, ``executors``, ``listeners``,
    ``trigger_plugins`` / ``trigger_classes``, ``create_trigger``, ``resolve_load_plugin``,
    ``create_default_store``, ``create_lock``, ``lookup_task``, ``_setup``."""

    def __getstate__(self) -> NoReturn:
        raise TypeError(
            "Schedulers cannot be serialized. Ensure that you are not passing a scheduler "
            "instance as an argument to a task, or scheduling an instance method where the "
            "instance holds a scheduler."
        )

    # -- the plugin tables ------------------------------------------------------------------

    @property
    def stores(self) -> PluginTable[BaseStore]:
        """The stores by alias (a live view)."""
        return PluginTable(self, "_stores")

    @stores.setter
    def stores(self, stores: Mapping[str, BaseStore]) -> None:
        with self._lock:
            self._replace_table("_stores", dict(stores))

    @property
    def executors(self) -> PluginTable[BaseExecutor]:
        """The executors by alias (a live view)."""
        return PluginTable(self, "_executors")

    @executors.setter
    def executors(self, executors: Mapping[str, BaseExecutor]) -> None:
        with self._lock:
            self._replace_table("_executors", dict(executors))

    def _replace_table(self, attribute: str, table: dict[str, Any]) -> None:
        """Put a new table of stores or executors in place (the lock held); a pass that
        iterates the old one finishes with it."""
        setattr(self, attribute, table)
        self._stores_changed()

    @property
    def listeners(self) -> list[tuple[Listener, int]]:
        """The listeners as ``(callback, mask)`` pairs; assigning a list replaces them."""
        return list(self._listeners.listeners())

    @listeners.setter
    def listeners(self, listeners: list[tuple[Listener, int]]) -> None:
        dispatcher = EventDispatcher(self._listeners.logger)
        for callback, mask in listeners:
            dispatcher.add(callback, mask)
        self._listeners = dispatcher

    def dispatch_event(self, event: SchedulerEvent) -> None:
        """Hand ``event`` to the listeners that want it; a task event first gets this
        scheduler's ``identity`` (as asyncz's)."""
        if isinstance(event, TaskEvent) and event.scheduler_identity is None:
            event.scheduler_identity = self.identity
        super().dispatch_event(event)

    # -- plugins by alias -------------------------------------------------------------------

    @property
    def trigger_plugins(self) -> dict[str, Any]:
        """Trigger aliases and the ``module:Class`` references they load (asyncz's table)."""
        table: dict[str, Any] = self._asyncz_table("_trigger_plugins", dict(defaults.triggers))
        return table

    @trigger_plugins.setter
    def trigger_plugins(self, plugins: dict[str, Any]) -> None:
        self._trigger_plugins = plugins

    @property
    def trigger_classes(self) -> dict[str, type[BaseTrigger]]:
        """Trigger classes already loaded, by alias; looked up before ``trigger_plugins``."""
        table: dict[str, type[BaseTrigger]] = self._asyncz_table("_trigger_classes", {})
        return table

    @trigger_classes.setter
    def trigger_classes(self, classes: dict[str, type[BaseTrigger]]) -> None:
        self._trigger_classes = classes

    def _asyncz_table(self, attribute: str, initial: dict[str, Any]) -> Any:
        table = self.__dict__.get(attribute)
        if table is None:
            table = self.__dict__[attribute] = initial
        return table

    def create_trigger(
        self,
        trigger: str | BaseTrigger | type[BaseTrigger] | Mapping[str, Any] | None,
        trigger_args: Mapping[str, Any],
    ) -> BaseTrigger:
        """A trigger from an alias (None: ``"date"``), a class or an instance, as asyncz builds
        one: a trigger that takes a ``timezone`` and is not given one gets this scheduler's."""
        if isinstance(trigger, BaseTrigger | Mapping):  # an instance, or a {"type": ...} config
            return build_trigger(trigger, trigger_args)
        if trigger is None:
            trigger = "date"
        if isinstance(trigger, str):
            cls = self._trigger_class(trigger)
        elif isinstance(trigger, type) and issubclass(trigger, BaseTrigger):
            cls = trigger
        else:
            raise TypeError(
                f"Expected a trigger instance or string, got {type(trigger).__name__!r} instead."
            )
        options = dict(trigger_args)
        if "timezone" not in options and _takes_timezone(cls):
            options["timezone"] = self.timezone
        return build_trigger(cls, options)

    def _trigger_class(self, alias: str) -> type[BaseTrigger]:
        """The class of a trigger alias: loaded already, or loaded from ``trigger_plugins``."""
        from asyncz_like.triggers import TRIGGERS

        cls = self.trigger_classes.get(alias)
        if cls is not None:
            return cls
        if alias not in self.trigger_plugins:
            return TRIGGERS.get(alias)  # UnknownAliasError (a LookupError) naming the known
        loaded = self.resolve_load_plugin(self.trigger_plugins[alias])
        if not (isinstance(loaded, type) and issubclass(loaded, BaseTrigger)):
            raise TypeError("The trigger entry point does not point to a trigger class.")
        self.trigger_classes[alias] = loaded
        return loaded

    @staticmethod
    def resolve_load_plugin(reference: str) -> Any:
        """The object a ``module:Class`` reference names (asyncz's plugin loader)."""
        return ref_to_obj(reference)

    def create_lock(self) -> threading.RLock:
        """A reentrant lock (asyncz's factory of the scheduler's locks)."""
        return threading.RLock()

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


def _takes_timezone(cls: type[BaseTrigger]) -> bool:
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
    return "timezone" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
