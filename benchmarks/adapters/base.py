"""What a scenario may ask of a scheduler library."""

from __future__ import annotations

import asyncio
import cProfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import harness

from adapters import stores
from adapters.stores import StoreSpec

Job = Callable[..., Any]

#: Stores a scenario can ask for: each adapter's ``store_config`` builds them from a
#: ``StoreSpec`` (see ``adapters/stores.py``); ``shutdown`` drops what the run stored.
STORE_KINDS = ("memory", *stores.PERSISTENT)


def utc(timestamp: float) -> datetime:
    """An aware UTC datetime for a ``time.time()`` value."""
    return datetime.fromtimestamp(timestamp, UTC)


class PassTimer:
    """Wall time spent in the scheduler's loop passes, recorded by ``Adapter.time_passes``."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.enabled = False

    def wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        durations, clock = self.durations, time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:  # e.g. a pass's budget
            if not self.enabled:
                return method(*args, **kwargs)
            started = clock()
            try:
                return method(*args, **kwargs)
            finally:
                durations.append(clock() - started)

        return timed


class Adapter(ABC):
    """A scheduler of one library, made by ``make_async`` or ``make_threaded``.

    Tasks are added with coalescing on, one instance at a time and no misfire limit, so that
    the libraries do the same work: every due run is started, however late.
    """

    #: The method name of one loop pass (timed by ``time_passes``).
    pass_method: str = "process_tasks"

    #: Whether ``add_tasks_bulk`` writes many tasks in one call (asyncz_like's ``add_tasks``).
    has_bulk_add = False

    def __init__(self) -> None:
        self.scheduler: Any = None
        #: The persistent store's table / key prefix. Processes sharing a store set the same
        #: one; only the ``owns_store`` process drops it at shutdown.
        self.store_name = stores.new_name()
        self.owns_store = True
        self.store_kind = "memory"
        #: Scheduler options of a case run for asyncz_like only (``Case.params["options"]``);
        #: the anchors' adapters never get any.
        self.options: dict[str, Any] = {}

    @abstractmethod
    def make_async(self, store: str = "memory") -> None:
        """An asyncio scheduler on the running loop, coroutine jobs run on the loop."""

    @abstractmethod
    def make_threaded(self, workers: int, store: str = "memory") -> None:
        """A scheduler looping in a background thread, sync jobs run in a thread pool."""

    @abstractmethod
    def add_interval(
        self, fn: Job, seconds: float, start: datetime | None = None, args: tuple[Any, ...] = ()
    ) -> None:
        """Add a task firing every ``seconds``, at ``start + k * seconds`` when given."""

    @abstractmethod
    def add_date(
        self, fn: Job, run_at: datetime, args: tuple[Any, ...] = (), id: str | None = None
    ) -> None:
        """Add a task firing once at ``run_at`` (``id``: None for the library's default)."""

    def add_tasks_bulk(self, fn: Job, seconds: float, count: int) -> None:
        """Add ``count`` interval tasks in one call (only where ``has_bulk_add``)."""
        raise NotImplementedError(f"{type(self).__name__} has no bulk add")

    def preload(self, fn: Job, seconds: float, count: int) -> str:
        """Store ``count`` interval tasks in bulk, not one add each (asyncz_like on PostgreSQL
        only); returns how."""
        raise NotImplementedError(f"{type(self).__name__} has no bulk load")

    def add_floors(self, fn: Job, count: int) -> dict[str, float]:
        """What an add to the persistent store costs at least, without the scheduler (ms per
        write, ``floors.py``); only asyncz_like measures it, with its own store's code."""
        return {}

    def store_config(self, store: str) -> Any:
        """The library's store object for a kind of ``STORE_KINDS`` (None: memory)."""
        self.store_kind = store
        if store == "memory":
            return None
        return self.persistent_store(StoreSpec(store, self.store_name))

    def persistent_store(self, spec: StoreSpec) -> Any:
        """The library's store for ``spec`` (raise NotImplementedError if it has none)."""
        raise NotImplementedError(f"{type(self).__name__} has no {spec.kind!r} store")

    def start(self, paused: bool = False) -> None:
        if harness.PASS_PROFILER is not None and self.store_kind != "memory":
            self._profile_passes(harness.PASS_PROFILER)
        self.scheduler.start(paused=paused)

    def _profile_passes(self, profiler: cProfile.Profile) -> None:
        method = getattr(self.scheduler, self.pass_method)

        def profiled(*args: Any, **kwargs: Any) -> Any:
            profiler.enable()
            try:
                return method(*args, **kwargs)
            finally:
                profiler.disable()

        setattr(self.scheduler, self.pass_method, profiled)

    def resume(self) -> None:
        self.scheduler.resume()

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)

    async def close(self) -> None:
        """Shut down on the running loop, let the loop finish the shutdown (asyncz defers
        it to a callback), then drop the store."""
        self.shutdown()
        for _ in range(3):
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        self.drop_store()

    def close_threaded(self) -> None:
        """``close`` for a scheduler looping in a thread of its own."""
        self.shutdown()
        time.sleep(0.2)
        self.drop_store()

    def drop_store(self) -> None:
        """Remove what this run stored, unless another process owns the store."""
        if self.owns_store and self.store_kind != "memory":
            stores.drop(StoreSpec(self.store_kind, self.store_name))

    def time_passes(self) -> PassTimer:
        """Time every loop pass from now on (the timer starts disabled)."""
        timer = PassTimer()
        method = getattr(self.scheduler, self.pass_method)
        setattr(self.scheduler, self.pass_method, timer.wrap(method))
        return timer
