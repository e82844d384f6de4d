"""The scheduler: one coordinator that holds its collaborators, built in ``__init__``."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any

from asyncz_like.clock import Clock, SystemClock
from asyncz_like.enums import SchedulerState
from asyncz_like.events.constants import (
    SCHEDULER_PAUSED,
    SCHEDULER_RESUMED,
    SCHEDULER_SHUTDOWN,
    SCHEDULER_STARTED,
    TASK_ADDED,
)
from asyncz_like.events.dispatcher import EventDispatcher
from asyncz_like.exceptions import SchedulerAlreadyRunningError, SchedulerNotRunningError
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.executors.runner import FireRecorder
from asyncz_like.schedulers.asyncz_api import AsynczMethods
from asyncz_like.schedulers.config import (
    SCHEDULER_OPTIONS,
    TaskDefaults,
    claim_ahead_option,
    logger_name,
    options_from_global_config,
    wait_option,
)
from asyncz_like.schedulers.context_methods import ContextMethods
from asyncz_like.schedulers.decorators import TaskFunction, task_decorator
from asyncz_like.schedulers.loggers import ClassicLogging, build_loggers
from asyncz_like.schedulers.loop import SchedulerLoop
from asyncz_like.schedulers.plugin_methods import PluginMethods
from asyncz_like.schedulers.plugins import Plugins
from asyncz_like.schedulers.run_methods import RunMethods
from asyncz_like.schedulers.run_side import RunSide
from asyncz_like.schedulers.run_slots import RunSlots
from asyncz_like.schedulers.shutdown_report import WaitReport, running_work
from asyncz_like.schedulers.shutdown_tasks import (
    find_shutdown_tasks,
    run_async_shutdown_task,
    run_shutdown_task,
)
from asyncz_like.schedulers.task_adding import TaskAdder
from asyncz_like.schedulers.task_factory import TaskFactory
from asyncz_like.schedulers.task_methods import TaskMethods
from asyncz_like.schedulers.task_registry import TaskRegistry
from asyncz_like.schedulers.trigger_tables import TriggerTables
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks.task import Task
from asyncz_like.utils import (
    as_positive_int,
    get_local_timezone,
    is_coroutine_callable,
    to_timezone,
)

__all__ = ["BaseScheduler", "ClassicLogging", "SchedulerState", "default_loggers_class"]

#: The loggers class of schedulers not given ``loggers_class`` (read at each ``setup``).
default_loggers_class: Any = ClassicLogging

# Module globals: reading a member through its class is several times slower.
_STOPPED = SchedulerState.STATE_STOPPED
_RUNNING = SchedulerState.STATE_RUNNING
_PAUSED = SchedulerState.STATE_PAUSED


class BaseScheduler(TaskMethods, RunMethods, PluginMethods, AsynczMethods, ContextMethods, ABC):
    """Holds stores and executors, hands due tasks from one to the other, emits events.

    The work is done by the collaborators made in ``__init__``; the public methods (of the
    facades this class combines) hand on to them. Subclasses decide only how the loop waits:
    ``wakeup()`` asks for a pass soon, and each pass (``process_tasks``) returns how long to
    sleep.
    """

    #: Most due tasks one pass dispatches; an event loop is held for one pass at a time.
    default_batch_size = 512
    #: Seconds ahead of their run time that a pass over stores that do I/O claims fires: the
    #: claim's round trips are done by then, and the executor starts each fire on time.
    default_claim_ahead = 0.05
    #: Makes a run record of each fire (None: ``record_task_runs`` is off).
    fire_recorder: FireRecorder | None = None
    #: True while ``shutdown_async`` waits for running work (no new run starts then).
    _draining = False

    def __init__(self, global_config: Mapping[str, Any] | None = None, **options: Any) -> None:
        self._lock = threading.RLock()
        self._refs = 0  # users of a started scheduler: the last shutdown stops it
        self.state = SchedulerState.STATE_STOPPED
        self.dispatcher = EventDispatcher(logging.getLogger("asyncz_like.schedulers"))
        self._plugins = Plugins(self, self._lock)
        self._triggers = TriggerTables()
        self.run_slots = RunSlots(lambda: self.clock.now())
        self._task_factory = TaskFactory(self, self._plugins)
        self._task_adder = TaskAdder(self, self._lock, self._plugins, self._task_factory)
        self._task_registry = TaskRegistry(
            self, self._lock, self._plugins, self._task_factory, self._task_adder
        )
        self._run_side = RunSide(self)
        self._plugins.make_missing = self._run_side.brokers.executor_for
        self._loop = SchedulerLoop(self, self._plugins, self._run_side)
        self.setup(global_config, **options)

    # -- configuration ----------------------------------------------------------------------

    def setup(
        self,
        global_config: Mapping[str, Any] | None = None,
        prefix: str = "asyncz_like.",
        **options: Any,
    ) -> None:
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
            merged.get("identity")
            or getattr(self, "identity", None)
            or f"{type(self).__name__}-{uuid.uuid4().hex[:12]}"
        )
        self.logger_name: str = logger_name(merged.get("logger_name"))
        self.loggers = build_loggers(merged.get("loggers_class"), default_loggers_class)
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
        self.claim_ahead = claim_ahead_option(merged.get("claim_ahead", self.default_claim_ahead))
        self._plugins.configure(merged.get("stores") or {}, merged.get("executors") or {})
        self.fire_recorder = self._run_side.configure(
            merged, self._plugins.stores.get("default"), self.dispatcher.wants
        )
        self._configure_extra(merged)

    def _extra_options(self) -> frozenset[str]:
        """Options of how a subclass waits (``event_loop``, ``daemon``), besides the common."""
        return frozenset()

    def _configure_extra(self, options: Mapping[str, Any]) -> None:  # optional
        """Read the options of how a subclass waits."""

    # -- state and waking -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.state == _RUNNING

    @property
    def paused(self) -> bool:
        return self.state == _PAUSED

    @property
    def stopped(self) -> bool:
        return self.state == _STOPPED

    def may_start_runs(self) -> bool:
        """Whether a submitted run may start now (the run engine asks)."""
        return self.state == _RUNNING and not self._draining

    def wake_runs_at(self, when: datetime) -> None:
        if self.running:
            self.wakeup_at(when)

    def wake_if_earlier(self, run_time: datetime | None) -> None:
        """Make sure a pass happens by ``run_time`` (when running and given one)."""
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

    # -- life cycle -------------------------------------------------------------------------

    def start(self, paused: bool = False) -> Any:
        """Start, or count one more user of a started scheduler. True when it really started."""
        with self._lock:
            self._refs += 1
            if self._refs > 1:
                return False
            started: list[BaseExecutor | BaseStore] = []
            try:
                self._before_start()
                self._plugins.ensure_defaults()
                for alias, executor in self._plugins.executors.items():
                    executor.start(self, alias)
                    started.append(executor)
                for alias, store in self._plugins.stores.items():
                    store.start(self, alias)
                    started.append(store)
            except BaseException:
                self._refs = 0
                for plugin in reversed(started):
                    self._stop_quietly(plugin)
                raise
            self.state = SchedulerState.STATE_PAUSED if paused else SchedulerState.STATE_RUNNING
            self._loop.started()
            added = self._task_adder.store_pending()
            self._run_side.start()
        self.logger.info("Scheduler started")
        self._plugins.announce_defaults()
        for task in added:
            self._task_adder.emit_task_event(TASK_ADDED, task.id, task.store_alias)
        self.emit(SCHEDULER_STARTED)
        self._start_loop()
        return True

    def _stop_quietly(self, plugin: BaseExecutor | BaseStore) -> None:
        try:
            if isinstance(plugin, BaseExecutor):
                plugin.shutdown(wait=False)
            else:
                plugin.shutdown()
        except Exception:
            self.logger.exception("Error stopping %r after a failed start", plugin)

    def shutdown(self, wait: bool = True) -> Any:
        """Stop when the last user stops: run shutdown tasks, then stop executors and stores.

        ``wait=True`` lets running work finish; ``wait=False`` cancels what can be cancelled.
        """
        if not self._release():
            return False
        for task in self._shutdown_tasks():
            if is_coroutine_callable(task.fn):  # type: ignore[arg-type]
                self._finish_coroutine(self._run_async_shutdown_task(task))
            else:
                self._run_shutdown_task(task)
        self._stop_plugins(wait)
        return True

    def stop(self, wait: bool = True) -> Any:
        """asyncz's name for :meth:`shutdown`."""
        return self.shutdown(wait)

    def _release(self) -> bool:
        """Count one user less; True when that was the last and the loop has been stopped."""
        with self._lock:
            if self.state == SchedulerState.STATE_STOPPED:
                raise SchedulerNotRunningError()
            self._refs -= 1
            if self._refs > 0:
                return False
            self.state = SchedulerState.STATE_STOPPED
        self._stop_loop()
        return True

    def _stop_plugins(self, wait: bool) -> None:
        with WaitReport(self.logger, self.running_work if wait else list):
            self._stop_runs(wait)
            for executor in self._plugins.executors.values():
                executor.shutdown(wait)
        self._loop.write_deferred()  # releases held back until their fires started
        self.run_slots.shutdown()
        for store in self._plugins.stores.values():
            store.shutdown()
        self.logger.info("Scheduler has been shut down")
        self.emit(SCHEDULER_SHUTDOWN)

    def _stop_runs(self, wait: bool) -> None:
        self._run_side.stop(wait)

    def running_work(self) -> list[str]:
        """What runs now, one line each: submitted runs with their age, and fires by task."""
        runs = self._run_side.engine.running_runs()
        return running_work(self.clock.now(), runs, self._plugins.executors.values())

    def _shutdown_tasks(self) -> list[Task]:
        return find_shutdown_tasks(self._task_registry)

    def _run_shutdown_task(self, task: Task) -> None:
        executor = self.lookup_executor(task.executor or "default")
        for event in run_shutdown_task(task, executor, self.clock.now()):
            self.dispatch_event(event)

    async def _run_async_shutdown_task(self, task: Task) -> None:
        executor = self.lookup_executor(task.executor or "default")
        for event in await run_async_shutdown_task(task, executor, self.clock.now()):
            self.dispatch_event(event)

    def _finish_coroutine(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run an async shutdown task to completion (no loop runs in this thread here)."""
        asyncio.run(coroutine)

    def pause(self) -> None:
        """Stop processing fires until :meth:`resume` (tasks keep their schedules)."""
        if self.state == SchedulerState.STATE_STOPPED:
            raise SchedulerNotRunningError()
        if self.state == SchedulerState.STATE_RUNNING:
            self.state = SchedulerState.STATE_PAUSED
            self.emit(SCHEDULER_PAUSED)

    def resume(self) -> None:
        if self.state == SchedulerState.STATE_STOPPED:
            raise SchedulerNotRunningError()
        if self.state == SchedulerState.STATE_PAUSED:
            self.state = SchedulerState.STATE_RUNNING
            self.emit(SCHEDULER_RESUMED)
            self.wakeup()

    # -- the loop: how it waits is the subclass's -------------------------------------------

    def process_tasks(self, budget: int | None = None) -> float | None:
        """One pass: dispatch due work (one slice of it); return seconds until the next pass.

        At most ``budget`` due tasks (default ``batch_size``). 0 means more work is due now;
        None means nothing is scheduled (sleep until woken).
        """
        return self._loop.process(budget)

    @property
    def failed_pass_wait(self) -> float:
        """Seconds to wait after a pass failed (a store down beyond its own retries)."""
        return min(1.0, self.max_wait)

    def _before_start(self) -> None:
        """Called under the lock before plugins start (asyncio: find the event loop)."""

    def _start_loop(self) -> None:
        """Begin waiting for due work. By default (a subclass that only implements
        ``wakeup``, as asyncz's contract has it) ask for a first pass."""
        self.wakeup_if_running()

    def _stop_loop(self) -> None:
        """Stop waiting for due work."""

    # -- decorators and apps ----------------------------------------------------------------

    def task(
        self, interval: Any = None, cron: str | None = None, **options: Any
    ) -> Callable[[TaskFunction], TaskFunction]:
        """Decorator: run the function every ``interval`` or on a ``cron`` line.

        The trigger is validated here, at decoration time. The function stays callable as is.
        """
        return task_decorator(self.add_task, interval, cron, options)

    def asgi(self, app: Any = None, handle_lifespan: bool = False, wait: bool = True) -> Any:
        """Wrap an ASGI app so that this scheduler starts after its startup and stops before
        its shutdown. Without ``app``, a decorator."""
        from asyncz_like.asgi import asgi

        return asgi(self, app, handle_lifespan=handle_lifespan, wait=wait)
