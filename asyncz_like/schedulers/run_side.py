"""The run side of the scheduler: the engine of submitted runs, its history, its life cycle.

The logic lives in :mod:`asyncz_like.workers` and :mod:`asyncz_like.runs`; this class
validates what it is given and hands it on.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any, Protocol

from asyncz_like.enums import SchedulerState
from asyncz_like.events.dispatcher import EventDispatcher
from asyncz_like.exceptions import SchedulerNotRunningError, SerializationError
from asyncz_like.executors.pool import ProcessPoolExecutor
from asyncz_like.runs.history import MemoryRunHistory, RunHistory
from asyncz_like.runs.options import parse_options, resolve_due
from asyncz_like.runs.run import Run
from asyncz_like.schedulers.broker_side import BrokerSide
from asyncz_like.schedulers.config import as_bool, wait_option
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks.validation import resolve_callable
from asyncz_like.utils import (
    check_callable_args,
    get_callable_name,
    is_coroutine_callable,
    obj_to_ref,
)
from asyncz_like.workers import reading
from asyncz_like.workers.engine import RunEngine
from asyncz_like.workers.fires import FireRecorder
from asyncz_like.workers.ledger import RunHost
from asyncz_like.workers.persistent import KeptWork, StoredRunHistory, history_for_store
from asyncz_like.workers.submitted import Work


class RunSideHost(RunHost, Protocol):
    """What the run side needs of the scheduler besides what runs need of it."""

    state: SchedulerState
    timezone: tzinfo
    logger: logging.Logger
    dispatcher: EventDispatcher


class RunSide:
    """Submitted runs and the records of every run: the :class:`RunEngine`, built (and kept
    across a ``setup()`` while stopped) from the scheduler's run options."""

    def __init__(self, host: RunSideHost) -> None:
        self.host = host
        self._engine: RunEngine | None = None
        self.brokers = BrokerSide(host)

    @property
    def engine(self) -> RunEngine:
        engine = self._engine
        assert engine is not None, "the scheduler's setup() builds the run engine"
        return engine

    def configure(
        self,
        options: Mapping[str, Any],
        default_store: BaseStore | None,
        wants: Callable[[int], bool],
    ) -> FireRecorder | None:
        """Read the run options (history, limits); return the recorder of fires (None when
        ``record_task_runs`` is off). ``wants``: whether a listener wants an event code."""
        interval = wait_option(options.get("run_cleanup_interval", 60.0), "run_cleanup_interval")
        self.brokers.configure(options)
        engine = self._engine
        if engine is None:
            engine = self._engine = RunEngine(
                self.host, _build_history(options, default_store), interval
            )
        else:  # setup() again while stopped: keep the runs, and the history unless replaced
            engine.cleanup_interval = interval
            if _HISTORY_OPTIONS & set(options):
                engine.replace_history(_build_history(options, default_store))
        engine.fires = None
        if not as_bool(options.get("record_task_runs", True), "record_task_runs"):
            return None
        capacity = getattr(engine.ledger.history, "max_run_history", None)
        drain_at = max(4 * capacity, 1024) if isinstance(capacity, int) else 1024
        engine.fires = FireRecorder(engine.ledger, self.host.clock, wants, drain_at)
        return engine.fires

    def submit(
        self,
        fn: Callable[..., Any] | str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str | None,
        priority: int,
        timeout: Any,
        max_retries: int,
        retry_backoff: Any,
        retry_on: Any,
        delay: Any,
        schedule_at: Any,
        executor: str | None,
    ) -> Run:
        """The scheduler's ``submit`` (see there): checked, then handed to the engine."""
        options = parse_options(
            name, priority, timeout, max_retries, retry_backoff, retry_on, executor
        )
        target, reference = resolve_callable(fn)
        check_callable_args(target, args, kwargs)
        runner = self.host.lookup_executor(options.executor)
        if isinstance(runner, ProcessPoolExecutor):
            _check_for_process(target, reference, args, kwargs)
        due = resolve_due(delay, schedule_at, self.host.clock.now(), self.host.timezone)
        coroutine = is_coroutine_callable(target)
        lane_kind, capacity = runner.run_lane(coroutine)
        engine = self.engine
        history = engine.ledger.history
        record = None
        if isinstance(history, StoredRunHistory):  # the work may be kept for the next start
            record = history.encode_work(target, reference, args, kwargs, options)
        lane = ((options.executor, lane_kind), capacity)
        work = Work(target, args, kwargs, options, coroutine, lane, record)
        return engine.submit(work, due, options.name or get_callable_name(target))

    def check_waitable(self, run_id: str) -> None:
        """SchedulerNotRunningError when a wait could not end: stopped, run not finished."""
        if self.host.state != SchedulerState.STATE_STOPPED:
            return
        run = reading.get_run(self.engine, run_id)
        if run is not None and not run.finished:  # an unknown id: RunLookupError, as ever
            raise SchedulerNotRunningError(
                f"wait_for({run_id!r}): the scheduler is not running, so the run would not "
                "finish; start it first (or read it with get_run)"
            )

    def start(self) -> None:
        """Start the engine and take on the runs an earlier shutdown kept; start the broker
        and its worker."""
        engine = self.engine
        if self.brokers.broker is not None:
            self.brokers.start()
        engine.start(self.host.clock.now())
        history = engine.ledger.history
        if isinstance(history, StoredRunHistory):
            history.start(self.host.clock, engine.drain_fires)
            for work in history.claim():
                self._restore(work)

    def _restore(self, work: KeptWork | tuple[Run, BaseException]) -> None:
        """Take on a run kept by an earlier shutdown (of this or another scheduler)."""
        engine = self.engine
        if isinstance(work, tuple):
            engine.restore_failed(*work)
            return
        try:
            runner = self.host.lookup_executor(work.options.executor)
        except Exception as exc:
            engine.restore_failed(work.run, exc)
            return
        coroutine = is_coroutine_callable(work.fn)
        lane_kind, capacity = runner.run_lane(coroutine)
        history = engine.ledger.history
        assert isinstance(history, StoredRunHistory)
        record = history.encode_work(work.fn, None, work.args, work.kwargs, work.options)
        lane = ((work.options.executor, lane_kind), capacity)
        kept = Work(work.fn, work.args, work.kwargs, work.options, coroutine, lane, record)
        engine.restore(work.run, kept, work.due)

    def stop(self, wait: bool) -> None:
        """Stop the engine; a persistent history keeps the runs not started for a restart."""
        engine = self.engine
        if self.brokers.broker is not None:
            self.brokers.stop(wait)
        history = engine.ledger.history
        if not isinstance(history, StoredRunHistory):
            engine.stop(wait)
            return
        kept = engine.stop(wait, keep=True)
        try:
            history.keep(kept)
        except Exception:
            self.host.logger.exception("Pending runs could not be kept in %s", history.store.name)
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
