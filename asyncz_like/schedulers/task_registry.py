"""Finding, changing, running and deleting the tasks of a scheduler's stores."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from asyncz_like.events.base import TaskEvent
from asyncz_like.events.constants import ALL_TASKS_REMOVED, TASK_MODIFIED, TASK_REMOVED
from asyncz_like.exceptions import SchedulerNotRunningError, TaskLookupError
from asyncz_like.limits import check_number
from asyncz_like.schedulers.plugins import Plugins
from asyncz_like.schedulers.task_adding import TaskAdder, TaskHost
from asyncz_like.schedulers.task_factory import TaskFactory
from asyncz_like.schedulers.task_preview import task_run_preview
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks.inspection import TaskRunPreview
from asyncz_like.tasks.task import Task
from asyncz_like.triggers import anchor_trigger, anchored_first_fire
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import to_datetime

#: The most fire times preview_task_runs lists.
_MAX_PREVIEW = 1_000_000


class TaskLookupHost(TaskHost, Protocol):
    """The scheduler's methods asyncz code overrides, called through it."""

    def lookup_task(self, task_id: str, store: str | None) -> tuple[Task, str | None]: ...
    def update_task(
        self, task_id: str | Task, store: str | None = None, **changes: Any
    ) -> Task: ...
    def create_trigger(self, trigger: Any, trigger_args: Any) -> BaseTrigger: ...


class TaskRegistry:
    """The tasks of the stores (and those pending until start), by id: found, changed,
    paused, resumed, run now, listed and deleted."""

    def __init__(
        self,
        host: TaskLookupHost,
        lock: threading.RLock,
        plugins: Plugins,
        factory: TaskFactory,
        adder: TaskAdder,
    ) -> None:
        self.host = host
        self.lock = lock
        self.plugins = plugins
        self.factory = factory
        self.adder = adder
        self.pending = adder.pending

    def lookup(self, task_id: str, store: str | None) -> tuple[Task, str | None]:
        """The task and its store alias (None while it is pending)."""
        pending = self.pending.find(task_id, store)
        if pending is not None:
            return pending, None
        for alias, candidate in self._started_stores():
            if store is None or alias == store:
                task = candidate.lookup_task(task_id)
                if task is not None:
                    return self._adopt(task), alias
        raise TaskLookupError(task_id)

    def update(self, task_id: str | Task, store: str | None, changes: dict[str, Any]) -> Task:
        """Change a task's attributes (all but its id)."""
        task_id = task_id.id if isinstance(task_id, Task) else task_id
        if isinstance(changes.get("trigger"), BaseTrigger):
            changes["trigger"] = anchor_trigger(changes["trigger"], self.host.clock.now())
        with self.lock:
            task, alias = self.host.lookup_task(task_id, store)
            task.update_task(**changes, scheduler=self.host)
            if alias is not None:
                self.host.lookup_store(alias).update_task(task)
        self.host.dispatch_event(TaskEvent(code=TASK_MODIFIED, task_id=task_id, store=alias))
        self.host.wake_if_earlier(task.next_run_time)
        return task

    def reschedule(
        self,
        task_id: str | Task,
        store: str | None,
        trigger: BaseTrigger | str | None,
        trigger_args: dict[str, Any],
    ) -> Task:
        """Give a task a new trigger; its next run time is computed from it."""
        built = self.host.create_trigger(trigger, trigger_args)  # asyncz's hook
        built, next_time = anchored_first_fire(built, self.host.timezone, self.host.clock.now())
        return self.host.update_task(task_id, store, trigger=built, next_run_time=next_time)

    def resume(self, task_id: str | Task, store: str | None = None) -> Task | None:
        """Let a paused task fire again from now on; a task with no fire left is deleted."""
        task_id = task_id.id if isinstance(task_id, Task) else task_id
        with self.lock:
            task, alias = self.host.lookup_task(task_id, store)
            assert task.trigger is not None
            next_time = task.trigger.get_next_trigger_time(
                self.host.timezone, None, self.host.clock.now()
            )
        store = alias or store  # where it was found (None while pending)
        if next_time is None:
            self.host.delete_task(task_id, store)
            return None
        return self.host.update_task(task_id, store, next_run_time=next_time)

    def run(self, task_id: str | Task, store: str | None = None) -> Task:
        """Run a task now, once, on its executor; its schedule is unchanged."""
        task_id = task_id.id if isinstance(task_id, Task) else task_id
        if not self.host.running and not self.host.paused:
            raise SchedulerNotRunningError("run_task() needs a started scheduler")
        with self.lock:
            task, _ = self.host.lookup_task(task_id, store)
        executor = self.host.lookup_executor(task.executor or "default")
        executor.send_task(task, [self.host.clock.now()])
        return task

    def get_all(self, store: str | None = None) -> list[Task]:
        """Every task (of one store when given), pending ones included."""
        return self.gather(store, lambda candidate: candidate.get_all_tasks())

    def gather(self, store: str | None, read: Callable[[BaseStore], list[Task]]) -> list[Task]:
        """The pending tasks (of ``store`` when given), then what ``read`` gives of each
        store (or of that one)."""
        with self.lock:
            tasks = self.pending.tasks(store)
            for alias, candidate in self._started_stores():
                if store is None or alias == store:
                    tasks.extend(self._adopt(task) for task in read(candidate))
        return tasks

    def _started_stores(self) -> list[tuple[str, BaseStore]]:
        """The stores that have been started: one never started has nothing to read yet (a
        SQL store makes its table at start), and before the first start the tasks are the
        pending ones, as in APScheduler and asyncz."""
        return [
            (alias, store)
            for alias, store in self.plugins.store_items
            if store.scheduler is not None
        ]

    def _adopt(self, task: Task) -> Task:
        """A task a store handed out, attached to this scheduler so that its own ``pause()``,
        ``update()``... work: stores decode tasks detached (they know no scheduler)."""
        if task.scheduler is None:
            task.attach(self.host)
        return task

    def broken_records(self, store: str | None = None) -> dict[str, dict[str, str]]:
        """Records the stores could not read, ``{store: {task_id: reason}}``. They are kept
        and skipped; ``delete_task(task_id, store)`` removes one on purpose."""
        with self.lock:
            found = {
                alias: candidate.get_broken_records()
                for alias, candidate in self.plugins.store_items
                if store is None or alias == store
            }
        return {alias: records for alias, records in found.items() if records}

    def get(self, task_id: str, store: str | None = None) -> Task | None:
        """The task with this id, or None."""
        with self.lock:
            try:
                return self.host.lookup_task(task_id, store)[0]
            except TaskLookupError:
                return None

    def delete(self, task_id: str | Task, store: str | None = None) -> None:
        """Remove a task, or a broken record with this id; TaskLookupError when there is none."""
        task_id = task_id.id if isinstance(task_id, Task) else task_id
        with self.lock:
            try:
                task, alias = self.host.lookup_task(task_id, store)
            except TaskLookupError:
                alias = self._store_with_broken_record(task_id, store)
                self.host.lookup_store(alias).delete_task(task_id)
                self.adder.emit_task_event(TASK_REMOVED, task_id, alias)
                return
            if alias is None:
                self.pending.discard(task)
            else:
                self.host.lookup_store(alias).delete_task(task_id)
        self.adder.emit_task_event(TASK_REMOVED, task_id, alias)

    def _store_with_broken_record(self, task_id: str, store: str | None) -> str:
        for alias, records in self.broken_records(store).items():
            if task_id in records:
                return alias
        raise TaskLookupError(task_id)

    def remove_all(self, store: str | None = None) -> None:
        """Remove every task (of one store when given)."""
        with self.lock:
            self.pending.clear(store)
            for alias, candidate in self.plugins.store_items:
                if store is None or alias == store:
                    candidate.remove_all_tasks()
        if self.host.dispatcher.wants(ALL_TASKS_REMOVED):
            self.host.dispatch_event(TaskEvent(code=ALL_TASKS_REMOVED, alias=store))

    def preview(
        self,
        trigger: BaseTrigger | str,
        count: int,
        start: datetime | None,
        trigger_args: dict[str, Any],
    ) -> list[datetime]:
        """The next ``count`` fire times a trigger would give, from ``start`` (default now).

        ``count`` is an int from 0 to 1,000,000; fewer come back when the trigger ends.
        """
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"count must be an int, got count={count!r}")
        check_number(count, "count", maximum=_MAX_PREVIEW)
        built = self.factory.resolve_trigger(trigger, trigger_args)
        now = start or self.host.clock.now()
        times: list[datetime] = []
        previous = None
        while len(times) < count:
            fire = built.get_next_trigger_time(self.host.timezone, previous, now)
            if fire is None:
                break
            times.append(fire)
            previous = fire
        return times

    def preview_task(
        self, task_id: str | Task, store: str | None, count: int, now: datetime | str | None
    ) -> TaskRunPreview | None:
        """asyncz's preview of a task's next ``count`` run times from ``now`` (default: the
        clock's), or None when there is no such task."""
        zone = self.host.timezone
        moment = to_datetime(now, zone, "now") or self.host.clock.now().astimezone(zone)
        task = self.get(task_id.id if isinstance(task_id, Task) else task_id, store)
        return None if task is None else task_run_preview(task, zone, moment, count)
