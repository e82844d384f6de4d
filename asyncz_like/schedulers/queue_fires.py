"""Fires sent to a broker queue: a task added with ``queue="reports"`` has the executor
``"queue:reports"``, which enqueues each fire for the workers of that queue instead of
running it here (the split of Celery beat: schedulers fire, workers run).

The queue is kept as the task's executor alias, so it is stored, restored and compared by
``on_conflict`` like any option, with no field added to tasks. Each fire's run id derives
from the task id and the scheduled time: a fire enqueued twice (a retried pass, two
schedulers racing) is one run, since a broker enqueues a run id once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.records import MAX_ID_LENGTH, Envelope, check_name
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.tasks.task import QUEUE_PREFIX, Task
from asyncz_like.utils import obj_to_ref


def queue_executor_alias(queue: Any, executor: str | None, has_broker: bool) -> str:
    """The executor alias of a task sent to ``queue``; a clear error without a broker or
    with an executor given too."""
    check_name(queue, "queue")
    if not has_broker:
        raise ValueError(f"queue={queue!r} needs a broker: give the scheduler broker=...")
    if executor is not None and executor != f"{QUEUE_PREFIX}{queue}":
        raise TypeError(
            f"give queue or executor, not both (queue={queue!r}, executor={executor!r})"
        )
    return f"{QUEUE_PREFIX}{queue}"


def fire_run_id(task_id: str, run_time: datetime) -> str:
    """``"<task id>@<scheduled time, ISO>"``; a task id too long for that is hashed."""
    when = run_time.isoformat()
    if len(task_id) + 1 + len(when) > MAX_ID_LENGTH:
        task_id = hashlib.sha256(task_id.encode()).hexdigest()
    return f"{task_id}@{when}"


def _target(task: Task) -> str:
    return task.fn_reference or obj_to_ref(task.fn)


class QueueExecutor(BaseExecutor):
    """Enqueues the fires it is handed on ``queue`` of the scheduler's broker, a slice of a
    pass in one round trip. A fire is over, for this scheduler, once it is enqueued:
    ``max_instances`` does not apply (the runs are the workers'), and the run slot a shared
    store gave it goes back at once."""

    def __init__(self, queue: str, broker: Callable[[], BaseBroker | None]) -> None:
        super().__init__()
        self.queue = queue
        self._broker = broker

    def send_task(self, task: Task, run_times: list[datetime]) -> None:
        self.do_send_task(task, run_times)

    def send_tasks(self, fires: Sequence[tuple[Task, list[datetime]]]) -> list[Exception | None]:
        try:
            self._enqueue(fires)
        except Exception as exc:
            return [exc] * len(fires)
        return [None] * len(fires)

    def do_send_task(self, task: Task, run_times: list[datetime]) -> None:
        self._enqueue([(task, run_times)])

    def _enqueue(self, fires: Sequence[tuple[Task, list[datetime]]]) -> None:
        broker = self._broker()
        if broker is None:
            raise RuntimeError(f"the fires of queue {self.queue!r} need the scheduler's broker")
        now = self.scheduler.clock.now() if self.scheduler is not None else None
        envelopes = [
            Envelope(
                run_id=fire_run_id(task.id, run_time),
                target=_target(task),
                args=tuple(task.args),
                kwargs=dict(task.kwargs),
                queue=self.queue,
                due=run_time,
                task_id=task.id,
                name=task.name,
                created_at=now,
            )
            for task, run_times in fires
            for run_time in run_times
        ]
        broker.enqueue(envelopes, now)
        for task, _ in fires:  # handed over and done here: a shared store's run slot goes back
            self._release(task.id)

    def __repr__(self) -> str:
        return f"<QueueExecutor (queue={self.queue!r})>"
