"""A fixed set of worker threads fed by one queue: the thread executor's pool.

``concurrent.futures.ThreadPoolExecutor`` costs more per run than a trivial task itself: a
Future (with its Condition) per submit, and an idle semaphore that every worker releases after
every item, under one lock that all workers contend for (a fifth of the samples of a thread
burst). The executor needs none of it: it reports each run through a callback. So the threads
here start with the pool, wait on a ``SimpleQueue`` (no CPU while idle), and call
``done(outcome)`` after each item.

``done`` reports the run's end (its instance freed) and then its events, to listeners that may
take a while. The executor counts a run ended from that report on, so each thread says, in a
flag of its own (no lock: one writer each), while it is in ``done``: until then it cannot
take a new item, and a fire handed over meanwhile does not count as taken up at once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("asyncz_like.executors")

#: What a worker hands to ``done``: (True, result) or (False, the exception raised).
Outcome = tuple[bool, Any]
_Item = tuple[Callable[..., Any], tuple[Any, ...], Callable[[Outcome], None]]
_STOP = None
#: The value of a run dropped at shutdown before it started: ``(False, CANCELLED)``.
CANCELLED: Any = object()


class WorkerThreads:
    """``count`` daemon threads that run submitted calls in order of submission."""

    def __init__(
        self, count: int, name: str, initializer: Callable[[], None] | None = None
    ) -> None:
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._initializer = initializer
        self._shutdown = False
        #: By thread: whether it is reporting an item's end (in ``done``).
        self._reporting = [False] * count
        self._threads = [
            threading.Thread(target=self._work, args=(index,), name=f"{name}_{index}", daemon=True)
            for index in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: Callable[[Outcome], None]
    ) -> None:
        """Run ``fn(*args)`` on a worker, then ``done(outcome)`` on that worker."""
        if self._shutdown:
            raise RuntimeError("cannot run new work after shutdown")
        self._queue.put((fn, args, done))

    def reporting(self) -> int:
        """How many threads are reporting the end of an item (read without a lock: a thread
        that just began or ended its report may be counted either way)."""
        return sum(self._reporting)

    def shutdown(
        self, wait: bool = True, cancel: Callable[[Callable[[Outcome], None]], None] | None = None
    ) -> None:
        """Stop the workers once the queue is worked off; ``cancel`` (given each queued
        item's ``done``) drops what has not started instead. With ``wait``, join them."""
        self._shutdown = True
        if cancel is not None:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    cancel(item[2])
        for _ in self._threads:
            self._queue.put(_STOP)
        if wait:
            current = threading.current_thread()
            for thread in self._threads:
                if thread is not current:
                    thread.join()

    def _work(self, index: int) -> None:
        if self._initializer is not None:
            self._initializer()
        get, reporting = self._queue.get, self._reporting
        while (item := get()) is not _STOP:
            fn, args, done = item
            try:
                outcome: Outcome = (True, fn(*args))
            except BaseException as exc:  # reported, as a Future would hold it
                outcome = (False, exc)
            del fn, args, item
            reporting[index] = True
            try:
                done(outcome)
            except Exception:  # a report that fails must not take the worker with it
                logger.exception("Error reporting the end of a run")
            reporting[index] = False
            del outcome, done
