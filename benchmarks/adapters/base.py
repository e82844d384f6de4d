"""What a scenario may ask of a scheduler library."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Job = Callable[..., Any]

#: Stores a scenario can ask for. Persistent stores plug in here: add the kind, then teach
#: each adapter's ``store_config`` to build it (and clean it up in ``shutdown``).
STORE_KINDS = ("memory",)


def utc(timestamp: float) -> datetime:
    """An aware UTC datetime for a ``time.time()`` value."""
    return datetime.fromtimestamp(timestamp, UTC)


class PassTimer:
    """Wall time spent in the scheduler's loop passes, recorded by ``Adapter.time_passes``."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.enabled = False

    def wrap(self, method: Callable[[], Any]) -> Callable[[], Any]:
        durations, clock = self.durations, time.perf_counter

        def timed() -> Any:
            if not self.enabled:
                return method()
            started = clock()
            try:
                return method()
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

    def __init__(self) -> None:
        self.scheduler: Any = None

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
    def add_date(self, fn: Job, run_at: datetime) -> None:
        """Add a task firing once at ``run_at``."""

    def store_config(self, store: str) -> Any:
        """The library's configuration of a store kind (see ``STORE_KINDS``)."""
        if store != "memory":
            raise NotImplementedError(f"{type(self).__name__} has no {store!r} store yet")
        return None

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)

    def time_passes(self) -> PassTimer:
        """Time every loop pass from now on (the timer starts disabled)."""
        timer = PassTimer()
        method = getattr(self.scheduler, self.pass_method)
        setattr(self.scheduler, self.pass_method, timer.wrap(method))
        return timer
