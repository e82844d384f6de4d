"""Running one task for its run times: misfire check, the call, the log lines, the events."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import traceback as traceback_module
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from datetime import UTC, datetime
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Protocol

from asyncz_like.clock import SystemClock
from asyncz_like.events.base import TaskExecutionEvent
from asyncz_like.events.constants import TASK_ERROR, TASK_EXECUTED, TASK_MISSED
from asyncz_like.runs.context import CURRENT_FIRE
from asyncz_like.runs.fires import FireInProgress

if TYPE_CHECKING:
    from asyncz_like.tasks.task import Task

WantsEvent = Callable[[int], bool]
Now = Callable[[], datetime]


def _wall_now() -> datetime:
    return datetime.now(UTC)


def _all_events(_: int) -> bool:
    return True


def no_events(_: int) -> bool:
    """The listener mask of a run of background work: it reports RUN_* events instead."""
    return False


class FireRecorder(Protocol):
    """Makes a run record of each call (``asyncz_like.workers.fires``)."""

    def begin(self, task: Task, run_time: datetime) -> Any: ...
    def completed(self, task: Task, run_time: datetime, record: Any, value: Any) -> None: ...
    def failed(self, task: Task, run_time: datetime, record: Any, exc: BaseException) -> None: ...


class RunContext:
    """What a runner needs from the scheduler, in a form that also crosses process borders.

    ``recorder`` (optional) records each call as a run. Pickled to a worker process, it
    becomes one that collects the records to be sent back.
    """

    __slots__ = ("logger_name", "now", "recorder", "store_alias", "wall_clock", "wants")

    def __init__(
        self,
        store_alias: str | None,
        logger_name: str,
        now: Now = _wall_now,
        wants: WantsEvent = _all_events,
        recorder: FireRecorder | None = None,
    ) -> None:
        self.store_alias = store_alias
        self.logger_name = logger_name
        self.now = now
        #: ``now`` is the system's clock: lateness is then read off ``time.time()`` (no
        #: datetime is built for it at each fire).
        self.wall_clock = now is _wall_now or type(getattr(now, "__self__", None)) is SystemClock
        self.wants = wants
        self.recorder = recorder

    def __getstate__(self) -> tuple[str | None, str, bool]:
        return (self.store_alias, self.logger_name, self.recorder is not None)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.store_alias, self.logger_name = state[0], state[1]
        self.now = _wall_now
        self.wall_clock = True
        self.wants = _all_events
        self.recorder = None
        if len(state) > 2 and state[2]:
            from asyncz_like.runs.fires import CollectingRecorder

            self.recorder = CollectingRecorder()


#: The most a fire may be handed over ahead of its run time (a scheduler's ``claim_ahead``).
MAX_EARLY = 1.0


def _lateness(run_time: datetime, context: RunContext) -> float:
    """Seconds since ``run_time``. A fire handed over before it (claimed ahead by a pass over
    stores that do I/O: at most MAX_EARLY) is waited for here first, so it never starts early."""
    lateness = seconds_since(run_time, context)
    if -MAX_EARLY <= lateness < 0:
        time.sleep(-lateness)
        lateness = seconds_since(run_time, context)
    return lateness


def seconds_since(run_time: datetime, context: RunContext) -> float:
    """Seconds from ``run_time`` to the context's now (negative: it is ahead)."""
    if context.wall_clock:
        return time.time() - run_time.timestamp()
    return (context.now() - run_time).total_seconds()


def _missed(
    task: Task, run_time: datetime, lateness: float, context: RunContext, events: list[Any]
) -> bool:
    grace = task.mistrigger_grace_time
    if grace is None or lateness <= grace:
        return False
    logging.getLogger(context.logger_name).warning(
        "Run time of task %s (%s) was missed by %.3f s",
        task.id,
        task.name,
        lateness,
        extra={"task_id": task.id, "scheduled_at": run_time},
    )
    if context.wants(TASK_MISSED):
        events.append(_event(TASK_MISSED, task, context, run_time))
    return True


def _event(code: int, task: Task, context: RunContext, run_time: datetime) -> TaskExecutionEvent:
    return TaskExecutionEvent(
        code=code,
        alias=context.store_alias,
        task_id=task.id,
        store=context.store_alias,
        scheduled_run_time=run_time,
        task_name=task.name,
    )


def _success(
    task: Task, context: RunContext, run_time: datetime, value: Any, events: list[Any]
) -> None:
    if context.wants(TASK_EXECUTED):
        event = _event(TASK_EXECUTED, task, context, run_time)
        event.return_value = value
        events.append(event)


def _failure(
    task: Task, context: RunContext, run_time: datetime, exc: Exception, events: list[Any]
) -> None:
    logging.getLogger(context.logger_name).error(
        "Task %s (%s) raised %s: %s",
        task.id,
        task.name,
        type(exc).__name__,
        exc,
        exc_info=exc,
        extra={"task_id": task.id, "task_name": task.name, "scheduled_at": run_time},
    )
    if context.wants(TASK_ERROR):
        event = _event(TASK_ERROR, task, context, run_time)
        event.exception = exc
        event.traceback = "".join(traceback_module.format_tb(exc.__traceback__))
        events.append(event)


def _raised(
    task: Task,
    run_time: datetime,
    context: RunContext,
    fire: FireInProgress | None,
    exc: BaseException,
    events: list[Any],
) -> bool:
    """A fire's call raised ``exc``: record it; an error of the work (an Exception) is also
    logged and listed as TASK_ERROR. False: anything else (a cancellation, an exit), which
    the caller raises again."""
    if fire is not None:
        fire.recorder.failed(task, run_time, fire.record, exc)
    if not isinstance(exc, Exception):
        return False
    _failure(task, context, run_time, exc, events)
    return True


def _returned(
    task: Task,
    run_time: datetime,
    context: RunContext,
    fire: FireInProgress | None,
    value: Any,
    events: list[Any],
) -> None:
    """A fire's call returned ``value``: record it and list TASK_EXECUTED."""
    if fire is not None:
        fire.recorder.completed(task, run_time, fire.record, value)
    _success(task, context, run_time, value, events)


def run_task(
    task: Task, run_times: list[datetime], context: RunContext
) -> list[TaskExecutionEvent]:
    """Call a synchronous task once per run time not missed; return the events to dispatch.

    A lifecycle generator that finishes (StopIteration from ``send``) counts as a normal
    return, not an error.
    """
    events: list[TaskExecutionEvent] = []
    fn = task.fn
    assert fn is not None
    recorder = context.recorder
    for run_time in run_times:
        if _missed(task, run_time, _lateness(run_time, context), context, events):
            continue
        fire = token = None  # the fire's record, current while it runs (``current_run``)
        if recorder is not None:
            fire = FireInProgress(recorder, task, run_time, recorder.begin(task, run_time))
            token = CURRENT_FIRE.set(fire)
        try:
            value = fn(*task.args, **task.call_kwargs())
        except StopIteration as stop:
            value = stop.value
        except BaseException as exc:
            if fire is not None:
                CURRENT_FIRE.reset(token)  # type: ignore[arg-type]
            if not _raised(task, run_time, context, fire, exc, events):
                raise
            continue
        if fire is not None:
            CURRENT_FIRE.reset(token)  # type: ignore[arg-type]
        _returned(task, run_time, context, fire, value, events)
    return events


async def run_coroutine_task(
    task: Task, run_times: list[datetime], context: RunContext
) -> list[TaskExecutionEvent]:
    """Like :func:`run_task` for coroutine functions (``StopAsyncIteration`` ends a lifecycle)."""
    events: list[TaskExecutionEvent] = []
    fn = task.fn
    assert fn is not None
    recorder = context.recorder
    for run_time in run_times:
        lateness = seconds_since(run_time, context)
        if -MAX_EARLY <= lateness < 0:  # handed over early (see _lateness): wait, never block
            await asyncio.sleep(-lateness)
            lateness = seconds_since(run_time, context)
        if _missed(task, run_time, lateness, context, events):
            continue
        fire = token = None  # as in run_task
        if recorder is not None:
            fire = FireInProgress(recorder, task, run_time, recorder.begin(task, run_time))
            token = CURRENT_FIRE.set(fire)
        try:
            value = await fn(*task.args, **task.call_kwargs())
        except StopAsyncIteration:
            value = None
        except BaseException as exc:  # CancelledError included: the record says CANCELLED
            if fire is not None:
                CURRENT_FIRE.reset(token)  # type: ignore[arg-type]
            if not _raised(task, run_time, context, fire, exc, events):
                raise
            continue
        if fire is not None:
            CURRENT_FIRE.reset(token)  # type: ignore[arg-type]
        _returned(task, run_time, context, fire, value, events)
    return events


#: The first step of a coroutine task's run (start_coroutine_task): (the events to dispatch
#: once it ends, the coroutine that runs the rest or None when it ended, what that waits for,
#: the context to run it in). A tuple: a NamedTuple cost a burst fire 5 % more instructions.
FirstStep = tuple[
    list[TaskExecutionEvent],
    "Coroutine[Any, Any, list[TaskExecutionEvent]] | None",
    Any,
    contextvars.Context,
]


def start_coroutine_task(task: Task, run_times: list[datetime], context: RunContext) -> FirstStep:
    """Run the first step of a coroutine task's run now, in a context of its own (as Python
    3.12's eager tasks do), as :func:`run_coroutine_task` would run it.

    Most fires are one run time that never waits: they end here, without a coroutine around
    the task's own. A run of several run times, or one handed over ahead of its run time
    (which waits for it first), takes its first step in :func:`run_coroutine_task`.
    """
    fire_context = contextvars.copy_context()
    if len(run_times) == 1:
        run_time = run_times[0]
        # seconds_since(), written out: with _start_fire's _returned() call, it cost a burst
        # fire 1.5 % more instructions (benchmarks/instructions.py: 61,600 for 60,677)
        if context.wall_clock:
            lateness = time.time() - run_time.timestamp()
        else:
            lateness = (context.now() - run_time).total_seconds()
        if not -MAX_EARLY <= lateness < 0:
            return _start_fire(task, run_time, lateness, context, fire_context)
    coroutine = run_coroutine_task(task, run_times, context)
    try:
        return [], coroutine, fire_context.run(coroutine.send, None), fire_context
    except StopIteration as stop:
        return stop.value, None, None, fire_context


def _start_fire(
    task: Task,
    run_time: datetime,
    lateness: float,
    context: RunContext,
    fire_context: contextvars.Context,
) -> FirstStep:
    """The first step of a fire for one run time that is due (see start_coroutine_task)."""
    events: list[TaskExecutionEvent] = []
    grace = task.mistrigger_grace_time  # _missed() asked only when it may be
    if grace is not None and lateness > grace:
        _missed(task, run_time, lateness, context, events)
        return events, None, None, fire_context
    recorder = context.recorder
    fire = None
    if recorder is not None:
        fire = FireInProgress(recorder, task, run_time, recorder.begin(task, run_time))
    try:
        coroutine, value = fire_context.run(_first_step, task, fire)
    except StopAsyncIteration:
        coroutine = value = None
    except BaseException as exc:  # CancelledError included, as in run_coroutine_task
        if not _raised(task, run_time, context, fire, exc, events):
            raise
        return events, None, None, fire_context
    if coroutine is not None:  # it waits for ``value``: the rest in a coroutine
        rest = _rest_of_fire(task, run_time, context, fire, coroutine, value, events)
        return events, rest, fire_context.run(rest.send, None), fire_context
    if fire is not None:  # _returned(), written out (see start_coroutine_task)
        recorder.completed(task, run_time, fire.record, value)  # type: ignore[union-attr]
    _success(task, context, run_time, value, events)
    return events, None, None, fire_context


def _first_step(task: Task, fire: FireInProgress | None) -> tuple[Any, Any]:
    """Call the task and run its coroutine up to its first wait: (the coroutine, what it
    waits for), or (None, its value) when it returned."""
    if fire is not None:
        CURRENT_FIRE.set(fire)  # in the fire's own context, which ends with it: no reset
    fn = task.fn
    assert fn is not None
    coroutine = fn(*task.args, **task.call_kwargs())
    if coroutine.__class__ is not CoroutineType:  # another awaitable
        coroutine = _awaited(coroutine)
    try:
        return coroutine, coroutine.send(None)
    except StopIteration as stop:
        return None, stop.value


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


async def _rest_of_fire(
    task: Task,
    run_time: datetime,
    context: RunContext,
    fire: FireInProgress | None,
    coroutine: Coroutine[Any, Any, Any],
    awaited: Any,
    events: list[TaskExecutionEvent],
) -> list[TaskExecutionEvent]:
    """The rest of a fire whose first step waits for ``awaited``, then its end, as in
    :func:`run_coroutine_task`."""
    try:
        value = await _resume(coroutine, awaited)
    except StopAsyncIteration:
        value = None
    except BaseException as exc:
        if not _raised(task, run_time, context, fire, exc, events):
            raise
        return events
    _returned(task, run_time, context, fire, value, events)
    return events


@types.coroutine
def _resume(coroutine: Coroutine[Any, Any, Any], awaited: Any) -> Generator[Any, Any, Any]:
    """Drive on ``coroutine``, whose first step waits for ``awaited``: that is waited for
    first (what is thrown in meanwhile goes to the coroutine), then the coroutine's own."""
    while True:
        try:
            yield awaited
        except BaseException as exc:
            try:
                awaited = coroutine.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        return (yield from coroutine)
