"""What every scheduler part stands on: settings, stores, executors, listeners, state."""

from __future__ import annotations

import logging
import math
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from asyncz_like.clock import Clock, SystemClock
from asyncz_like.enums import SchedulerState
from asyncz_like.events.base import SchedulerEvent
from asyncz_like.events.constants import (
    ALL_EVENTS,
    EXECUTOR_ADDED,
    EXECUTOR_REMOVED,
    STORE_ADDED,
    STORE_REMOVED,
)
from asyncz_like.events.dispatcher import EventDispatcher, Listener
from asyncz_like.exceptions import SchedulerAlreadyRunningError, UnknownAliasError
from asyncz_like.executors import EXECUTORS, BaseExecutor
from asyncz_like.executors.runner import FireRecorder
from asyncz_like.schedulers.config import (
    SCHEDULER_OPTIONS,
    TaskDefaults,
    options_from_global_config,
    wait_option,
)
from asyncz_like.schedulers.loggers import ClassicLogging, build_loggers
from asyncz_like.schedulers.pending import PendingTasks
from asyncz_like.schedulers.run_slots import RunSlots
from asyncz_like.stores import STORES, BaseStore
from asyncz_like.tasks.task import Task
from asyncz_like.triggers import first_fire_and_anchor, interval_anchor
from asyncz_like.utils import as_positive_int, get_local_timezone, to_timezone

# Module globals: reading a member through its class is several times slower, and the state
# is read on every add.
_RUNNING = SchedulerState.STATE_RUNNING
_PAUSED = SchedulerState.STATE_PAUSED


class SchedulerCore(ABC):
    """Settings, stores, executors, listeners and state: what the task and run APIs and the
    loop stand on."""

    #: Most due tasks one pass dispatches; an event loop is held for one pass at a time.
    default_batch_size = 512

    #: Seconds ahead of their run time that a pass over stores that do I/O claims fires: the
    #: claim's round trips are done by then, and the executor starts each fire on time.
    default_claim_ahead = 0.05

    #: The executor made when none is configured.
    default_executor_alias = "threadpool"
    #: Makes a run record of each fire (set by the run API; None: no records).
    fire_recorder: FireRecorder | None = None

    def __init__(self, global_config: Mapping[str, Any] | None = None, **options: Any) -> None:
        self._lock = threading.RLock()
        self._refs = 0
        self.state = SchedulerState.STATE_STOPPED
        self._pending = PendingTasks()
        self._stores: dict[str, BaseStore] = {}
        self._store_items: tuple[tuple[str, BaseStore], ...] = ()  # what a pass iterates
        self._any_store_io = False
        self._executors: dict[str, BaseExecutor] = {}
        self._listeners = EventDispatcher(logging.getLogger("asyncz_like.schedulers"))
        self.run_slots = RunSlots(lambda: self.clock.now())
        self.setup(global_config, **options)

    # -- configuration ----------------------------------------------------------------------

    def setup(
        self, global_config: Mapping[str, Any] | None = None, prefix: str = "asyncz_like.",
        **options: Any,
    ) -> None:  # fmt: skip
        """Configure from keyword options and/or ``prefix``-ed keys of ``global_config``."""
        if self.state != SchedulerState.STATE_STOPPED:
            raise SchedulerAlreadyRunningError()
        given = {key: value for key, value in options.items() if value is not None}
        self._setup({**options_from_global_config(global_config, prefix), **given})

    def _setup(self, merged: Mapping[str, Any]) -> None:
        """Apply the merged options (asyncz's name: its code overrides or calls it)."""
        unknown = set(merged) - SCHEDULER_OPTIONS - self._extra_options()
        if unknown:
            raise TypeError(f"Unknown scheduler option(s): {', '.join(sorted(unknown))}")
        self.identity = str(
            merged.get("identity") or getattr(self, "identity", None)
            or f"{type(self).__name__}-{uuid.uuid4().hex[:12]}"
        )  # fmt: skip
        self.logger_name: str = _logger_name(merged.get("logger_name"))
        self.loggers = build_loggers(merged.get("loggers_class"), self._default_loggers_class())
        self.logger = self.loggers[self.logger_name]
        self.timezone = to_timezone(merged.get("timezone")) or get_local_timezone()
        self.clock: Clock = merged.get("clock") or SystemClock()
        self.lock_path: str | None = merged.get("lock_path")
        self.task_defaults = TaskDefaults.from_mapping(merged.get("task_defaults") or {})
        self.max_wait = wait_option(merged.get("max_wait", 30.0), "max_wait")
        self.lock_retry_interval = wait_option(
            merged.get("lock_retry_interval", 1.0), "lock_retry_interval"
        )
        self.batch_size = as_positive_int(
            merged.get("batch_size", self.default_batch_size), "batch_size"
        )
        self.claim_ahead = _claim_ahead(merged.get("claim_ahead", self.default_claim_ahead))
        self._configure_plugins(merged.get("stores") or {}, merged.get("executors") or {})
        self._configure_runs(merged)
        self._configure_extra(merged)

    def _default_loggers_class(self) -> Any:
        """The loggers class used when ``loggers_class`` is not given."""
        return ClassicLogging

    def _extra_options(self) -> frozenset[str]:
        """Options a subclass accepts besides the common ones."""
        return frozenset()

    def _configure_extra(self, options: Mapping[str, Any]) -> None:  # noqa: B027  # optional hook
        """Subclass hook to read its own options."""

    def _configure_runs(self, options: Mapping[str, Any]) -> None:  # noqa: B027  # optional hook
        """Hook of the run API: read the run options (history, limits)."""

    def executor_failed(self, task_id: str, error: BaseException | None) -> None:  # noqa: B027
        """Hook of the run API: an executor could not run what it was given."""

    def _configure_plugins(self, stores: Mapping[str, Any], executors: Mapping[str, Any]) -> None:
        built_stores = {
            alias: STORES.build(value, f"stores[{alias!r}]") for alias, value in stores.items()
        }
        built_executors = {
            alias: EXECUTORS.build(value, f"executors[{alias!r}]")
            for alias, value in executors.items()
        }
        self._stores, self._executors = built_stores, built_executors
        #: The defaults made here, not given: a "default" given later replaces one, and start
        #: announces them (STORE_ADDED, EXECUTOR_ADDED) as asyncz, which makes them at start.
        self._implicit_defaults: set[str] = set()
        self._ensure_defaults()

    def _ensure_defaults(self) -> None:
        """Give the scheduler a default store and executor when it has none."""
        if "default" not in self._stores:
            self._stores = {**self._stores, "default": self.create_default_store()}
            self._implicit_defaults.add("store")
        if "default" not in self._executors:
            self._executors = {**self._executors, "default": self.create_default_executor()}
            self._implicit_defaults.add("executor")
        self._stores_changed()

    def _announce_defaults(self) -> None:
        """At start: emit the adding of the defaults the scheduler made itself."""
        implicit, self._implicit_defaults = self._implicit_defaults, set()
        if "executor" in implicit:
            self._emit(EXECUTOR_ADDED, "default")
        if "store" in implicit:
            self._emit(STORE_ADDED, "default")

    def create_default_executor(self) -> BaseExecutor:
        return EXECUTORS.create(self.default_executor_alias)

    def create_default_store(self) -> BaseStore:
        return STORES.create("memory")

    # -- plugins ----------------------------------------------------------------------------

    def iter_stores(self) -> Iterator[tuple[str, BaseStore]]:
        return iter(self._store_items)

    def stores_do_io(self) -> bool:
        """Whether any store does I/O (files, a database): then work with the stores is kept
        off an event loop's thread."""
        return self._any_store_io

    def _stores_changed(self) -> None:
        """Keep what every pass reads of the stores (a snapshot: a store added or removed
        meanwhile does not change a pass's iteration) in step with ``_stores``."""
        self._store_items = tuple(self._stores.items())
        # getattr: asyncz code may put any object in ``scheduler.stores``
        self._any_store_io = any(
            getattr(store, "does_io", False) for store in self._stores.values()
        )

    def store_guard(self, store: BaseStore) -> AbstractContextManager[object]:
        """The lock a pass holds while it works ``store``: the scheduler's own for in-process
        stores, none for stores that do I/O (they are thread-safe, and an API call must not
        wait behind a slow database)."""
        return nullcontext() if store.does_io else self._lock

    def lookup_store(self, alias: str) -> BaseStore:
        try:
            return self._stores[alias]
        except KeyError:
            raise UnknownAliasError("store", alias, self._stores) from None

    def lookup_executor(self, alias: str) -> BaseExecutor:
        try:
            return self._executors[alias]
        except KeyError:
            raise UnknownAliasError("executor", alias, self._executors) from None

    def add_store(self, store: BaseStore | Mapping[str, Any], alias: str = "default") -> None:
        """Add a store (an instance or a ``{"type": ...}`` dict) under ``alias``."""
        built = STORES.build(store, "store")
        with self._lock:
            if alias in self._stores and not self._replaces_implicit("store", alias):
                raise ValueError(
                    f"This scheduler already has a task store by the alias of {alias!r}."
                )
            if self.state != SchedulerState.STATE_STOPPED:
                built.start(self, alias)
            self._stores[alias] = built
            self._stores_changed()
        self._emit(STORE_ADDED, alias)
        self.wakeup_if_running()

    def _replaces_implicit(self, kind: str, alias: str) -> bool:
        """Whether adding ``alias`` replaces the default the scheduler made (not started)."""
        if alias != "default" or kind not in self._implicit_defaults:
            return False
        self._implicit_defaults.discard(kind)
        return True

    def remove_store(self, alias: str, shutdown: bool = True) -> None:
        with self._lock:
            store = self.lookup_store(alias)
            del self._stores[alias]
            self._stores_changed()
        if shutdown:
            store.shutdown()
        self._emit(STORE_REMOVED, alias)

    def add_executor(
        self, executor: BaseExecutor | Mapping[str, Any], alias: str = "default"
    ) -> None:
        """Add an executor (an instance or a ``{"type": ...}`` dict) under ``alias``."""
        built = EXECUTORS.build(executor, "executor")
        with self._lock:
            if alias in self._executors and not self._replaces_implicit("executor", alias):
                raise ValueError(
                    f"This scheduler already has an executor by the alias of {alias!r}."
                )
            if self.state != SchedulerState.STATE_STOPPED:
                built.start(self, alias)
            self._executors[alias] = built
        self._emit(EXECUTOR_ADDED, alias)

    def remove_executor(self, alias: str, shutdown: bool = True) -> None:
        with self._lock:
            executor = self.lookup_executor(alias)
            del self._executors[alias]
        if shutdown:
            executor.shutdown()
        self._emit(EXECUTOR_REMOVED, alias)

    # -- events -----------------------------------------------------------------------------

    def add_listener(self, callback: Listener, mask: int = ALL_EVENTS) -> None:
        """Call ``callback(event)`` for every event whose code is in ``mask``."""
        self._listeners.add(callback, mask)

    def remove_listener(self, callback: Listener) -> None:
        self._listeners.remove(callback)

    def wants_event(self, code: int) -> bool:
        return self._listeners.wants(code)

    def dispatch_event(self, event: SchedulerEvent) -> None:
        self._listeners.dispatch(event)

    def _emit(self, code: int, alias: str | None = None) -> None:
        if self._listeners.wants(code):
            self._listeners.dispatch(SchedulerEvent(code=code, alias=alias))

    # -- state and waking -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.state == _RUNNING

    @property
    def paused(self) -> bool:
        return self.state == _PAUSED

    def _schedule_new_task(self, task: Task, compute_next: bool) -> None:
        """Give a task being added its first run time (unless one was given) and anchor an
        interval trigger to that first fire."""
        trigger = task.trigger
        assert trigger is not None
        if compute_next:
            now = self.clock.now()
            task.next_run_time, anchor = first_fire_and_anchor(trigger, self.timezone, now)
            task.set_trigger(trigger, anchor)
        elif task.next_run_time is not None:
            anchor = interval_anchor(trigger, self.clock.now(), task.next_run_time)
            task.set_trigger(trigger, anchor)

    def _wake_if_earlier(self, run_time: datetime | None) -> None:
        if run_time is not None and self.running:
            self.wakeup_at(run_time)

    def wakeup_if_running(self) -> None:
        if self.running:
            self.wakeup()

    def wakeup_at(self, run_time: datetime) -> None:
        """Make sure a pass happens by ``run_time``; subclasses avoid waking when one will."""
        self.wakeup()

    @abstractmethod
    def wakeup(self) -> None:
        """Ask for a pass of the loop soon (thread-safe)."""


def _logger_name(name: str | None) -> str:
    """The scheduler's logger: ``asyncz_like.schedulers``, or a child of it named ``name`` (as
    asyncz's suffix; a name already under it is taken whole)."""
    base = "asyncz_like.schedulers"
    if not name or name == base:
        return base
    return name if name.startswith(f"{base}.") else f"{base}.{name}"


def _claim_ahead(value: Any) -> float:
    """``claim_ahead``: seconds, from 0 (claim at the run time) to 1; a number or its text
    (as ``setup(global_config)`` gives it)."""
    try:
        seconds = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 <= seconds <= 1:
        raise ValueError(f"claim_ahead must be a number of seconds from 0 to 1, got {value!r}")
    return seconds
