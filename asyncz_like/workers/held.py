"""A run a worker holds from a broker, and one attempt of it: the target imported by
reference, a coroutine function on the event loop, a plain function in the worker's threads,
under the run's timeout."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from asyncz_like.brokers.records import Delivery
from asyncz_like.runs.context import CURRENT_RUN, ProgressSink
from asyncz_like.runs.run import Run
from asyncz_like.runs.status import RunStatus
from asyncz_like.utils import is_coroutine_callable, ref_to_obj
from asyncz_like.workers.handoff import ThreadHandoff


class Stop(StrEnum):
    """Why a worker stopped a run before its attempt ended (its outcome is then dropped)."""

    LOST = "lost"  # the lease is no longer ours: another worker may hold the run
    CANCEL = "cancel"  # someone asked to cancel it: it ends CANCELLED
    GIVE_BACK = "give back"  # the worker is stopping: the run goes back to its queue


class Ending(StrEnum):
    """How an attempt ended."""

    RETURNED = "returned"
    RAISED = "raised"
    TIMED_OUT = "timed out"
    STOPPED = "stopped"  # cancelled by the worker (see HeldRun.stop)


@dataclass(frozen=True, slots=True)
class Outcome:
    ending: Ending
    value: Any = None
    exception: BaseException | None = None


@dataclass(slots=True, eq=False)
class HeldRun:
    """One delivery being worked on: its record (for events and ``current_run()``), the
    asyncio task that runs its attempt and then records the outcome, and the thread running
    it, if any."""

    delivery: Delivery
    run: Run
    started: float = field(default_factory=time.monotonic)
    stop_reason: Stop | None = None
    #: The task supervising the run. Its attempt runs in it rather than in a task of its own:
    #: one task per run instead of two cut the worker's CPU per no-op run (see
    #: docs/performance.md, "The worker's own cost"). ``stop`` cancels it only during the
    #: attempt, which turns the cancel into a STOPPED outcome.
    task: asyncio.Task[None] | None = None
    attempting: bool = False
    attempted: bool = False
    thread_future: Future[None] | None = None
    thread_returned: bool = False  # the function run in a thread returned or raised
    #: The latest progress sent to the broker: the end waits for it, or a message sent just
    #: before the end would arrive after it and be refused.
    progress_sent: Future[Any] | None = None

    @classmethod
    def of(cls, delivery: Delivery, now: datetime) -> HeldRun:
        envelope = delivery.envelope
        run = Run(
            envelope.run_id,
            envelope.task_id,
            envelope.name or envelope.target,
            RunStatus.RUNNING,
            0.0,
            None,
            None,
            None,
            delivery.attempt,
            envelope.priority,
            envelope.created_at,
            envelope.due or envelope.created_at,
            now,
            None,
            envelope.queue,
            delivery.token,
        )
        return cls(delivery, run)

    @property
    def run_id(self) -> str:
        return self.delivery.envelope.run_id

    @property
    def token(self) -> int:
        return self.delivery.token

    def stop(self, reason: Stop) -> bool:
        """Stop the attempt: a coroutine is cancelled; a thread cannot be, so its outcome is
        dropped when it returns. False when it was stopped already."""
        if self.stop_reason is not None:
            return False
        self.stop_reason = reason
        if self.attempting and self.task is not None:
            self.task.cancel()
        return True

    def attempt_ended(self) -> bool:
        """Whether the attempt is over (its outcome is being recorded: too late to stop)."""
        return self.attempted

    def thread_busy(self) -> bool:
        """Whether a thread still runs this attempt's function."""
        future = self.thread_future
        return future is not None and not (self.thread_returned or future.done())


async def attempt(held: HeldRun, threads: ThreadHandoff, sink: ProgressSink) -> Outcome:
    """One attempt of ``held``'s run, in ``held.task``, whose context ``current_run()`` then
    reads as this run's record. Never raises but a cancel not made by ``held.stop`` (the
    loop closing): what the work raised is in the outcome."""
    envelope = held.delivery.envelope
    CURRENT_RUN.set((held.run, sink))  # each task runs in a context of its own
    scope = None
    try:
        held.attempting = True
        if envelope.timeout is None:  # entering asyncio.timeout(None) costs 1.9 µs a run
            value = await _call(held, threads)
        else:
            async with asyncio.timeout(envelope.timeout) as scope:
                value = await _call(held, threads)
    except asyncio.CancelledError:
        if held.stop_reason is None:
            raise
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()  # the cancel was held.stop's, and is handled here
        return Outcome(Ending.STOPPED)
    except TimeoutError as exc:
        ending = Ending.TIMED_OUT if scope is not None and scope.expired() else Ending.RAISED
        return Outcome(ending, exception=exc)
    except BaseException as exc:  # the work's own exception, whatever it is, is its outcome
        return Outcome(Ending.RAISED, exception=exc)
    finally:
        held.attempting, held.attempted = False, True
    return Outcome(Ending.RETURNED, value)


async def _call(held: HeldRun, threads: ThreadHandoff) -> Any:
    envelope = held.delivery.envelope
    fn = ref_to_obj(envelope.target)
    if is_coroutine_callable(fn):
        return await fn(*envelope.args, **envelope.kwargs)
    return await _in_thread(held, threads, fn)


async def _in_thread(held: HeldRun, threads: ThreadHandoff, fn: Any) -> Any:
    envelope = held.delivery.envelope
    call = functools.partial(contextvars.copy_context().run, fn, *envelope.args, **envelope.kwargs)
    answer, held.thread_future = threads.submit(call)
    try:
        value = await answer
    except asyncio.CancelledError:  # stopped or timed out: if not started, it never starts
        held.thread_future.cancel()
        raise
    except BaseException:
        held.thread_returned = True
        raise
    held.thread_returned = True
    return value
