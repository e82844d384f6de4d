"""How a submitted run travels through any executor: as a task whose function is a call
object that reports each attempt to the engine. Any executor that calls ``task.fn`` in this
process (threads, the event loop, inline, or a user's own) runs it this way."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar

from asyncz_like.executors.asyncio import in_loop_thread
from asyncz_like.runs.context import CURRENT_RUN
from asyncz_like.tasks.record import TaskValues
from asyncz_like.tasks.task import Task

if TYPE_CHECKING:
    from asyncz_like.workers.submitted import AttemptReports, SubmittedRun

#: A run task may be handed over again (a retry) before the previous hand-over is released.
_NO_LIMIT = 2**31 - 1


class RunTask(Task):
    """The task an executor is given for one hand-over of a run. Never stored; its id is the
    run's id. Executors build no TASK_* events and no fire record for it."""

    __slots__ = ()
    is_background_run: ClassVar[bool] = True

    @classmethod
    def of_run(cls, fn: Any, run_id: str, name: str | None, executor: str) -> RunTask:
        """The task of one hand-over: internal and already validated, so built from a
        record, without Task's checks."""
        values: TaskValues = (
            run_id,
            None,
            None,
            (),
            None,
            name,
            None,
            executor,
            None,
            False,
            None,
            _NO_LIMIT,
        )
        return cls.from_record((values, fn, None))


def make_run_task(engine: AttemptReports, submitted: SubmittedRun, token: int) -> RunTask:
    call = (
        AsyncCall(engine, submitted, token)
        if submitted.coroutine
        else SyncCall(engine, submitted, token)
    )
    return RunTask.of_run(call, submitted.run.id, submitted.run.name, submitted.options.executor)


class SyncCall:
    """One attempt of a plain function, in the thread the executor calls it from, inside a
    copy of the context ``submit`` was called in."""

    __slots__ = ("engine", "submitted", "token")

    def __init__(self, engine: AttemptReports, submitted: SubmittedRun, token: int) -> None:
        self.engine, self.submitted, self.token = engine, submitted, token

    def __call__(self) -> None:
        engine, submitted, token = self.engine, self.submitted, self.token
        try:
            if not engine.begin(submitted, token):
                return
            context = submitted.context.copy()
            context.run(CURRENT_RUN.set, (submitted.run, engine.ledger))
            try:
                value = context.run(submitted.fn, *submitted.args, **submitted.kwargs)
            except BaseException as exc:
                engine.failed(submitted, token, exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                engine.succeeded(submitted, token, value)
        finally:
            engine.ended(submitted, token)


class AsyncCall:
    """One attempt of a coroutine function: an inner asyncio task (in a copy of the submitter's
    context) that the engine can cancel at a deadline or on ``cancel_run``."""

    __slots__ = ("engine", "submitted", "token")

    def __init__(self, engine: AttemptReports, submitted: SubmittedRun, token: int) -> None:
        self.engine, self.submitted, self.token = engine, submitted, token

    async def __call__(self) -> None:
        engine, submitted, token = self.engine, self.submitted, self.token
        try:
            if not engine.begin(submitted, token):
                return
            await self._attempt(engine, submitted, token)
        finally:
            engine.ended(submitted, token)

    async def _attempt(self, engine: AttemptReports, submitted: SubmittedRun, token: int) -> None:
        loop = asyncio.get_running_loop()
        context = submitted.context.copy()
        context.run(CURRENT_RUN.set, (submitted.run, engine.ledger))
        inner = loop.create_task(_invoke(submitted), context=context)
        if not engine.attach(submitted, token, CoroutineHandle(loop, inner)):
            inner.cancel()
        try:
            value = await inner
        except asyncio.CancelledError:
            engine.interrupted(submitted, token)  # a no-op when the engine cancelled it
            outer = asyncio.current_task()
            if outer is not None and outer.cancelling():
                raise  # the executor is being shut down: let its task end cancelled
            return
        except BaseException as exc:
            engine.failed(submitted, token, exc)
            if not isinstance(exc, Exception):
                raise
            return
        engine.succeeded(submitted, token, value)


async def _invoke(submitted: SubmittedRun) -> Any:
    return await submitted.fn(*submitted.args, **submitted.kwargs)


class CoroutineHandle:
    """Cancels the inner task of a coroutine attempt, from any thread."""

    __slots__ = ("loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        self.loop, self.task = loop, task

    def cancel(self) -> None:
        if self.loop.is_closed():
            return
        if in_loop_thread(self.loop):
            self.task.cancel()
        else:
            self.loop.call_soon_threadsafe(self.task.cancel)

    def join(self, timeout: float | None = None) -> None:
        """A coroutine cannot be waited for from a thread here; the executor waits for it."""
