"""Run slots: ``max_instances`` counted in a shared store, across schedulers and hosts.

For a store with ``shares_run_slots`` the scheduler takes a slot in the store before it hands
a run to its executor, and gives it back when the executor frees the run's instance. Slots
still held are renewed from a daemon thread every third of the store's lease, so that a long
run keeps its slot and a dead scheduler's slots expire. Releases and renewals do I/O, so they
run on that thread when the run ends on an event loop (asyncio executor), else at once; the
scheduler's pass flushes the queued releases of a store before it claims from it
(:meth:`RunSlots.flush`), so that a run that ended before a claim never counts against it. A
release that fails (the store's server is away) is tried again every second until the slot's
lease would have ended anyway, so that a fire after the outage is not refused for a slot that
only the outage kept.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncz_like.stores.base import BaseStore
    from asyncz_like.tasks.task import Task

logger = logging.getLogger("asyncz_like.schedulers")

_Held = tuple["BaseStore", str]
_RETRY_SECONDS = 1.0


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _wall_now() -> datetime:
    return datetime.now(UTC)


class RunSlots:
    """The slots this scheduler holds, by task id, and the thread that renews and frees them."""

    def __init__(self, now: Callable[[], datetime] = _wall_now) -> None:
        self._now = now
        self._held: dict[str, list[_Held]] = {}
        self._releases: deque[tuple[str, _Held, float]] = deque()  # ..., give up (monotonic)
        self._lock = threading.Lock()
        #: By store: held while its queued releases are written (a flush waits for them).
        self._freeing: dict[int, threading.Lock] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._idle = False

    def acquire(self, store: BaseStore, task: Task, now: datetime) -> bool:
        """Take a slot of ``task`` in ``store``; False when ``max_instances`` run already."""
        return self.acquire_many(store, [task], now)[0]

    def acquire_many(self, store: BaseStore, tasks: list[Task], now: datetime) -> list[bool]:
        """Take a slot for each task, in one round trip to ``store``; for each, whether it got
        one (False: ``max_instances`` run already)."""
        tokens = store.acquire_run_slots(tasks, now)
        taken = [token is not None for token in tokens]
        if not any(taken):
            return taken
        with self._lock:
            for task, token in zip(tasks, tokens, strict=True):
                if token is not None:
                    self._held.setdefault(task.id, []).append((store, token))
            self._ensure_thread()
        if self._idle:  # the thread sleeps until woken: wake it so it renews on time
            self._wake.set()
        return taken

    def release(self, task_id: str) -> None:
        """A run of ``task_id`` ended (or was never started): free one of its slots."""
        if not self._held:  # the common case (no shared slots held): no lock taken
            return
        with self._lock:
            held = self._held.get(task_id)
            if not held:
                return
            slot = held.pop()
            if not held:
                del self._held[task_id]
        if not _on_event_loop() and self._free(task_id, slot):  # now: a fire may be due
            return
        with self._lock:
            self._releases.append((task_id, slot, time.monotonic() + slot[0].lease_seconds))
            self._ensure_thread()
        self._wake.set()

    def flush(self, store: BaseStore) -> None:
        """Free the queued releases of ``store`` now, and wait for those being freed: called
        before a claim, so that it sees every run that ended before it as ended."""
        lock = self._freeing.get(id(store))
        if not self._releases and (lock is None or not lock.locked()):
            return  # nothing queued, nothing in flight: no lock, no I/O
        self._free_pending(store)

    def shutdown(self) -> None:
        """Free what is pending and stop the thread; slots of runs still going expire."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    # -- the thread ---------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopped = False
            self._thread = threading.Thread(
                target=self._run, name="asyncz_like-run-slots", daemon=True
            )
            self._thread.start()

    def _renew_every(self) -> float | None:
        """A third of the shortest lease held; None when no slot is held."""
        leases = [store.lease_seconds for slots in self._held.values() for store, _ in slots]
        return max(0.05, min(leases) / 3) if leases else None

    def _run(self) -> None:
        renewed = time.monotonic()
        while True:
            with self._lock:
                every = self._renew_every()
                wait = None if every is None else max(0.0, renewed + every - time.monotonic())
                if self._releases:  # releases to try again
                    wait = min(wait if wait is not None else _RETRY_SECONDS, _RETRY_SECONDS)
                self._idle = wait is None
            self._wake.wait(wait)
            self._wake.clear()
            if every is None:  # woken from idle: the slots held now were all taken just now
                renewed = time.monotonic()
            self._free_pending()
            with self._lock:
                if self._stopped:
                    return
            # Woken to free slots (after every run, in a burst): renew only when it is time.
            if every is not None and time.monotonic() >= renewed + every:
                renewed = time.monotonic()
                self._renew()

    def _free_pending(self, only: BaseStore | None = None) -> None:
        """Free the queued slots (of ``only``, when given), one round trip per store; keep
        those that failed. Each store's are taken from the queue and freed under that
        store's lock, so that a flush of one store waits for its frees in flight only."""
        if only is not None:
            stores = {id(only): only}
        else:
            with self._lock:
                stores = {id(entry[1][0]): entry[1][0] for entry in self._releases}
        for store in stores.values():
            with self._store_lock(store):
                self._free_store(store)

    def _store_lock(self, store: BaseStore) -> threading.Lock:
        with self._lock:
            return self._freeing.setdefault(id(store), threading.Lock())

    def _free_store(self, store: BaseStore) -> None:
        with self._lock:
            entries = [entry for entry in self._releases if entry[1][0] is store]
            if not entries:
                return
            kept = [entry for entry in self._releases if entry[1][0] is not store]
            self._releases.clear()
            self._releases.extend(kept)
        try:
            store.release_run_slots([(task_id, slot[1]) for task_id, slot, _ in entries])
        except Exception as exc:  # tried again, until the slots would have expired anyway
            logger.warning("Could not release %d run slot(s) (%r)", len(entries), exc)
            now = time.monotonic()
            with self._lock:
                self._releases.extend(entry for entry in entries if now < entry[2])

    @staticmethod
    def _free(task_id: str, slot: _Held) -> bool:
        store, token = slot
        try:
            store.release_run_slot(task_id, token)
        except Exception as exc:  # tried again, until the slot would have expired anyway
            logger.warning("Could not release a run slot of task %s (%r)", task_id, exc)
            return False
        return True

    def _renew(self) -> None:
        by_store: dict[int, tuple[BaseStore, list[tuple[str, str]]]] = {}
        with self._lock:
            for task_id, slots in self._held.items():
                for store, token in slots:
                    by_store.setdefault(id(store), (store, []))[1].append((task_id, token))
        now = self._now()
        for store, pairs in by_store.values():
            try:
                store.renew_run_slots(pairs, now)
            except Exception:
                logger.exception("Could not renew run slots in store %s", store.alias)
