"""RunSlots: a run that ended on an event loop has its slot freed by a thread; a pass
flushes those frees before it claims, so that the claim counts that run as ended."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from asyncz_like.schedulers.run_slots import RunSlots
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks import Task
from tests.helpers import START


class SlotStore:
    """The run-slot half of a store, counting what is held; frees wait for ``gate``."""

    lease_seconds = 30.0

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.gate = threading.Event()
        self.gate.set()
        self.next = 0

    def acquire_run_slots(self, tasks: Sequence[Task], now: datetime) -> list[str | None]:
        tokens = []
        for _ in tasks:
            self.next += 1
            tokens.append(f"t{self.next}")
        self.held.update(tokens)
        return list(tokens)

    def release_run_slots(self, slots: Sequence[tuple[str, str]]) -> None:
        self.gate.wait(5)
        self.held.difference_update(token for _, token in slots)

    def renew_run_slots(self, slots: list[tuple[str, str]], now: datetime) -> None:
        pass


def _task(task_id: str) -> Task:
    task = Task.__new__(Task)
    task.id = task_id
    return task


def test_a_flush_frees_the_slots_queued_from_the_loop_before_a_claim() -> None:
    store = SlotStore()
    other = SlotStore()
    slots = RunSlots(lambda: START)
    store_ = cast(BaseStore, store)
    other_ = cast(BaseStore, other)
    assert slots.acquire_many(store_, [_task("a")], START) == [True]
    assert slots.acquire_many(other_, [_task("b")], START) == [True]
    store.gate.clear()  # the thread's free of "a" is held up (a slow server)
    other.gate.clear()

    async def end_runs() -> None:  # runs end on the loop: frees are queued to the thread
        slots.release("a")
        slots.release("b")

    asyncio.run(end_runs())
    assert store.held and other.held
    flushed = threading.Thread(target=slots.flush, args=(store_,))
    flushed.start()
    flushed.join(0.2)
    assert flushed.is_alive()  # the flush waits for the free in flight...
    store.gate.set()
    flushed.join(5)
    assert not flushed.is_alive() and store.held == set()  # ...and returns once it is done
    other.gate.set()
    slots.flush(other_)
    assert other.held == set()
    slots.shutdown()


def test_a_flush_with_nothing_queued_does_no_io() -> None:
    store = SlotStore()
    store.gate.clear()  # any free would block
    slots = RunSlots(lambda: START)
    slots.flush(cast(Any, store))
    slots.shutdown()


class CountingSlotStore(SlotStore):
    """Counts renewals, and says when every slot has been freed."""

    def __init__(self, lease_seconds: float) -> None:
        super().__init__()
        self.lease_seconds = lease_seconds
        self.renewals = 0
        self.emptied = threading.Event()

    def release_run_slots(self, slots: Sequence[tuple[str, str]]) -> None:
        super().release_run_slots(slots)
        if not self.held:
            self.emptied.set()

    def renew_run_slots(self, slots: list[tuple[str, str]], now: datetime) -> None:
        self.renewals += 1


def test_frees_from_the_loop_do_not_renew_the_slots_still_held() -> None:
    store = CountingSlotStore(lease_seconds=30.0)  # renewed every 10 s
    slots = RunSlots(lambda: START)
    tasks = [_task(f"t{i}") for i in range(200)]
    assert all(slots.acquire_many(cast(BaseStore, store), tasks, START))

    async def end_runs() -> None:  # each end wakes the thread to free its slot
        for task in tasks[:-1]:
            slots.release(task.id)
            await asyncio.sleep(0)

    asyncio.run(end_runs())
    slots.flush(cast(BaseStore, store))
    assert store.held == {"t200"}  # one slot still held, every other freed...
    assert store.renewals == 0  # ...and none renewed: a wake to free is not a renewal's time
    slots.shutdown()


def test_slots_held_are_renewed_every_third_of_the_lease() -> None:
    store = CountingSlotStore(lease_seconds=0.15)  # renewed every 0.05 s
    slots = RunSlots(lambda: START)
    assert slots.acquire_many(cast(BaseStore, store), [_task("a")], START) == [True]
    deadline = threading.Event()
    deadline.wait(0.4)  # end-to-end: the renewing thread runs on the wall clock
    assert 3 <= store.renewals <= 9
    slots.shutdown()
