"""The scheduler's run API: background work submitted, followed and cancelled."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, ParamSpec, Protocol, TypeVar, cast, overload

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.records import WorkerInfo
from asyncz_like.brokers.retrying import check_retryable
from asyncz_like.clock import Clock
from asyncz_like.events.constants import ALL_RUN_EVENTS
from asyncz_like.events.dispatcher import Listener
from asyncz_like.exceptions import RunNotRetryableError
from asyncz_like.runs.history import RunHistory
from asyncz_like.runs.observers import RunObserver
from asyncz_like.runs.options import BACKGROUND_OPTION_NAMES, parse_options
from asyncz_like.runs.rss import process_rss
from asyncz_like.runs.run import Run
from asyncz_like.runs.stats import RunStats
from asyncz_like.schedulers.run_side import RunSide
from asyncz_like.schedulers.submit_items import SUBMIT_OPTION_NAMES, submit_item
from asyncz_like.workers import reading
from asyncz_like.workers.cancelling import CancelResult
from asyncz_like.workers.engine import RunEngine
from asyncz_like.workers.worker import Worker

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
#: ``background()`` options besides those of an in-process run: its queue and wait.
_BROKER_BACKGROUND = frozenset({"queue", "delay", "schedule_at", "max_deliveries", "headers"})


class BackgroundFunction(Protocol[P, R_co]):
    """A function decorated with ``@scheduler.background``: still callable as it was, with
    its own parameter and return types.

    ``submit`` and ``delay`` also take the options of :meth:`RunMethods.submit` (a call's
    own win over the decorator's), so a type checker cannot hold their arguments to the
    function's parameters: they are typed loosely.
    """

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    def submit(self, *args: Any, **kwargs: Any) -> Run: ...
    def delay(self, *args: Any, **kwargs: Any) -> Run: ...


class RunMethods:
    """Runs of background work on the scheduler's executors, and the records of every run
    (no state of its own: the scheduler's ``__init__`` makes the :class:`RunSide`)."""

    _run_side: RunSide
    clock: Clock

    @property
    def _runs(self) -> RunEngine:
        return self._run_side.engine

    @property
    def broker(self) -> BaseBroker | None:
        """The broker runs go through (``broker=...``); None: they stay in this process."""
        return self._run_side.brokers.broker

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
        queue: str | None = None,
        max_deliveries: int | None = None,
        headers: Mapping[str, str] | None = None,
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

        With a ``broker``, the run is enqueued on ``queue`` (default "default") for a worker
        in any process attached to it; ``fn`` must then be importable by reference (not a
        lambda or closure), and the Run returned is a snapshot (read it again with
        :meth:`get_run`). ``retry_on`` and ``executor`` are for in-process runs only.
        ``max_deliveries`` (default 3) bounds how many workers may die holding the run
        before it ends FAILED; ``headers`` (strings) travel with the run to the worker (an
        idempotency key, a trace context): both need a broker.
        """
        brokers = self._run_side.brokers
        if brokers.broker is not None:
            options = {"name": name, "priority": priority, "timeout": timeout,
                       "max_retries": max_retries, "retry_backoff": retry_backoff,
                       "retry_on": retry_on, "delay": delay, "schedule_at": schedule_at,
                       "executor": executor, "queue": queue, "max_deliveries": max_deliveries,
                       "headers": headers}  # fmt: skip
            now = self.clock.now()
            return brokers.enqueue(brokers.envelopes([(fn, args, kwargs, options)], now), now)[0]
        for option, value in (("queue", queue), ("max_deliveries", max_deliveries),
                              ("headers", headers)):  # fmt: skip
            if value is not None:
                raise ValueError(
                    f"{option}={value!r} needs a broker: give the scheduler broker=..."
                )
        return self._run_side.submit(
            fn, tuple(args), dict(kwargs), name, priority, timeout, max_retries,
            retry_backoff, retry_on, delay, schedule_at, executor,
        )  # fmt: skip

    def submit_many(self, items: Iterable[Any], /, **options: Any) -> list[Run]:
        """Submit several runs; with a broker, in one round trip. Each item is a function
        (or ``"module:qualname"``), a tuple ``(fn, args)`` or ``(fn, args, kwargs)``, or a
        dict with ``fn`` and optional ``args``, ``kwargs`` and any option of :meth:`submit`
        (``queue``, ``priority``, ``delay``, ...); ``options`` apply to every item that does
        not set its own. Bad input in any item raises before anything is enqueued."""
        unknown = set(options) - SUBMIT_OPTION_NAMES
        if unknown:
            raise TypeError(f"submit_many() got unexpected option(s): {sorted(unknown)}")
        calls = [submit_item(item, index, options) for index, item in enumerate(items)]
        brokers = self._run_side.brokers
        if brokers.broker is None:
            return [
                self.submit(fn, *args, **{**opts, **kwargs}) for fn, args, kwargs, opts in calls
            ]
        now = self.clock.now()
        return brokers.enqueue(brokers.envelopes(calls, now), now)

    def get_run(self, run_id: str) -> Run | None:
        """The run with this id (submitted or fired), or None when unknown or expired; with
        a broker, as the broker has it now (from any process attached to it)."""
        brokers = self._run_side.brokers
        if brokers.broker is not None:
            return brokers.require("get_run").get_run(run_id)
        return reading.get_run(self._run_side.engine, run_id)

    def list_runs(
        self, status: Any = None, task_id: str | None = None, limit: int | None = 100,
        queue: str | None = None,
    ) -> list[Run]:  # fmt: skip
        """Runs newest first; ``status`` is one status (or its value) or several. ``queue``
        (with a broker) keeps those of one queue."""
        brokers = self._run_side.brokers
        if brokers.broker is not None:
            return brokers.list_runs(status, task_id, limit, queue)
        if queue is not None:
            raise ValueError(f"queue={queue!r} needs a broker: give the scheduler broker=...")
        return reading.list_runs(self._run_side.engine, status, task_id, limit)

    async def wait_for(self, run_id: str, timeout: float | None = None) -> Run:  # noqa: ASYNC109  # as asyncio.wait_for
        """Wait until the run is finished and return it. RunLookupError for an unknown id,
        TimeoutError after ``timeout`` seconds (the run goes on), SchedulerNotRunningError
        at once when the scheduler is stopped and the run has not finished: it would not
        run until a start."""
        brokers = self._run_side.brokers
        if brokers.broker is not None:  # polls the broker, whichever process runs it
            return await brokers.wait_async(run_id, timeout)
        self._run_side.check_waitable(run_id)
        return await reading.wait_async(self._run_side.engine, run_id, timeout)

    def wait_for_sync(self, run_id: str, timeout: float | None = None) -> Run:
        """:meth:`wait_for` for threads: blocks the calling thread (RuntimeError when called
        inside a running event loop, which it would block)."""
        reading.refuse_blocking_in_loop()
        brokers = self._run_side.brokers
        if brokers.broker is not None:
            return brokers.wait_blocking(run_id, timeout)
        self._run_side.check_waitable(run_id)
        return reading.wait_blocking(self._run_side.engine, run_id, timeout)

    def cancel_run(self, run_id: str) -> CancelResult:
        """Cancel a pending, retrying or running submitted run. The result is true when it
        was cancelled (use it as a bool); ``await`` it to wait until the cancelled attempt
        has really stopped (it returns the same bool).

        A coroutine is cancelled, a process terminated; a thread cannot be stopped: its run
        is marked CANCELLED at once and its result dropped when it ends. With a broker, a
        waiting run is cancelled at once and a running one's worker stops it within a second
        (true in both cases; ``await`` waits until it has ended).
        """
        brokers = self._run_side.brokers
        if brokers.broker is not None:
            return brokers.cancel(run_id)
        engine = self._run_side.engine
        return CancelResult(run_id, engine, engine.cancel(run_id))

    def list_workers(self) -> list[WorkerInfo]:
        """The workers the broker knows, in any process on any host attached to it: each
        one's host, pid, queues, runs held of its concurrency, last heartbeat, and whether
        it is ``alive`` (see :meth:`~asyncz_like.brokers.base.BaseBroker.list_workers`).
        Empty without a broker: runs then go to this process's executors (their lanes are
        in :meth:`stats`)."""
        brokers = self._run_side.brokers
        return brokers.list_workers() if brokers.broker is not None else []

    def retry_run(self, run_id: str) -> Run:
        """Submit a run that ended FAILED, TIMEOUT or CANCELLED again: a new run (returned,
        PENDING) from its stored call (function, arguments, queue, priority, retries,
        timeout, headers), with the header ``retry_of`` naming it; the ended run's record is
        left as it was. Needs a broker, which keeps the call (a run of this process keeps
        none once it ends). RunLookupError for an unknown id;
        RunNotRetryableError for a run still pending or running, a completed one, a call
        no longer kept, or a function that cannot be imported here.
        """
        brokers = self._run_side.brokers
        if brokers.broker is not None:
            return brokers.retry(run_id)
        check_retryable(run_id, reading.get_run(self._run_side.engine, run_id))
        raise RunNotRetryableError(
            run_id, "retry_run needs a broker: a run of this process keeps no call once it ends"
        )

    def stats(self) -> RunStats:
        """Counts by status, queue and workers, throughput, execution times, error rate,
        the lateness of the latest fires and this process's resident memory. With a broker,
        the broker's counts: by status, per queue in ``queues``, and the workers it knows
        in ``broker_workers``."""
        brokers = self._run_side.brokers
        engine = self._run_side.engine
        if brokers.broker is not None:
            lateness = reading.fire_lateness(engine)
            return replace(brokers.stats(), fire_lateness=lateness, memory_rss=process_rss())
        return reading.snapshot_stats(engine)

    @property
    def worker(self) -> Worker | None:
        """The worker this scheduler runs on its broker (None: not started, no broker, or
        ``worker=False``)."""
        return self._run_side.brokers.worker

    def add_worker_listener(self, callback: Listener, mask: int = ALL_RUN_EVENTS) -> None:
        """Listen to the run events (RUN_STARTED, RUN_COMPLETED, ...) of the worker this
        scheduler runs on its broker, from its next start on: see ``Worker.add_listener``.
        The scheduler's own listeners hear of the runs it runs without a broker."""
        brokers = self._run_side.brokers
        brokers.worker_listeners.append((callback, mask))
        if brokers.worker is not None:
            brokers.worker.add_listener(callback, mask)

    def remove_worker_listener(self, callback: Listener) -> None:
        """Undo :meth:`add_worker_listener`; KeyError when it was not added."""
        brokers = self._run_side.brokers
        kept = [item for item in brokers.worker_listeners if item[0] != callback]
        if len(kept) == len(brokers.worker_listeners):
            raise KeyError("This callback is not registered as a worker listener")
        brokers.worker_listeners = kept
        if brokers.worker is not None:
            brokers.worker.remove_listener(callback)

    def flush_run_records(self) -> None:
        """Count the fires recorded since runs were last read, now (reading runs or stats
        does it first): the run observers hear of them."""
        self._run_side.engine.drain_fires()

    def add_run_observer(self, observer: RunObserver) -> None:
        """Tell ``observer`` of every run this scheduler counts as ended (fires and runs of
        background work in this process), in batches: see
        :class:`~asyncz_like.runs.observers.RunObserver`. Metrics adapters use it."""
        engine = self._run_side.engine
        with engine.lock:
            stats = engine.ledger.stats
            stats.observers = (*stats.observers, observer)

    def remove_run_observer(self, observer: RunObserver) -> None:
        """Stop telling ``observer``; KeyError when it was not added."""
        engine = self._run_side.engine
        with engine.lock:
            stats = engine.ledger.stats
            if observer not in stats.observers:
                raise KeyError("This observer was not added")
            stats.observers = tuple(o for o in stats.observers if o is not observer)

    @property
    def run_history(self) -> RunHistory:
        return self._run_side.engine.ledger.history

    def executor_failed(self, task_id: str, error: BaseException | None) -> None:
        """An executor could not run what it was given (the run of ``task_id``)."""
        self._run_side.engine.executor_failed(task_id, error)

    @overload
    def background(self, fn: Callable[P, R], /) -> BackgroundFunction[P, R]: ...
    @overload
    def background(
        self, fn: None = None, /, **options: Any
    ) -> Callable[[Callable[P, R]], BackgroundFunction[P, R]]: ...

    def background(
        self, fn: Callable[P, R] | None = None, /, **options: Any
    ) -> BackgroundFunction[P, R] | Callable[[Callable[P, R]], BackgroundFunction[P, R]]:
        """Decorator: give a function ``.submit(*args, **kwargs)`` (alias ``.delay``) that
        submits it with these ``options`` (those of :meth:`submit`; a call's own win). With
        a broker, ``queue``, ``delay``, ``schedule_at``, ``max_deliveries`` and ``headers``
        may be given here too. The
        function keeps its parameter and return types (a ``BackgroundFunction``)."""
        # with a broker, a decorated function may also name its queue and wait
        extra = _BROKER_BACKGROUND if self._run_side.brokers.broker is not None else frozenset()
        unknown = set(options) - BACKGROUND_OPTION_NAMES - extra
        if unknown:
            raise TypeError(f"background() got unexpected option(s): {sorted(unknown)}")
        parse_options(**{k: v for k, v in options.items() if k not in _BROKER_BACKGROUND})

        def decorate(function: Callable[P, R]) -> BackgroundFunction[P, R]:
            def submit(*args: Any, **kwargs: Any) -> Run:
                return self.submit(function, *args, **{**options, **kwargs})

            try:
                function.submit = submit  # type: ignore[attr-defined]
                function.delay = submit  # type: ignore[attr-defined]
            except AttributeError:
                raise TypeError(f"background() cannot decorate {function!r}") from None
            return cast(BackgroundFunction[P, R], function)

        return decorate if fn is None else decorate(fn)
