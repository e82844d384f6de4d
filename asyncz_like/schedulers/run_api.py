"""The background-work half of the scheduler's API: submit work, follow it, cancel it.

The logic lives in :mod:`asyncz_like.runs`; this class validates what it is given and hands
it on.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from asyncz_like.enums import SchedulerState
from asyncz_like.exceptions import SchedulerNotRunningError, SerializationError
from asyncz_like.executors.pool import ProcessPoolExecutor
from asyncz_like.runs.history import MemoryRunHistory, RunHistory
from asyncz_like.runs.options import BACKGROUND_OPTION_NAMES, parse_options, resolve_due
from asyncz_like.runs.run import Run
from asyncz_like.runs.stats import RunStats
from asyncz_like.schedulers.config import as_bool, wait_option
from asyncz_like.schedulers.task_api import TaskAPI
from asyncz_like.tasks.validation import resolve_callable
from asyncz_like.utils import (
    check_callable_args,
    get_callable_name,
    is_coroutine_callable,
    obj_to_ref,
)
from asyncz_like.workers import reading
from asyncz_like.workers.cancelling import CancelResult
from asyncz_like.workers.engine import RunEngine
from asyncz_like.workers.fires import FireRecorder
from asyncz_like.workers.persistent import KeptWork, StoredRunHistory, history_for_store

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)


class BackgroundFunction(Protocol[P, R_co]):
    """A function decorated with ``@scheduler.background``: still callable as it was."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    def submit(self, *args: Any, **kwargs: Any) -> Run: ...
    def delay(self, *args: Any, **kwargs: Any) -> Run: ...


class RunAPI(TaskAPI):
    """Runs of background work on the scheduler's executors, and the records of every run."""

    #: True while ``shutdown_async`` waits for running work (no new run starts then).
    _draining = False
    _runs: RunEngine

    def _configure_runs(self, options: Mapping[str, Any]) -> None:
        interval = wait_option(options.get("run_cleanup_interval", 60.0), "run_cleanup_interval")
        engine = getattr(self, "_runs", None)
        default_store = self._stores.get("default")
        if engine is None:
            self._runs = RunEngine(self, _build_history(options, default_store), interval)
        else:  # setup() again while stopped: keep the runs, and the history unless replaced
            engine.cleanup_interval = interval
            if _HISTORY_OPTIONS & set(options):
                engine.replace_history(_build_history(options, default_store))
        record = as_bool(options.get("record_task_runs", True), "record_task_runs")
        self.fire_recorder = self._runs.fires = None
        if record:
            capacity = getattr(self._runs.ledger.history, "max_run_history", None)
            drain_at = max(4 * capacity, 1024) if isinstance(capacity, int) else 1024
            self.fire_recorder = self._runs.fires = FireRecorder(
                self._runs.ledger, self.clock, self._listeners.wants, drain_at
            )

    # -- what the runs need from the scheduler ----------------------------------------------

    def may_start_runs(self) -> bool:
        return self.state == SchedulerState.STATE_RUNNING and not self._draining

    def wake_runs_at(self, when: datetime) -> None:
        if self.running:
            self.wakeup_at(when)

    def executor_failed(self, task_id: str, error: BaseException | None) -> None:
        self._runs.executor_failed(task_id, error)

    # -- the API ----------------------------------------------------------------------------

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
        options = parse_options(name, priority, timeout, max_retries, retry_backoff, retry_on,
                                executor)  # fmt: skip
        target, reference = resolve_callable(fn)
        check_callable_args(target, args, kwargs)
        runner = self.lookup_executor(options.executor)
        if isinstance(runner, ProcessPoolExecutor):
            _check_for_process(target, reference, args, kwargs)
        due = resolve_due(delay, schedule_at, self.clock.now(), self.timezone)
        coroutine = is_coroutine_callable(target)
        lane_kind, capacity = runner.run_lane(coroutine)
        history = self._runs.ledger.history
        record = None
        if isinstance(history, StoredRunHistory):  # the work may be kept for the next start
            record = history.encode_work(target, reference, tuple(args), dict(kwargs), options)
        return self._runs.submit(
            target, tuple(args), dict(kwargs), options, due, coroutine,
            ((options.executor, lane_kind), capacity), options.name or get_callable_name(target),
            record,
        )  # fmt: skip

    def get_run(self, run_id: str) -> Run | None:
        """The run with this id (submitted or fired), or None when unknown or expired."""
        return reading.get_run(self._runs, run_id)

    def list_runs(
        self, status: Any = None, task_id: str | None = None, limit: int | None = 100
    ) -> list[Run]:
        """Runs newest first; ``status`` is one status (or its value) or several."""
        return reading.list_runs(self._runs, status, task_id, limit)

    async def wait_for(self, run_id: str, timeout: float | None = None) -> Run:  # noqa: ASYNC109  # as asyncio.wait_for
        """Wait until the run is finished and return it. RunLookupError for an unknown id,
        TimeoutError after ``timeout`` seconds (the run goes on), SchedulerNotRunningError
        at once when the scheduler is stopped and the run has not finished: it would not
        run until a start."""
        self._check_waitable(run_id)
        return await reading.wait_async(self._runs, run_id, timeout)

    def wait_for_sync(self, run_id: str, timeout: float | None = None) -> Run:
        """:meth:`wait_for` for threads: blocks the calling thread (RuntimeError when called
        inside a running event loop, which it would block)."""
        reading.refuse_blocking_in_loop()
        self._check_waitable(run_id)
        return reading.wait_blocking(self._runs, run_id, timeout)

    def _check_waitable(self, run_id: str) -> None:
        if self.state != SchedulerState.STATE_STOPPED:
            return
        run = self.get_run(run_id)
        if run is not None and not run.finished:  # an unknown id: RunLookupError, as ever
            raise SchedulerNotRunningError(
                f"wait_for({run_id!r}): the scheduler is not running, so the run would not "
                "finish; start it first (or read it with get_run)"
            )

    def cancel_run(self, run_id: str) -> CancelResult:
        """Cancel a pending, retrying or running submitted run. The result is true when it
        was cancelled (use it as a bool); ``await`` it to wait until the cancelled attempt
        has really stopped (it returns the same bool).

        A coroutine is cancelled, a process terminated; a thread cannot be stopped: its run
        is marked CANCELLED at once and its result dropped when it ends.
        """
        engine = self._runs
        return CancelResult(run_id, engine, engine.cancel(run_id))

    def stats(self) -> RunStats:
        """Counts by status, queue and workers, throughput, execution times, error rate."""
        return reading.snapshot_stats(self._runs)

    @property
    def run_history(self) -> RunHistory:
        return self._runs.ledger.history

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

    # -- hooks of the scheduler's life cycle ------------------------------------------------

    def _start_runs(self) -> None:
        engine = self._runs
        engine.start(self.clock.now())
        history = engine.ledger.history
        if isinstance(history, StoredRunHistory):
            history.start(self.clock, engine.drain_fires)
            for work in history.claim():
                self._restore_run(work)

    def _restore_run(self, work: KeptWork | tuple[Run, BaseException]) -> None:
        """Take on a run kept by an earlier shutdown (of this or another scheduler)."""
        if isinstance(work, tuple):
            self._runs.restore_failed(*work)
            return
        try:
            runner = self.lookup_executor(work.options.executor)
        except Exception as exc:
            self._runs.restore_failed(work.run, exc)
            return
        coroutine = is_coroutine_callable(work.fn)
        lane_kind, capacity = runner.run_lane(coroutine)
        history = self._runs.ledger.history
        assert isinstance(history, StoredRunHistory)
        record = history.encode_work(work.fn, None, work.args, work.kwargs, work.options)
        self._runs.restore(
            work.run, work.fn, work.args, work.kwargs, work.options, work.due, coroutine,
            ((work.options.executor, lane_kind), capacity), record,
        )  # fmt: skip

    def _process_runs(self, now: datetime) -> datetime | None:
        return self._runs.process(now)

    def _stop_runs(self, wait: bool) -> None:
        engine = self._runs
        history = engine.ledger.history
        if not isinstance(history, StoredRunHistory):
            engine.stop(wait)
            return
        kept = engine.stop(wait, keep=True)
        try:
            history.keep(kept)
        except Exception:
            self.logger.exception("Pending runs could not be kept in %s", history.store.name)
        history.stop()


_HISTORY_OPTIONS = frozenset({"run_history", "max_run_history", "run_result_ttl"})


def _build_history(options: Mapping[str, Any], store: Any) -> RunHistory:
    """The history asked for: ``run_history`` (a RunHistory, or "memory"); else in the
    default store when it keeps runs (SQL, Redis); else in memory."""
    given = options.get("run_history")
    limits = {k: options[k] for k in ("max_run_history", "run_result_ttl") if k in options}
    for key, kind in (("max_run_history", int), ("run_result_ttl", float)):
        if isinstance(limits.get(key), str):  # from a string-valued global_config
            try:
                limits[key] = kind(limits[key])
            except ValueError:
                raise ValueError(f"{key}: expected a number, got {limits[key]!r}") from None
    if given == "memory":
        return MemoryRunHistory(**limits)
    if given is None:
        MemoryRunHistory(**limits)  # checks the limits before anything is built
        stored = history_for_store(store, **limits)
        return stored if stored is not None else MemoryRunHistory(**limits)
    if limits:
        raise TypeError("Give run_history, or max_run_history/run_result_ttl, not both")
    if not isinstance(given, RunHistory):
        raise TypeError(f"run_history must be 'memory' or implement RunHistory, got {given!r}")
    return given


def _check_for_process(fn: Any, reference: str | None, args: Any, kwargs: Any) -> None:
    """A process-pool run needs an importable function and picklable arguments."""
    if reference is None:
        try:
            obj_to_ref(fn)
        except ValueError as exc:
            raise ValueError(
                f"fn: a process-pool run needs a module-level function: {exc}"
            ) from exc
    try:
        pickle.dumps((args, kwargs))
    except Exception as exc:
        raise SerializationError(f"The arguments of a process-pool run must pickle: {exc}") from exc
