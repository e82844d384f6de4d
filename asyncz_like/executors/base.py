"""The executor contract: asyncz's ``start``, ``send_task``, ``do_send_task``, ``shutdown``."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from asyncz_like.exceptions import MaximumInstancesError
from asyncz_like.executors import runner
from asyncz_like.executors.ahead import AheadRunTimes
from asyncz_like.executors.runner import RunContext, no_events
from asyncz_like.plugin_options import keep_extra_options
from asyncz_like.utils import is_coroutine_callable

if TYPE_CHECKING:
    from asyncz_like.clock import Clock
    from asyncz_like.events.base import SchedulerEvent
    from asyncz_like.executors.runner import FireRecorder
    from asyncz_like.tasks.task import Task


class RunSlotRelease(Protocol):
    """Frees the shared run slot a run held, when it held one."""

    def release(self, task_id: str) -> None: ...


class ExecutorScheduler(Protocol):
    """What an executor needs of the scheduler that started it. A Protocol, so that
    ``executors/`` does not import ``schedulers/`` (which is above it)."""

    @property
    def clock(self) -> Clock: ...
    @property
    def fire_recorder(self) -> FireRecorder | None: ...
    @property
    def run_slots(self) -> RunSlotRelease: ...
    def wants_event(self, code: int) -> bool: ...
    def dispatch_event(self, event: SchedulerEvent) -> None: ...
    def executor_failed(self, task_id: str, error: BaseException | None) -> None: ...


class FutureLike(Protocol):
    """What asyncio and concurrent.futures futures have in common here."""

    def cancelled(self) -> bool: ...
    def exception(self) -> BaseException | None: ...
    def result(self) -> Any: ...


class BaseExecutor(ABC):
    """Runs tasks handed over by the scheduler.

    Invariants: ``send_task`` raises MaximumInstancesError, and runs nothing, when the task
    already has ``max_instances`` runs in flight here; every run handed over ends in exactly
    one call of ``run_task_success`` or ``run_task_error``, which frees its instance slot.
    """

    #: Whether the executor calls ``executors.ahead.take_up`` when a fire leaves its queue
    #: (and ``send_task`` marks taken up at once a fire it has room to start): a fire whose
    #: release is held then stays claimed in its store until a worker has it. For other
    #: executors (asyncz's subclasses among them) the hand-over counts as the take-up.
    reports_take_up = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A do_send_task of its own (asyncz code subclasses the pools so) reports take-ups
        # only where the class says so: else its fires claimed ahead would stay claimed.
        if "do_send_task" in cls.__dict__ and "reports_take_up" not in cls.__dict__:
            cls.reports_take_up = False

    def __init__(self, **options: Any) -> None:
        self._instances: dict[str, int] = {}
        #: The sum of ``_instances``: runs handed over and not yet counted as ended.
        self._in_flight = 0
        #: Ids of runs that ended, not yet taken off ``_instances``: a worker thread ending a
        #: run only appends here (atomic), so that ends never wait for the lock.
        self._ended: deque[str] = deque()
        self._worker_threads: set[int] = set()
        self._instances_lock = threading.Lock()
        self.scheduler: ExecutorScheduler | None = None
        self.alias = "default"
        self.logger = logging.getLogger("asyncz_like.executors")
        self._contexts: dict[str | None, RunContext] = {}  # by store alias (run_context)
        keep_extra_options(self, options)

    def start(self, scheduler: ExecutorScheduler, alias: str) -> None:
        """Called when the scheduler starts, or when the executor is added to a running one."""
        self.scheduler = scheduler
        self.alias = alias
        self.logger = logging.getLogger(f"asyncz_like.executors.{alias}")
        self._contexts = {}

    def shutdown(self, wait: bool = True) -> None:  # noqa: B027  # optional hook
        """Stop; with ``wait`` let running work finish, otherwise cancel what can be cancelled."""

    def send_task(self, task: Task, run_times: list[datetime]) -> None:
        """Hand ``task`` over to run once per run time (or once, coalesced, by the scheduler)."""
        with self._instances_lock:
            self._count_ended()
            refused = self._take_instance(task)
            in_flight = self._in_flight
        if refused is not None:
            raise refused
        try:
            self.do_send_task(task, run_times)
        except BaseException:
            self._release(task.id)
            raise
        if run_times.__class__ is AheadRunTimes and run_times.waiting and self.reports_take_up:
            self._take_up_at_once(task, run_times, in_flight)

    def send_tasks(self, fires: Sequence[tuple[Task, list[datetime]]]) -> list[Exception | None]:
        """``send_task`` for each ``(task, run_times)`` of a pass's slice, in order; for each,
        None when it was handed over, else the error that refused it (MaximumInstancesError
        when ``max_instances`` run already). Executors may hand a slice over at once."""
        outcomes: list[Exception | None] = []
        for task, run_times in fires:
            try:
                self.send_task(task, run_times)
            except Exception as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    def _take_instances(self, tasks: Sequence[Task]) -> tuple[list[Exception | None], int]:
        """An instance of each task (None), or the MaximumInstancesError that refuses one,
        under one hold of the lock; and the runs in flight then, these included."""
        outcomes: list[Exception | None] = []
        with self._instances_lock:
            self._count_ended()
            for task in tasks:
                try:
                    outcomes.append(self._take_instance(task))
                except Exception as exc:  # that task's fire only: the others of the slice go on
                    outcomes.append(exc)
            in_flight = self._in_flight
        return outcomes, in_flight

    def _take_up_at_once(self, task: Task, run_times: AheadRunTimes, in_flight: int) -> None:
        """Mark taken up a fire just handed over when its lane has room to start it at once:
        at most its capacity of runs were in flight, this one and any queued ahead of it
        included (see ``run_lane``). The count lags behind runs that ended, never ahead of
        them, so a fire marked here never waits for a run to end; the others are marked by
        the worker that takes them up."""
        assert task.fn is not None
        capacity = self.run_lane(is_coroutine_callable(task.fn))[1]
        if capacity is None or in_flight <= capacity:
            run_times.waiting = False

    def _take_instance(self, task: Task) -> MaximumInstancesError | None:
        """Count a run of ``task`` in flight (with ``_instances_lock`` held), or refuse it."""
        limit = task.max_instances or 1
        running = self._instances.get(task.id, 0)
        if running >= limit:
            return MaximumInstancesError(task.id, limit)
        self._instances[task.id] = running + 1
        self._in_flight += 1
        return None

    @abstractmethod
    def do_send_task(self, task: Task, run_times: list[datetime]) -> Any:
        """Start running the task; report back through ``run_task_success``/``run_task_error``."""

    def run_task_success(self, task_id: str, events: Sequence[SchedulerEvent]) -> None:
        """The run finished (whatever the task returned or raised): dispatch its events."""
        self._release(task_id)
        self.dispatch_events(events)

    def dispatch_events(self, events: Sequence[SchedulerEvent]) -> None:
        """Hand a run's events to the scheduler's listeners."""
        if self.scheduler is not None:
            for event in events:
                self.scheduler.dispatch_event(event)

    def run_task_error(self, task_id: str, error: BaseException | None = None) -> None:
        """The executor itself failed to run the task (``error`` says how, when known)."""
        self._release(task_id)
        self.logger.error(
            "Error running task %s", task_id, exc_info=error or True, extra={"task_id": task_id}
        )
        if self.scheduler is not None:  # a submitted run that never started fails
            self.scheduler.executor_failed(task_id, error)

    def finish_future(self, task_id: str, future: FutureLike) -> None:
        """Report a run's future (asyncio or concurrent.futures) once it is done."""
        if future.cancelled():
            self._release(task_id)
        elif (error := future.exception()) is not None:
            self.run_task_error(task_id, error)
        else:
            self.run_task_success(task_id, future.result())

    def run_context(self, task: Task) -> RunContext:
        """What the runner needs: the store alias, the scheduler's clock and listener mask,
        and the recorder that makes a run record of each fire."""
        scheduler = self.scheduler
        # A scheduler that has not been set up (asyncz code hands over a mock of its
        # BaseScheduler) has no clock: the run reads the system clock and reports every event.
        # Read without getattr(), a builtin call per fire.
        try:
            clock = None if scheduler is None else scheduler.clock
        except AttributeError:
            clock = None
        if clock is None or scheduler is None:
            return RunContext(task.store_alias, self.logger.name, _system_now)
        if task.is_background_run:  # reports to the run engine itself
            return RunContext(None, self.logger.name, clock.now, no_events)
        # One context per store, made again when the scheduler's recorder changes (setup()).
        context = self._contexts.get(task.store_alias)
        if context is None or context.recorder is not scheduler.fire_recorder:
            context = self._contexts[task.store_alias] = RunContext(
                task.store_alias,
                self.logger.name,
                clock.now,
                scheduler.wants_event,
                scheduler.fire_recorder,
            )
        return context

    def run_lane(self, coroutine: bool) -> tuple[str, int | None]:
        """The lane in which submitted runs of this kind wait for this executor, and how many
        of them it runs at once (None: no limit). Default: one lane, ``max_workers`` wide
        when the executor has that attribute."""
        capacity = getattr(self, "max_workers", None)
        return "workers", capacity if isinstance(capacity, int) else None

    def _register_worker_thread(self) -> None:
        """Initializer of the executor's worker threads: remember them by identity."""
        self._worker_threads.add(threading.get_ident())

    def in_worker_thread(self) -> bool:
        """Whether the caller runs on one of this executor's threads (a task shutting the
        scheduler down): such a caller cannot wait for the executor to finish."""
        return threading.get_ident() in self._worker_threads

    @property
    def instances(self) -> dict[str, int]:
        """Runs in flight here, by task id."""
        with self._instances_lock:
            self._count_ended()
            return dict(self._instances)

    def _count_ended(self) -> None:
        """Take the runs that ended off the counts (with ``_instances_lock`` held)."""
        ended, counts = self._ended, self._instances
        while ended:
            task_id = ended.popleft()
            remaining = counts.get(task_id, 0) - 1
            if remaining > 0:
                counts[task_id] = remaining
            elif counts.pop(task_id, None) is None:
                continue  # a run never counted (QueueExecutor's): not in flight either
            self._in_flight -= 1

    def _release(self, task_id: str) -> None:
        self._ended.append(task_id)  # counted by the next send_task (or read of instances)
        # A slot in a shared store, when the run took one (a scheduler that has not been set
        # up, as asyncz's tests mock one, has no slots). Read without getattr(), once per run.
        scheduler = self.scheduler
        try:
            run_slots = None if scheduler is None else scheduler.run_slots
        except AttributeError:
            return
        if run_slots is not None:
            run_slots.release(task_id)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} (alias={self.alias})>"


def _system_now() -> datetime:
    """The clock of a run handed over by a scheduler without one: this module's ``datetime``
    (as asyncz's executors read it, so code that replaces that clock still does)."""
    return datetime.now(UTC)


def _logger_name(logger: logging.Logger | str | None) -> str:
    if isinstance(logger, logging.Logger):
        return logger.name
    return logger or "asyncz_like.executors"


def run_task(
    task: Task,
    store_alias: str | None,
    run_times: list[datetime],
    logger: logging.Logger | str | None = None,
) -> list[SchedulerEvent]:
    """asyncz's signature of the runner: call ``task`` once per run time not missed and
    return the events to dispatch; errors are logged to ``logger`` (a logger or its name)."""
    context = RunContext(store_alias, _logger_name(logger))
    return list(runner.run_task(task, run_times, context))


async def run_coroutine_task(
    task: Task,
    store_alias: str | None,
    run_times: list[datetime],
    logger: logging.Logger | str | None = None,
) -> list[SchedulerEvent]:
    """:func:`run_task` for coroutine functions."""
    context = RunContext(store_alias, _logger_name(logger))
    return list(await runner.run_coroutine_task(task, run_times, context))
