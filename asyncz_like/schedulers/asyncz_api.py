"""Scheduler attributes and methods that asyncz's own plugins and framework glue use.

Each hands on to the scheduler's collaborators: ``scheduler.stores`` and ``executors`` are
live views of its plugin tables, ``listeners`` of its event dispatcher, ``create_trigger``
looks aliases up in ``trigger_classes`` / ``trigger_plugins`` (asyncz's tables, filled with
our triggers).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, MutableMapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

from asyncz_like.clock import Clock
from asyncz_like.enums import SchedulerState
from asyncz_like.events.dispatcher import EventDispatcher, Listener
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.schedulers.inspection import (
    SchedulerInfo,
    SchedulerInstanceInfo,
    instance_info,
    scheduler_info,
)
from asyncz_like.schedulers.loop import SchedulerLoop
from asyncz_like.schedulers.plugins import Plugins
from asyncz_like.schedulers.task_registry import TaskRegistry
from asyncz_like.schedulers.trigger_tables import TriggerTables
from asyncz_like.stores.base import BaseStore
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import ref_to_obj

__all__ = ["AsynczMethods", "PluginTable"]

P = TypeVar("P", BaseStore, BaseExecutor)
Kind = Literal["stores", "executors"]


class PluginTable(MutableMapping[str, P]):
    """A live view of a scheduler's stores or executors by alias (asyncz's dicts). Setting
    or deleting an entry changes the scheduler's table as is: the plugin is neither started
    nor stopped (``add_store`` / ``remove_store`` do that)."""

    def __init__(self, plugins: Plugins, kind: Kind) -> None:
        self._plugins = plugins
        self._kind = kind

    def _table(self) -> dict[str, P]:
        table: dict[str, P] = getattr(self._plugins, self._kind)
        return table

    def __getitem__(self, alias: str) -> P:
        return self._table()[alias]

    def __setitem__(self, alias: str, plugin: P) -> None:
        with self._plugins.lock:
            self._plugins.replace_table(self._kind, {**self._table(), alias: plugin})

    def __delitem__(self, alias: str) -> None:
        with self._plugins.lock:
            table = dict(self._table())
            del table[alias]
            self._plugins.replace_table(self._kind, table)

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return repr(self._table())


class AsynczMethods:
    """asyncz's scheduler extension API: ``stores``, ``executors``, ``listeners``,
    ``trigger_plugins`` / ``trigger_classes``, ``create_trigger``, ``resolve_load_plugin``,
    ``create_lock``; and its snapshots, ``get_scheduler_info`` and
    ``get_scheduler_instance_infos`` (no state of its own)."""

    #: Reported as ``stale_after_seconds`` (asyncz's default); an instance of this process
    #: is stale only once it has stopped.
    heartbeat_stale_after: float = 30.0

    _plugins: Plugins
    _triggers: TriggerTables
    _task_registry: TaskRegistry
    _loop: SchedulerLoop
    dispatcher: EventDispatcher
    timezone: tzinfo
    identity: str
    state: SchedulerState
    clock: Clock

    if TYPE_CHECKING:  # the scheduler's: the wait after a failed pass

        @property
        def failed_pass_wait(self) -> float: ...

    @property
    def started_at(self) -> datetime | None:
        """When the scheduler started, in its zone (None while it is stopped)."""
        started = self._loop.started_at
        if started is None or self.state == SchedulerState.STATE_STOPPED:
            return None
        return started.astimezone(self.timezone)

    def get_scheduler_info(self) -> SchedulerInfo:
        """The scheduler now: its state, since when, its plugins and how many tasks it has
        scheduled, paused or pending (every store is read)."""
        return scheduler_info(
            self.identity,
            SchedulerState(self.state),
            self.started_at,
            self.clock.now(),
            str(self.timezone),
            self._plugins.executors,
            self._plugins.stores,
            self._task_registry.get_all(None),
            self.failed_pass_wait,
        )

    def get_scheduler_instance_infos(self) -> tuple[SchedulerInstanceInfo, ...]:
        """The scheduler instances known: this process's one, seen now (asyncz keeps no
        registry of other processes' schedulers either)."""
        info = self.get_scheduler_info()
        now = self.clock.now().astimezone(self.timezone)
        return (instance_info(info, now, self.heartbeat_stale_after),)

    def __getstate__(self) -> NoReturn:
        raise TypeError(
            "Schedulers cannot be serialized. Ensure that you are not passing a scheduler "
            "instance as an argument to a task, or scheduling an instance method where the "
            "instance holds a scheduler."
        )

    @property
    def stores(self) -> PluginTable[BaseStore]:
        """The stores by alias (a live view)."""
        return PluginTable(self._plugins, "stores")

    @stores.setter
    def stores(self, stores: Mapping[str, BaseStore]) -> None:
        with self._plugins.lock:
            self._plugins.replace_table("stores", dict(stores))

    @property
    def executors(self) -> PluginTable[BaseExecutor]:
        """The executors by alias (a live view)."""
        return PluginTable(self._plugins, "executors")

    @executors.setter
    def executors(self, executors: Mapping[str, BaseExecutor]) -> None:
        with self._plugins.lock:
            self._plugins.replace_table("executors", dict(executors))

    @property
    def listeners(self) -> list[tuple[Listener, int]]:
        """The listeners as ``(callback, mask)`` pairs; assigning a list replaces them."""
        return list(self.dispatcher.listeners())

    @listeners.setter
    def listeners(self, listeners: list[tuple[Listener, int]]) -> None:
        dispatcher = EventDispatcher(self.dispatcher.logger)
        for callback, mask in listeners:
            dispatcher.add(callback, mask)
        self.dispatcher = dispatcher

    @property
    def trigger_plugins(self) -> dict[str, Any]:
        """Trigger aliases and the ``module:Class`` references they load (asyncz's table)."""
        return self._triggers.plugins

    @trigger_plugins.setter
    def trigger_plugins(self, plugins: dict[str, Any]) -> None:
        self._triggers.plugins = plugins

    @property
    def trigger_classes(self) -> dict[str, type[BaseTrigger]]:
        """Trigger classes already loaded, by alias; looked up before ``trigger_plugins``."""
        return self._triggers.classes

    @trigger_classes.setter
    def trigger_classes(self, classes: dict[str, type[BaseTrigger]]) -> None:
        self._triggers.classes = classes

    def create_trigger(
        self,
        trigger: str | BaseTrigger | type[BaseTrigger] | Mapping[str, Any] | None,
        trigger_args: Mapping[str, Any],
    ) -> BaseTrigger:
        """A trigger from an alias (None: ``"date"``), a class or an instance, as asyncz builds
        one: a trigger that takes a ``timezone`` and is not given one gets this scheduler's."""
        return self._triggers.create(trigger, trigger_args, self.timezone, self.resolve_load_plugin)

    @staticmethod
    def resolve_load_plugin(reference: str) -> Any:
        """The object a ``module:Class`` reference names (asyncz's plugin loader)."""
        return ref_to_obj(reference)

    def create_lock(self) -> threading.RLock:
        """A reentrant lock (asyncz's factory of the scheduler's locks)."""
        return threading.RLock()
