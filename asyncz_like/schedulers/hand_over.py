"""The hand-over of claimed fires to the executors, and the events it sends."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from asyncz_like.events.base import TaskExecutionEvent, TaskSubmissionEvent
from asyncz_like.events.constants import TASK_ERROR, TASK_MAX_INSTANCES, TASK_SUBMITTED
from asyncz_like.exceptions import MaximumInstancesError
from asyncz_like.executors.ahead import take_up

if TYPE_CHECKING:
    from datetime import tzinfo

    from asyncz_like.events.base import SchedulerEvent
    from asyncz_like.executors.base import BaseExecutor
    from asyncz_like.schedulers.run_slots import RunSlots
    from asyncz_like.stores.base import BaseStore
    from asyncz_like.tasks.task import Task

logger = logging.getLogger("asyncz_like.schedulers")


class PassHost(Protocol):
    """What a pass needs of the scheduler: its zone, its run slots, its executors and its
    events (``lookup_executor`` and ``dispatch_event`` through it: asyncz code overrides
    them)."""

    timezone: tzinfo
    run_slots: RunSlots

    def lookup_executor(self, alias: str) -> BaseExecutor: ...
    def wants_event(self, code: int) -> bool: ...
    def dispatch_event(self, event: SchedulerEvent) -> None: ...


class HandOver:
    """Hands a pass's fires to their executors (a run slot first on a shared store), and
    pauses a task whose fire could not be worked out."""

    def __init__(self, scheduler: PassHost) -> None:
        self.scheduler = scheduler

    def pause_broken(self, store: BaseStore, store_alias: str, task: Task, exc: Exception) -> None:
        """Pause ``task``, whose trigger (or anything else about it) failed in this pass.
        When even that fails, its claim is left to expire: it is tried again then."""
        logger.exception(
            "Processing task %s failed; the task is paused", task.id, extra={"task_id": task.id}
        )
        scheduled = task.next_run_time
        task.next_run_time = None
        try:
            store.update_task(task)
        except Exception:
            logger.exception(
                "Task %s could not be paused; it is tried again when its claim expires",
                task.id,
                extra={"task_id": task.id},
            )
        if self.scheduler.wants_event(TASK_ERROR):
            self.scheduler.dispatch_event(
                TaskExecutionEvent(
                    code=TASK_ERROR,
                    task_id=task.id,
                    store=store_alias,
                    scheduled_run_time=scheduled,
                    exception=exc,
                    task_name=task.name,
                )
            )

    def send(
        self,
        store: BaseStore,
        store_alias: str,
        to_send: list[tuple[Task, list[datetime]]],
        now: datetime,
        final: set[str],
        waits: dict[str, datetime],
        ahead: bool = False,
        merged: dict[str, int] | None = None,
    ) -> set[str]:
        """Hand the fires over. On a store shared by schedulers each takes a run slot first,
        except a task's last fire (``final``): its release deletes the task, so no other
        scheduler can start it again, and the executor's own count is enough. Returns the
        ids of the fires claimed ahead that ``max_instances`` refused, and puts in ``waits``
        the due ones a run slot refused, with until when they wait (see ``_refused``).
        ``ahead``: the releases of some fires are held until their executors take them up
        (their run times are ``AheadRunTimes``: claimed ahead, or due from a store that does
        I/O). ``merged``: by task id, the run times coalescing left out (for the events)."""
        put_back: set[str] = set()
        slots: dict[int, bool] | None = None
        if store.shares_run_slots:
            wanted = [index for index, (task, _) in enumerate(to_send) if task.id not in final]
            tasks = [to_send[index][0] for index in wanted]
            taken = self.scheduler.run_slots.acquire_many(store, tasks, now) if tasks else []
            slots = dict(zip(wanted, taken, strict=True))
        # Each executor takes its fires of the slice at once (one count of its instances).
        by_executor: dict[str, list[int]] = {}
        if slots is None and all(task.executor in (None, "default") for task, _ in to_send):
            by_executor["default"] = list(range(len(to_send)))  # the common case, in one go
        else:
            slot_lease = timedelta(seconds=store.lease_seconds)
            for index, (task, run_times) in enumerate(to_send):
                if slots is not None and slots.get(index) is False:  # max_instances, store-wide
                    # The slot in the way may be a dead scheduler's: it lapses by then.
                    until = run_times[0] + slot_lease
                    if run_times[-1] <= now < until:
                        waits[task.id] = until
                    else:
                        self._refused(store_alias, task, run_times, now, put_back, merged)
                        take_up(run_times)  # never will be: its release waits for nothing
                    continue
                by_executor.setdefault(task.executor or "default", []).append(index)
        announce = self.scheduler.wants_event(TASK_SUBMITTED)
        for alias, indexes in by_executor.items():
            outcomes: list[Exception | None]
            reports = False
            try:
                executor = self.scheduler.lookup_executor(alias)
                fires = to_send if len(indexes) == len(to_send) else [to_send[i] for i in indexes]
                outcomes = executor.send_tasks(fires)
                # an executor of asyncz's shape (no BaseExecutor) does not report take-ups
                reports = ahead and getattr(executor, "reports_take_up", False)
            except Exception as exc:
                outcomes = [exc] * len(indexes)
            if ahead:
                _taken_up_or_refused(to_send, indexes, outcomes, reports)
            if not announce and not any(outcomes):  # every fire handed over, nobody listens
                continue
            for index, outcome in zip(indexes, outcomes, strict=True):
                task, run_times = to_send[index]
                if outcome is None:
                    if announce:
                        self._announce(TASK_SUBMITTED, store_alias, task, run_times, merged)
                elif isinstance(outcome, MaximumInstancesError):
                    if slots is not None and slots.get(index):  # refused before it counted
                        self.scheduler.run_slots.release(task.id)  # the run: the slot goes back
                    self._refused(store_alias, task, run_times, now, put_back, merged)
                else:
                    logger.error(
                        "Error submitting task %s",
                        task.id,
                        exc_info=outcome,
                        extra={"task_id": task.id},
                    )
        return put_back

    def _refused(
        self,
        store_alias: str,
        task: Task,
        run_times: list[datetime],
        now: datetime,
        put_back: set[str],
        merged: dict[str, int] | None,
    ) -> None:
        """A fire ``max_instances`` refused. One claimed ahead of its run time goes into
        ``put_back``, to be given back and tried again by a later pass: the runs in its way
        may end before its run time. One that is due is skipped."""
        if run_times[-1] > now:
            put_back.add(task.id)
            return
        logger.warning(
            "Fire of task %s (%s) skipped: %d instances already running",
            task.id,
            task.name,
            task.max_instances,
            extra={"task_id": task.id},
        )
        if self.scheduler.wants_event(TASK_MAX_INSTANCES):
            self._announce(TASK_MAX_INSTANCES, store_alias, task, run_times, merged)

    def _announce(
        self,
        code: int,
        store_alias: str,
        task: Task,
        run_times: list[datetime],
        merged: dict[str, int] | None,
    ) -> None:
        event = TaskSubmissionEvent(
            code=code,
            task_id=task.id,
            store=store_alias,
            scheduled_run_times=run_times,
            task_name=task.name,
        )
        if merged:  # only then: the keyword on every event cost 1 % of a listened fire
            event.coalesced_run_count = merged.get(task.id, 0)
        self.scheduler.dispatch_event(event)


def _taken_up_or_refused(
    to_send: list[tuple[Task, list[datetime]]],
    indexes: list[int],
    outcomes: list[Exception | None],
    reports_take_up: bool,
) -> None:
    """Mark taken up the fires of an executor that does not report take-ups, and those it
    refused: the release of a held fire then waits only for its run time."""
    for index, outcome in zip(indexes, outcomes, strict=True):
        if outcome is not None or not reports_take_up:
            take_up(to_send[index][1])
