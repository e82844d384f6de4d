"""The scheduler's stores and executors, by alias: built from config, added, removed, found."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from asyncz_like.events.constants import (
    EXECUTOR_ADDED,
    EXECUTOR_REMOVED,
    STORE_ADDED,
    STORE_REMOVED,
)
from asyncz_like.exceptions import UnknownAliasError
from asyncz_like.executors import EXECUTORS, BaseExecutor
from asyncz_like.executors.base import ExecutorScheduler
from asyncz_like.stores import STORES, BaseStore
from asyncz_like.stores.base import StoreScheduler


class PluginHost(ExecutorScheduler, StoreScheduler, Protocol):
    """What the plugin tables need of the scheduler: it starts the plugins added while it
    runs, makes the defaults (asyncz's overridable factories) and hears of changes."""

    @property
    def running(self) -> bool: ...
    @property
    def stopped(self) -> bool: ...
    def create_default_store(self) -> BaseStore: ...
    def create_default_executor(self) -> BaseExecutor: ...
    def emit(self, code: int, alias: str | None = None) -> None: ...
    def wakeup(self) -> None: ...


class Plugins:
    """The stores and executors of one scheduler, by alias.

    ``stores`` and ``executors`` are replaced whole, never changed in place, so that a pass
    iterating ``store_items`` (a snapshot) is not disturbed by an add or a removal.
    """

    def __init__(self, host: PluginHost, lock: threading.RLock) -> None:
        self.host = host
        self.lock = lock
        self.stores: dict[str, BaseStore] = {}
        self.executors: dict[str, BaseExecutor] = {}
        #: What a pass iterates, and whether any store does I/O (read on every pass).
        self.store_items: tuple[tuple[str, BaseStore], ...] = ()
        self.any_store_io = False
        #: The defaults made here, not given: a "default" given later replaces one, and start
        #: announces them (STORE_ADDED, EXECUTOR_ADDED) as asyncz, which makes them at start.
        self.implicit_defaults: set[str] = set()
        #: Makes an executor for an alias not configured (a broker queue's), or None.
        self.make_missing: Callable[[str], BaseExecutor | None] | None = None

    def configure(self, stores: Mapping[str, Any], executors: Mapping[str, Any]) -> None:
        """Build the stores and executors of a config (instances or ``{"type": ...}`` dicts)."""
        built_stores = {
            alias: STORES.build(value, f"stores[{alias!r}]") for alias, value in stores.items()
        }
        built_executors = {
            alias: EXECUTORS.build(value, f"executors[{alias!r}]")
            for alias, value in executors.items()
        }
        self.stores, self.executors = built_stores, built_executors
        self.implicit_defaults = set()
        self.ensure_defaults()

    def ensure_defaults(self) -> None:
        """Give the scheduler a default store and executor when it has none."""
        if "default" not in self.stores:
            self.stores = {**self.stores, "default": self.host.create_default_store()}
            self.implicit_defaults.add("store")
        if "default" not in self.executors:
            self.executors = {**self.executors, "default": self.host.create_default_executor()}
            self.implicit_defaults.add("executor")
        self.stores_changed()

    def announce_defaults(self) -> None:
        """At start: emit the adding of the defaults the scheduler made itself."""
        implicit, self.implicit_defaults = self.implicit_defaults, set()
        if "executor" in implicit:
            self.host.emit(EXECUTOR_ADDED, "default")
        if "store" in implicit:
            self.host.emit(STORE_ADDED, "default")

    def stores_changed(self) -> None:
        """Keep what every pass reads of the stores in step with ``stores``."""
        self.store_items = tuple(self.stores.items())
        # getattr: asyncz code may put any object in ``scheduler.stores``
        self.any_store_io = any(getattr(store, "does_io", False) for store in self.stores.values())

    def replace_table(self, kind: str, table: dict[str, Any]) -> None:
        """Put a new table of ``"stores"`` or ``"executors"`` in place (the lock held)."""
        if kind == "stores":
            self.stores = table
        else:
            self.executors = table
        self.stores_changed()

    def iter_stores(self) -> Iterator[tuple[str, BaseStore]]:
        return iter(self.store_items)

    def store_guard(self, store: BaseStore) -> AbstractContextManager[object]:
        """The lock a pass holds while it works ``store``: the scheduler's own for in-process
        stores, none for stores that do I/O (they are thread-safe, and an API call must not
        wait behind a slow database)."""
        return nullcontext() if store.does_io else self.lock

    def lookup_store(self, alias: str) -> BaseStore:
        try:
            return self.stores[alias]
        except KeyError:
            raise UnknownAliasError("store", alias, self.stores) from None

    def lookup_executor(self, alias: str) -> BaseExecutor:
        try:
            return self.executors[alias]
        except KeyError:
            made = self.make_missing(alias) if self.make_missing is not None else None
            if made is None:
                raise UnknownAliasError("executor", alias, self.executors) from None
        with self.lock:  # an executor made on demand (a broker queue's): added once
            if alias not in self.executors:
                if not self.host.stopped:
                    made.start(self.host, alias)
                self.executors = {**self.executors, alias: made}
            return self.executors[alias]

    def add_store(self, store: BaseStore | Mapping[str, Any], alias: str) -> None:
        built = STORES.build(store, "store")
        with self.lock:
            if alias in self.stores and not self._replaces_implicit("store", alias):
                raise ValueError(
                    f"This scheduler already has a task store by the alias of {alias!r}."
                )
            if not self.host.stopped:
                built.start(self.host, alias)
            self.stores = {**self.stores, alias: built}
            self.stores_changed()
        self.host.emit(STORE_ADDED, alias)
        if self.host.running:
            self.host.wakeup()

    def remove_store(self, alias: str, shutdown: bool) -> None:
        with self.lock:
            store = self.lookup_store(alias)
            self.stores = {key: value for key, value in self.stores.items() if key != alias}
            self.stores_changed()
        if shutdown:
            store.shutdown()
        self.host.emit(STORE_REMOVED, alias)

    def add_executor(self, executor: BaseExecutor | Mapping[str, Any], alias: str) -> None:
        built = EXECUTORS.build(executor, "executor")
        with self.lock:
            if alias in self.executors and not self._replaces_implicit("executor", alias):
                raise ValueError(
                    f"This scheduler already has an executor by the alias of {alias!r}."
                )
            if not self.host.stopped:
                built.start(self.host, alias)
            self.executors = {**self.executors, alias: built}
        self.host.emit(EXECUTOR_ADDED, alias)

    def remove_executor(self, alias: str, shutdown: bool) -> None:
        with self.lock:
            executor = self.lookup_executor(alias)
            self.executors = {key: value for key, value in self.executors.items() if key != alias}
        if shutdown:
            executor.shutdown()
        self.host.emit(EXECUTOR_REMOVED, alias)

    def _replaces_implicit(self, kind: str, alias: str) -> bool:
        """Whether adding ``alias`` replaces the default the scheduler made (not started)."""
        if alias != "default" or kind not in self.implicit_defaults:
            return False
        self.implicit_defaults.discard(kind)
        return True
