"""Adding tasks: to their stores, or kept until start; the first fire of each."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from asyncz_like.clock import Clock
from asyncz_like.enums import SchedulerState
from asyncz_like.events.base import SchedulerEvent, TaskEvent
from asyncz_like.events.constants import TASK_ADDED, TASK_MODIFIED
from asyncz_like.events.dispatcher import EventDispatcher
from asyncz_like.exceptions import ConflictIdError
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.schedulers.conflicts import ADDED, ConflictPolicy, Stored, store_task
from asyncz_like.schedulers.pending import PendingTask, PendingTasks
from asyncz_like.schedulers.plugins import Plugins
from asyncz_like.schedulers.task_factory import TaskFactory
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks.base import TaskScheduler
from asyncz_like.tasks.task import Task
from asyncz_like.triggers import IntervalTrigger, first_fire_and_anchor, interval_anchor

# Module globals: reading a member through its class is several times slower, and the state
# is read on every add.
_RUNNING = SchedulerState.STATE_RUNNING
_PAUSED = SchedulerState.STATE_PAUSED


class TaskHost(TaskScheduler, Protocol):
    """What the task operations need of the scheduler: its state, clock and logger, its
    wake-up, its events; tasks are attached to it (their own ``pause()``... call it)."""

    state: SchedulerState
    clock: Clock
    logger: logging.Logger
    dispatcher: EventDispatcher

    @property
    def running(self) -> bool: ...
    @property
    def paused(self) -> bool: ...
    def wakeup_at(self, run_time: datetime) -> None: ...
    def wake_if_earlier(self, run_time: datetime | None) -> None: ...
    def dispatch_event(self, event: SchedulerEvent) -> None: ...
    def lookup_store(self, alias: str) -> BaseStore: ...
    def lookup_executor(self, alias: str) -> BaseExecutor: ...


class TaskAdder:
    """Adds tasks: checks them, gives each its first fire, stores them (or keeps them in
    ``pending`` until start), attaches them to the scheduler and announces them."""

    def __init__(
        self, host: TaskHost, lock: threading.RLock, plugins: Plugins, factory: TaskFactory
    ) -> None:
        self.host = host
        self.lock = lock
        self.plugins = plugins
        self.factory = factory
        self.pending = PendingTasks()

    def add_many(
        self, tasks: Iterable[Task | Mapping[str, Any]], policy: ConflictPolicy
    ) -> list[Task]:
        """Add ``tasks`` (Task objects or dicts of add_task's arguments), all or none: each is
        checked before any is stored; new ones go to each store in one write."""
        built: list[Task] = []
        compute_next: list[bool] = []  # False where the item gave its own next_run_time
        seen: set[tuple[str, str | None]] = set()
        for index, item in enumerate(tasks):
            try:
                task = self.factory.build_spec(item, policy)
            except Exception as exc:
                exc.add_note(f"add_tasks(): item {index}")
                raise
            key = (task.id, task.store_alias)
            if key in seen:
                raise ConflictIdError(task.id)
            seen.add(key)
            built.append(task)
            compute_next.append(not (isinstance(item, Mapping) and "next_run_time" in item))
        with self.lock:
            if not self.host.running and not self.host.paused:
                self._add_many_pending(built, policy, compute_next)
                return built
            for task, compute in zip(built, compute_next, strict=True):
                self.schedule_new(task, compute)
            self._store_many(built, policy)
            for task in built:
                task.attach(self.host)
        for task in built:
            self.emit_task_event(TASK_ADDED, task.id, task.store_alias)
        times = [task.next_run_time for task in built if task.next_run_time is not None]
        if times:
            self.host.wake_if_earlier(min(times))
        return built

    def _add_many_pending(
        self, tasks: list[Task], policy: ConflictPolicy, compute: list[bool]
    ) -> None:
        if policy == "fail":
            self.pending.check_new(tasks)
        for task, compute_next in zip(tasks, compute, strict=True):
            self._add_pending(task, policy, compute_next)

    def _store_many(self, tasks: list[Task], policy: ConflictPolicy) -> None:
        by_store: dict[str, list[Task]] = {}
        for task in tasks:
            by_store.setdefault(task.store_alias or "default", []).append(task)
        for alias, group in by_store.items():
            if policy != "fail":
                for task in group:
                    self.store_task(task, policy)
            else:
                self.host.lookup_store(alias).add_tasks(group)

    def add_built(
        self,
        task: Task,
        policy: ConflictPolicy,
        compute_next: bool,
        checked: bool,
        anonymous: bool = False,
    ) -> None:
        """Store ``task`` (or keep it until start); ``checked``: its store validated it;
        ``anonymous``: it was given no id. add_task's hot path: the store is looked up once,
        and the wake-up is checked against the state read under the lock."""
        with self.lock:
            state = self.host.state
            pending = state != _RUNNING and state != _PAUSED
            store = self.host.lookup_store(task.store_alias or "default")
            if not checked and (pending or not store.validates_on_add):
                store.validate_task(task)
            if pending:
                if anonymous and store.does_io:
                    self._warn_added_at_every_start(task)
                self._add_pending(task, policy, compute_next)
                return
            self.schedule_new(task, compute_next)
            if policy == "fail":  # store_task's first step, without its call
                store.add_task(task)
                stored = ADDED
            else:
                stored = store_task(store, task, policy)
            task.attach(self.host)
        if stored.outcome != "kept":
            code = TASK_MODIFIED if stored.outcome == "updated" else TASK_ADDED
            if self.host.dispatcher.wants(code):
                self.host.dispatch_event(
                    TaskEvent(code=code, task_id=task.id, store=task.store_alias)
                )
        if task.next_run_time is not None and state == _RUNNING:
            self.host.wakeup_at(task.next_run_time)

    def _add_pending(self, task: Task, policy: ConflictPolicy, compute_next: bool) -> None:
        """Keep a task until start; a duplicate id is handled now, as on a running one."""
        if self.pending.add(PendingTask(task, policy, compute_next)):
            task.attach(self.host)
            task.pending = True

    def _warn_added_at_every_start(self, task: Task) -> None:
        """A task without an id, added before start to a store that outlives the process,
        is added again by every start: say so, and how to fix it."""
        self.host.logger.warning(
            "Task %s (%s) is added to the persistent store %r without an id: every start "
            "of this app adds another copy. Give it an id (add_task(..., id=%r, "
            "replace_existing=True)) so that a restart finds the stored one",
            task.id,
            task.name,
            task.store_alias,
            task.name,
            extra={"task_id": task.id, "store": task.store_alias},
        )

    def store_task(
        self, task: Task, policy: ConflictPolicy, store: BaseStore | None = None
    ) -> Stored:
        """Write ``task`` to its store (``store`` when the caller looked it up already)."""
        if store is None:
            store = self.host.lookup_store(task.store_alias or "default")
        return store_task(store, task, policy)

    def store_pending(self) -> list[Task]:
        """Store the tasks added before start; return those added (or changed). A task found
        stored is handled by its ``on_conflict``, ``"fail"`` keeping the stored one: a
        restart meets the tasks the last start added. One that a store refuses is logged and
        left out, so that the others still run."""
        added: list[Task] = []
        for entry in self.pending.take_all():
            task = entry.task
            policy = "keep" if entry.on_conflict == "fail" else entry.on_conflict
            task.pending = False
            try:
                self.schedule_new(task, entry.compute_next)
                stored = self.store_task(task, policy)
            except Exception:
                task.detach()  # the caller may fix it and add it again
                self.host.logger.exception(
                    "Task %s (%s) could not be added at start",
                    task.id,
                    task.name,
                    extra={"task_id": task.id},
                )
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
            self.host.logger.warning(
                "Task %s (%s) is stored with another definition (changed: %s); the stored "
                "one is kept. Add it with replace_existing=True to let this definition "
                "replace it",
                task.id,
                task.name,
                changed,
                extra=extra,
            )
        elif stored.outcome == "kept":
            self.host.logger.debug(
                "Task %s (%s) found stored; its schedule is kept", task.id, task.name, extra=extra
            )
        else:
            schedule = "a new schedule" if "trigger" in stored.changed else "its schedule kept"
            self.host.logger.info(
                "Task %s (%s) %s (changed: %s), %s",
                task.id,
                task.name,
                stored.outcome,
                changed,
                schedule,
                extra=extra,
            )

    def schedule_new(self, task: Task, compute_next: bool) -> None:
        """Give a task being added its first run time (unless one was given) and anchor an
        interval trigger to that first fire."""
        trigger = task.trigger
        assert trigger is not None
        if compute_next and IntervalTrigger not in trigger.__class__.__mro__:
            # No anchor to keep: add_task's hot path asks the trigger alone (an ABC's
            # isinstance, as interval_anchor's, is a Python-level call).
            host = self.host
            task.next_run_time = trigger.get_next_trigger_time(
                host.timezone, None, host.clock.now()
            )
        elif compute_next:
            now = self.host.clock.now()
            task.next_run_time, anchor = first_fire_and_anchor(trigger, self.host.timezone, now)
            task.set_trigger(trigger, anchor)
        elif task.next_run_time is not None:
            anchor = interval_anchor(trigger, self.host.clock.now(), task.next_run_time)
            task.set_trigger(trigger, anchor)

    def emit_task_event(self, code: int, task_id: str, store: str | None) -> None:
        if self.host.dispatcher.wants(code):
            self.host.dispatch_event(TaskEvent(code=code, task_id=task_id, store=store))
