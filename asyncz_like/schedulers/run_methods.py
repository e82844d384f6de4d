"""The scheduler's run API: background work submitted, followed and cancelled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from asyncz_like.runs.history import RunHistory
from asyncz_like.runs.options import BACKGROUND_OPTION_NAMES, parse_options
from asyncz_like.runs.run import Run
from asyncz_like.runs.stats import RunStats
from asyncz_like.schedulers.run_side import RunSide
from asyncz_like.workers import reading
from asyncz_like.workers.cancelling import CancelResult
from asyncz_like.workers.engine import RunEngine

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)


class BackgroundFunction(Protocol[P, R_co]):
    """A function decorated with ``@scheduler.background``: still callable as it was."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    def submit(self, *args: Any, **kwargs: Any) -> Run: ...
    def delay(self, *args: Any, **kwargs: Any) -> Run: ...


class RunMethods:
    """Runs of background work on the scheduler's executors, and the records of every run
    (no state of its own: the scheduler's ``__init__`` makes the :class:`RunSide`)."""

    _run_side: RunSide

    @property
    def _runs(self) -> RunEngine:
        return self._run_side.engine

    def submit(
        self,
        fn: Callable[..., Any] | str,
        /,
        *args: Any,
        name: str | None = None,
        priority: int = 0,
        timeout: Any = None,
        max_retries: int = 0,
        retry_backoff: Any = 1.0,
        retry_on: Any = None,
        delay: Any = None,
        schedule_at: Any = None,
        executor: str | None = None,
        **kwargs: Any,
    ) -> Run:
        """Run ``fn(*args, **kwargs)`` in the background; return its record at once (PENDING).

        ``fn`` is a callable or a ``"module:qualname"`` string. ``priority``: higher first
        when workers are short (see TaskPriority). ``timeout``: seconds (or a timedelta) per
        attempt. ``max_retries`` further attempts after a failure that is an instance of
        ``retry_on`` (default: Exception), waiting ``retry_backoff`` (seconds, a timedelta
        or a Backoff) doubled each time, with jitter. ``delay`` (seconds, timedelta) or
        ``schedule_at`` (datetime; naive means the scheduler's time zone) starts it later.
        Bad input raises TypeError/ValueError here.
        """
        return self._run_side.submit(
            fn, tuple(args), dict(kwargs), name, priority, timeout, max_retries,
            retry_backoff, retry_on, delay, schedule_at, executor,
        )  # fmt: skip

    def get_run(self, run_id: str) -> Run | None:
        """The run with this id (submitted or fired), or None when unknown or expired."""
        return reading.get_run(self._run_side.engine, run_id)

    def list_runs(
        self, status: Any = None, task_id: str | None = None, limit: int | None = 100
    ) -> list[Run]:
        """Runs newest first; ``status`` is one status (or its value) or several."""
        return reading.list_runs(self._run_side.engine, status, task_id, limit)

    async def wait_for(self, run_id: str, timeout: float | None = None) -> Run:  # noqa: ASYNC109  # as asyncio.wait_for
        """Wait until the run is finished and return it. RunLookupError for an unknown id,
        TimeoutError after ``timeout`` seconds (the run goes on), SchedulerNotRunningError
        at once when the scheduler is stopped and the run has not finished: it would not
        run until a start."""
        self._run_side.check_waitable(run_id)
        return await reading.wait_async(self._run_side.engine, run_id, timeout)

    def wait_for_sync(self, run_id: str, timeout: float | None = None) -> Run:
        """:meth:`wait_for` for threads: blocks the calling thread (RuntimeError when called
        inside a running event loop, which it would block)."""
        reading.refuse_blocking_in_loop()
        self._run_side.check_waitable(run_id)
        return reading.wait_blocking(self._run_side.engine, run_id, timeout)

    def cancel_run(self, run_id: str) -> CancelResult:
        """Cancel a pending, retrying or running submitted run. The result is true when it
        was cancelled (use it as a bool); ``await`` it to wait until the cancelled attempt
        has really stopped (it returns the same bool).

        A coroutine is cancelled, a process terminated; a thread cannot be stopped: its run
        is marked CANCELLED at once and its result dropped when it ends.
        """
        engine = self._run_side.engine
        return CancelResult(run_id, engine, engine.cancel(run_id))

    def stats(self) -> RunStats:
        """Counts by status, queue and workers, throughput, execution times, error rate."""
        return reading.snapshot_stats(self._run_side.engine)

    @property
    def run_history(self) -> RunHistory:
        return self._run_side.engine.ledger.history

    def executor_failed(self, task_id: str, error: BaseException | None) -> None:
        """An executor could not run what it was given (the run of ``task_id``)."""
        self._run_side.engine.executor_failed(task_id, error)

    def background(self, fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Decorator: give a function ``.submit(*args, **kwargs)`` (alias ``.delay``) that
        submits it with these ``options`` (those of :meth:`submit`; a call's own win)."""
        unknown = set(options) - BACKGROUND_OPTION_NAMES
        if unknown:
            raise TypeError(f"background() got unexpected option(s): {sorted(unknown)}")
        parse_options(**options)  # bad options fail at decoration time

        def decorate(function: Callable[P, R_co]) -> BackgroundFunction[P, R_co]:
            def submit(*args: Any, **kwargs: Any) -> Run:
                return self.submit(function, *args, **{**options, **kwargs})

            try:
                function.submit = submit  # type: ignore[attr-defined]
                function.delay = submit  # type: ignore[attr-defined]
            except AttributeError:
                raise TypeError(f"background() cannot decorate {function!r}") from None
            return cast(BackgroundFunction[P, R_co], function)

        return decorate if fn is None else decorate(fn)
