"""Submitted runs on a process-pool executor: one child process per attempt.

A pool worker cannot be stopped alone (killing it breaks the whole pool), so each attempt gets
a process of its own, started from the executor's multiprocessing context
(``pool_kwargs["mp_context"]``, else the default one). At most ``max_workers`` of them run at
once (the run lanes see to it). A timeout or ``cancel_run`` terminates that process and no
other. Progress and the outcome come back over a pipe, read by a thread per attempt.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from typing import TYPE_CHECKING, Any

from asyncz_like.runs.context import CURRENT_RUN
from asyncz_like.runs.run import Run, RunError
from asyncz_like.utils import is_coroutine_callable

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from asyncz_like.executors.pool import ProcessPoolExecutor
    from asyncz_like.workers.submitted import AttemptReports, SubmittedRun

logger = logging.getLogger("asyncz_like.runs")


class RemoteError(Exception):
    """What an attempt raised in its child process: its record, and the qualified names of
    its exception type and bases (``retry_on`` is matched against those)."""

    def __init__(self, error: RunError, type_names: tuple[str, ...]) -> None:
        super().__init__(f"{error.type}: {error.message}")
        self.error = error
        self.type_names = type_names

    def is_instance_of(self, types: tuple[type[BaseException], ...]) -> bool:
        return any(_qualified(kind) in self.type_names for kind in types)


class ProcessExitedError(RuntimeError):
    """The child process of an attempt ended without reporting an outcome."""


def _qualified(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


class _PipeSink:
    """``update_progress`` in the child: update the local copy, tell the parent."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def report_progress(self, run: Run, percent: float, message: str | None) -> None:
        run.progress = percent
        run.message = message if message is not None else run.message
        self.conn.send(("progress", percent, message))


def child_main(conn: Connection, fn: Any, args: tuple[Any, ...], kwargs: Any, run: Run) -> None:
    """Entry point of the child process: run the function once, send back the outcome."""
    CURRENT_RUN.set((run, _PipeSink(conn)))
    try:
        if is_coroutine_callable(fn):
            value = asyncio.run(fn(*args, **kwargs))
        else:
            value = fn(*args, **kwargs)
    except BaseException as exc:
        names = tuple(_qualified(kind) for kind in type(exc).__mro__)
        conn.send(("error", RunError.from_exception(exc), names))
    else:
        try:
            conn.send(("done", value))
        except Exception as exc:  # the result cannot be pickled
            error = RunError(type(exc).__qualname__, f"the result cannot be sent back: {exc}")
            conn.send(("error", error, (_qualified(type(exc)),)))
    finally:
        conn.close()


class ProcessAttempt:
    """A running attempt in its child process: the handle the engine stops it with."""

    def __init__(
        self,
        engine: AttemptReports,
        submitted: SubmittedRun,
        token: int,
        process: BaseProcess,
        conn: Connection,
    ) -> None:
        self.engine, self.submitted, self.token = engine, submitted, token
        self.process, self.conn = process, conn
        self.watcher = threading.Thread(
            target=self._watch, name=f"asyncz_like-run-{submitted.run.id}", daemon=True
        )

    def cancel(self) -> None:
        """Terminate the child process (SIGTERM): only this attempt stops."""
        if self.process.is_alive():
            self.process.terminate()

    def join(self, timeout: float | None = None) -> None:
        self.watcher.join(timeout)

    def _watch(self) -> None:
        engine, submitted, token = self.engine, self.submitted, self.token
        try:
            if not self._read_messages():
                self.process.join()
                code = self.process.exitcode
                engine.failed(submitted, token, ProcessExitedError(f"the process exited ({code})"))
        finally:
            self.conn.close()
            self.process.join()
            engine.ended(submitted, token)

    def _read_messages(self) -> bool:
        """Relay progress until the outcome arrives (True) or the pipe closes (False)."""
        engine, submitted, token = self.engine, self.submitted, self.token
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                return False
            kind = message[0]
            if kind == "progress":
                engine.ledger.report_progress(submitted.run, message[1], message[2])
            elif kind == "done":
                engine.succeeded(submitted, token, message[1])
                return True
            else:
                engine.failed(submitted, token, RemoteError(message[1], message[2]))
                return True


def start_process_attempt(
    engine: AttemptReports, submitted: SubmittedRun, token: int, executor: ProcessPoolExecutor
) -> None:
    """Start one attempt of ``submitted`` in a child process of its own."""
    if not engine.begin(submitted, token):
        engine.ended(submitted, token)
        return
    context = executor.pool_kwargs.get("mp_context") or multiprocessing.get_context()
    receiver, sender = context.Pipe(duplex=False)
    run = submitted.run
    copy = Run(
        run.id,
        run.task_id,
        run.name,
        run.status,
        0.0,
        None,
        None,
        None,
        run.attempt,
        run.priority,
        run.created_at,
        run.scheduled_at,
        run.started_at,
    )
    process = context.Process(
        target=child_main,
        args=(sender, submitted.fn, submitted.args, submitted.kwargs, copy),
        name=f"asyncz_like-run-{run.id}",
        daemon=True,
    )
    try:
        process.start()
    except Exception as exc:
        receiver.close()
        engine.failed(submitted, token, exc)
        engine.ended(submitted, token)
        return
    finally:
        sender.close()
    attempt = ProcessAttempt(engine, submitted, token, process, receiver)
    if not engine.attach(submitted, token, attempt):
        attempt.cancel()
    attempt.watcher.start()
