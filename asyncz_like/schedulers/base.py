"""The scheduler: a thin coordinator over triggers, stores and executors."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from asyncz_like.enums import SchedulerState
from asyncz_like.events.constants import (
    SCHEDULER_PAUSED,
    SCHEDULER_RESUMED,
    SCHEDULER_SHUTDOWN,
    SCHEDULER_STARTED,
    TASK_ADDED,
)
from asyncz_like.exceptions import SchedulerNotRunningError
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.executors.runner import run_coroutine_task, run_task
from asyncz_like.schedulers.asyncz_api import AsynczSchedulerAPI
from asyncz_like.schedulers.clock_steps import StepWatch, log_step, shift_intervals
from asyncz_like.schedulers.conflicts import ConflictPolicy, Stored
from asyncz_like.schedulers.core import _RUNNING
from asyncz_like.schedulers.decorators import build_decorator_trigger, module_reference
from asyncz_like.schedulers.loggers import ClassicLogging
from asyncz_like.schedulers.processing import DueTaskProcessor
from asyncz_like.schedulers.run_api import RunAPI
from asyncz_like.schedulers.shutdown_report import WaitReport
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks.task import Task
from asyncz_like.triggers.shutdown import ShutdownTrigger
from asyncz_like.utils import is_coroutine_callable

__all__ = ["BaseScheduler", "ClassicLogging", "SchedulerState", "default_loggers_class"]

#: The loggers class of schedulers not given ``loggers_class`` (read at each ``setup``).
default_loggers_class: Any = ClassicLogging


class BaseScheduler(AsynczSchedulerAPI, RunAPI):
    """Holds stores and executors, hands due tasks from one to the other, emits events.

    Subclasses decide how the loop waits: ``wakeup()`` asks for a pass soon, and each pass
    (``process_tasks``) returns how long to sleep.
    """

    def __init__(self, global_config: Mapping[str, Any] | None = None, **options: Any) -> None:
        self._processor = DueTaskProcessor(self)
        self._steps = StepWatch()
        super().__init__(global_config, **options)

    def _default_loggers_class(self) -> Any:
        return default_loggers_class

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
                self._ensure_defaults()
                for alias, executor in self._executors.items():
                    executor.start(self, alias)
                    started.append(executor)
                for alias, store in self._stores.items():
                    store.start(self, alias)
                    started.append(store)
            except BaseException:
                self._refs = 0
                for plugin in reversed(started):
                    self._stop_quietly(plugin)
                raise
            self.state = SchedulerState.STATE_PAUSED if paused else SchedulerState.STATE_RUNNING
            self._steps = StepWatch()  # the clock may be another since the last start
            added = self._add_pending_tasks()
            self._start_runs()
        self.logger.info("Scheduler started")
        self._announce_defaults()
        for task in added:
            self._emit_task_event(TASK_ADDED, task.id, task.store_alias)
        self._emit(SCHEDULER_STARTED)
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

    def _add_pending_tasks(self) -> list[Task]:
        """Store the tasks added before start; return those added (or changed). A task found
        stored is handled by its ``on_conflict``, ``"fail"`` keeping the stored one: a
        restart meets the tasks the last start added. One that a store refuses is logged and
        left out, so that the others still run."""
        added: list[Task] = []
        for entry in self._pending.take_all():
            task = entry.task
            policy = "keep" if entry.on_conflict == "fail" else entry.on_conflict
            task.pending = False
            try:
                self._schedule_new_task(task, entry.compute_next)
                stored = self._store_task(task, policy)
            except Exception:
                task.detach()  # the caller may fix it and add it again
                self.logger.exception(
                    "Task %s (%s) could not be added at start", task.id, task.name,
                    extra={"task_id": task.id},
                )  # fmt: skip
                continue
            self._log_found_task(task, stored, entry.on_conflict)
            if stored.outcome != "kept":
                added.append(task)
        return added

    def _log_found_task(self, task: Task, stored: Stored, asked: ConflictPolicy) -> None:
        """Say what start did with a task it found stored: quietly when nothing changed."""
        if stored.outcome == "added":
            return
        changed = ", ".join(sorted(stored.changed)) or "nothing"
        extra = {"task_id": task.id, "store": task.store_alias}
        if stored.outcome == "kept" and stored.changed and asked == "fail":
            self.logger.warning(
                "Task %s (%s) is stored with another definition (changed: %s); the stored "
                "one is kept. Add it with replace_existing=True to let this definition "
                "replace it", task.id, task.name, changed, extra=extra,
            )  # fmt: skip
        elif stored.outcome == "kept":
            self.logger.debug("Task %s (%s) found stored; its schedule is kept",
                              task.id, task.name, extra=extra)  # fmt: skip
        else:
            schedule = "a new schedule" if "trigger" in stored.changed else "its schedule kept"
            self.logger.info("Task %s (%s) %s (changed: %s), %s", task.id, task.name,
                             stored.outcome, changed, schedule, extra=extra)  # fmt: skip

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
            for executor in self._executors.values():
                executor.shutdown(wait)
        try:  # releases held back for fires claimed ahead: those fires were handed over
            self._processor.write_deferred()
        except Exception:
            self.logger.exception("Could not release the fires claimed ahead of their time")
        self.run_slots.shutdown()
        for store in self._stores.values():
            store.shutdown()
        self.logger.info("Scheduler has been shut down")
        self._emit(SCHEDULER_SHUTDOWN)

    def running_work(self) -> list[str]:
        """What runs now, one line each: submitted runs with their age, and fires by task."""
        now = self.clock.now()
        lines: list[str] = []
        runs = self._runs.running_runs()
        for run in runs:
            started = run.started_at
            age = (
                "" if started is None else f", started {(now - started).total_seconds():.1f} s ago"
            )
            lines.append(f"run {run.id} ({run.name}{age})")
        run_ids = {run.id for run in runs}
        for executor in self._executors.values():
            for task_id, count in executor.instances.items():
                if count and task_id not in run_ids:
                    times = f" ({count} instances)" if count > 1 else ""
                    lines.append(f"fire of task {task_id!r}{times}")
        return lines

    def _shutdown_tasks(self) -> list[Task]:
        """The tasks with a shutdown trigger, in the order they were added (by id in a
        persistent store). They have no next run time: each store is asked for those only,
        not read whole."""
        return [
            task
            for task in self._gather_tasks(None, lambda store: store.get_paused_tasks())
            if isinstance(task.trigger, ShutdownTrigger) and task.fn is not None
        ]

    def _run_shutdown_task(self, task: Task) -> None:
        context = self.lookup_executor(task.executor or "default").run_context(task)
        for event in run_task(task, [self.clock.now()], context):
            self.dispatch_event(event)

    async def _run_async_shutdown_task(self, task: Task) -> None:
        context = self.lookup_executor(task.executor or "default").run_context(task)
        for event in await run_coroutine_task(task, [self.clock.now()], context):
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
            self._emit(SCHEDULER_PAUSED)

    def resume(self) -> None:
        if self.state == SchedulerState.STATE_STOPPED:
            raise SchedulerNotRunningError()
        if self.state == SchedulerState.STATE_PAUSED:
            self.state = SchedulerState.STATE_RUNNING
            self._emit(SCHEDULER_RESUMED)
            self.wakeup()

    def __enter__(self) -> BaseScheduler:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    async def __aenter__(self) -> BaseScheduler:
        result = self.start()
        if asyncio.iscoroutine(result):
            await result
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        result = self.shutdown()
        if asyncio.iscoroutine(result):
            await result

    # -- the loop ---------------------------------------------------------------------------

    def process_tasks(self, budget: int | None = None) -> float | None:
        """One pass: dispatch due work (one slice of it); return seconds until the next pass.

        At most ``budget`` due tasks (default ``batch_size``). 0 means more work is due now;
        None means nothing is scheduled (sleep until woken). The wait is computed from the
        clock read after the work, and capped at ``max_wait`` so that a jump of the wall clock
        is noticed.
        """
        if self.state != _RUNNING:
            return None
        now = self.clock.now()
        step = self._steps.step(self.clock, now)
        if step is not None:
            self._clock_stepped(step)
        # Stores that do I/O are claimed ``claim_ahead`` early: the executor waits for the
        # run time, so that the claim's round trips do not make every fire late.
        ahead = self.claim_ahead if self.claim_ahead and self._any_store_io else 0.0
        horizon = now + timedelta(seconds=ahead) if ahead else now
        result = self._processor.process(now, budget or self.batch_size, horizon)
        runs_time = self._process_runs(now)  # submitted runs: due, timed out, handed over
        if result.more:
            return 0.0
        # When the next pass is due: the next fire less ``claim_ahead``, a submitted run's
        # moment, or the start of a fire whose release is held back (written then). Claiming
        # ahead, a pass comes no sooner than half of ``claim_ahead`` after this one: when fires
        # are dense each pass then claims that much of them, not the few that entered the
        # window meanwhile, and each is still claimed that long before its run time at least.
        next_time, cap = self._next_fire_and_poll_cap(result.locked_out)
        # A store another process holds is tried again after lock_retry_interval.
        if result.locked_out:
            cap = min(cap, self.lock_retry_interval)
        spacing = ahead / 2
        # Besides the next fire, (moment, least wait): as a rule none. retry_at: a fire given
        # back, tried again by its run time.
        others: tuple[tuple[datetime | None, float], ...] = ()
        if runs_time or result.deferred_until or result.retry_at:
            others = ((runs_time, 0.0), (result.deferred_until, spacing), (result.retry_at, 0.0))
        if next_time is None and not others:
            return cap if self.lock_path is not None or cap < self.max_wait else None
        current = self.clock.now()
        wait = math.inf
        if next_time is not None:
            wait = max((next_time - current).total_seconds() - ahead, spacing)
        for moment, least in others:
            if moment is not None:
                wait = min(wait, max((moment - current).total_seconds(), least))
        return min(max(wait, 0.0), cap)

    def _clock_stepped(self, step: timedelta) -> None:
        """The wall clock stepped by ``step``: shift the interval tasks and the submitted
        runs' waits by as much."""
        try:  # held-back releases carry next run times from before the step: written first
            self._processor.write_deferred()
        except Exception:
            self.logger.exception("Could not release the fires claimed ahead of their time")
        log_step(step, shift_intervals(self, step))
        self._runs.shift_times(step)  # submitted runs: delays, retries and timeouts

    @property
    def failed_pass_wait(self) -> float:
        """Seconds to wait after a pass failed (a store down beyond its own retries)."""
        return min(1.0, self.max_wait)

    def _next_fire_and_poll_cap(self, skip: list[str]) -> tuple[datetime | None, float]:
        """The earliest next run time of the stores not in ``skip``, and the longest wait
        before the next pass: ``max_wait``, or less when a shared store is looked at every
        ``poll_interval`` for tasks other schedulers added. (One loop: every pass asks.)"""
        earliest: datetime | None = None
        cap = self.max_wait
        for alias, store in self._store_items:
            poll_interval = store.poll_interval
            if poll_interval and poll_interval < cap:
                cap = poll_interval
            if alias in skip:
                continue
            with self.store_guard(store):
                next_time = store.get_next_run_time()
            if next_time is not None and (earliest is None or next_time < earliest):
                earliest = next_time
        return earliest, cap

    def _before_start(self) -> None:
        """Subclass hook, called under the lock before plugins start."""

    def _start_loop(self) -> None:
        """Begin waiting for due work. By default (a subclass that only implements
        ``wakeup``, as asyncz's contract has it) ask for a first pass."""
        self.wakeup_if_running()

    def _stop_loop(self) -> None:  # optional hook
        """Stop waiting for due work."""

    # -- decorators and apps ----------------------------------------------------------------

    def task(
        self, interval: Any = None, cron: str | None = None, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: run the function every ``interval`` or on a ``cron`` line.

        The trigger is validated here, at decoration time. The function stays callable as is.
        """
        trigger = build_decorator_trigger(
            interval, cron, options.pop("timezone", None), options.pop("jitter", None)
        )

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            task_options = dict(options)
            reference = module_reference(fn)
            if reference is not None and "id" not in task_options:
                task_options["id"] = reference
                task_options.setdefault("replace_existing", True)
            task = Task(
                fn, trigger, id=task_options.pop("id", None),
                args=task_options.pop("args", None), kwargs=task_options.pop("kwargs", None),
            )  # fmt: skip
            # The name is bound only after the decorator returns, so the reference
            # cannot be checked by importing it yet; persistent stores need it.
            task.fn_reference = reference
            self.add_task(task, **task_options)
            return fn

        return decorator

    def asgi(self, app: Any = None, handle_lifespan: bool = False, wait: bool = True) -> Any:
        """Wrap an ASGI app so that this scheduler starts after its startup and stops before
        its shutdown. Without ``app``, a decorator."""
        from asyncz_like.asgi import asgi

        return asgi(self, app, handle_lifespan=handle_lifespan, wait=wait)
