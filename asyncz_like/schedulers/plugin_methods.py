"""The scheduler's stores, executors and listeners: each method hands on to a collaborator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from asyncz_like.events.base import SchedulerEvent, TaskEvent
from asyncz_like.events.constants import ALL_EVENTS
from asyncz_like.events.dispatcher import EventDispatcher, Listener
from asyncz_like.executors import EXECUTORS, BaseExecutor
from asyncz_like.schedulers.plugins import Plugins
from asyncz_like.stores import STORES, BaseStore


class PluginMethods:
    """Stores and executors by alias, listeners and events (no state of its own: the
    scheduler's ``__init__`` makes :class:`Plugins` and the :class:`EventDispatcher`)."""

    #: The executor made when none is configured.
    default_executor_alias = "threadpool"

    _plugins: Plugins
    #: The listeners (``listeners = [...]`` puts another dispatcher in place).
    dispatcher: EventDispatcher
    identity: str

    def create_default_executor(self) -> BaseExecutor:
        """The executor made when none is configured (asyncz code overrides it)."""
        return EXECUTORS.create(self.default_executor_alias)

    def create_default_store(self) -> BaseStore:
        """The store made when none is configured (asyncz code overrides it)."""
        return STORES.create("memory")

    def iter_stores(self) -> Iterator[tuple[str, BaseStore]]:
        return iter(self._plugins.store_items)

    def stores_do_io(self) -> bool:
        """Whether any store does I/O (files, a database): then work with the stores is kept
        off an event loop's thread."""
        return self._plugins.any_store_io

    def store_guard(self, store: BaseStore) -> AbstractContextManager[object]:
        """The lock a pass holds while it works ``store`` (see :meth:`Plugins.store_guard`)."""
        return self._plugins.store_guard(store)

    def lookup_store(self, alias: str) -> BaseStore:
        return self._plugins.lookup_store(alias)

    def lookup_executor(self, alias: str) -> BaseExecutor:
        return self._plugins.lookup_executor(alias)

    def add_store(self, store: BaseStore | Mapping[str, Any], alias: str = "default") -> None:
        """Add a store (an instance or a ``{"type": ...}`` dict) under ``alias``."""
        self._plugins.add_store(store, alias)

    def remove_store(self, alias: str, shutdown: bool = True) -> None:
        self._plugins.remove_store(alias, shutdown)

    def add_executor(
        self, executor: BaseExecutor | Mapping[str, Any], alias: str = "default"
    ) -> None:
        """Add an executor (an instance or a ``{"type": ...}`` dict) under ``alias``."""
        self._plugins.add_executor(executor, alias)

    def remove_executor(self, alias: str, shutdown: bool = True) -> None:
        self._plugins.remove_executor(alias, shutdown)

    def add_listener(self, callback: Listener, mask: int = ALL_EVENTS) -> None:
        """Call ``callback(event)`` for every event whose code is in ``mask``."""
        self.dispatcher.add(callback, mask)

    def remove_listener(self, callback: Listener) -> None:
        self.dispatcher.remove(callback)

    def wants_event(self, code: int) -> bool:
        return self.dispatcher.wants(code)

    def dispatch_event(self, event: SchedulerEvent) -> None:
        """Hand ``event`` to the listeners that want it; a task event first gets this
        scheduler's ``identity`` (as asyncz's)."""
        if isinstance(event, TaskEvent) and event.scheduler_identity is None:
            event.scheduler_identity = self.identity
        self.dispatcher.dispatch(event)

    def emit(self, code: int, alias: str | None = None) -> None:
        """Send a scheduler event of ``code`` when a listener wants it."""
        if self.dispatcher.wants(code):
            self.dispatcher.dispatch(SchedulerEvent(code=code, alias=alias))
