"""The contract of ``update_task_if_unchanged`` over every store, and what a step of the wall
clock does to the tasks of a store: the interval tasks of a shared store are moved back once
after a step back, however many schedulers notice it; cron tasks keep their wall times."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks import Task
from tests.helpers import START, FakeClock
from tests.helpers import make_task as make_stored_task
from tests.stores.backends import Backend
from tests.stores.test_contract import started, store_of

CALLS: list[Any] = []
NOW = START + timedelta(seconds=100)


def record_call(*args: Any) -> None:
    CALLS.append(args)


def make_task(task_id: str, offset: float | None) -> Task:
    return make_stored_task(task_id, offset, record_call, filled=True)


def moved(store: BaseStore, task_id: str, seconds: float) -> Task:
    """The stored task ``task_id`` with its schedule moved by ``seconds``."""
    task = store.lookup_task(task_id)
    assert task is not None
    task.shift_schedule(timedelta(seconds=seconds))
    return task


# -- update_task_if_unchanged -----------------------------------------------------------------


def test_update_if_unchanged_writes_the_whole_task(backend: Backend) -> None:
    scheduler = started(backend)
    store = store_of(scheduler)
    store.add_task(make_task("a", 200))
    task = moved(store, "a", -50)
    task.args = (7,)
    assert store.update_task_if_unchanged(task, START + timedelta(seconds=200), NOW)
    found = store.lookup_task("a")
    assert found is not None and found.args == (7,)
    assert found.next_run_time == START + timedelta(seconds=150)
    assert found.trigger == task.trigger  # the interval's phase moved with it
    scheduler.shutdown()


def test_update_if_unchanged_writes_nothing_once_changed_or_gone(backend: Backend) -> None:
    scheduler = started(backend)
    store = store_of(scheduler)
    store.add_task(make_task("a", 200))
    stale = moved(store, "a", -50)
    current = store.lookup_task("a")
    assert current is not None
    current.next_run_time = START + timedelta(seconds=260)  # a fire moved it on meanwhile
    store.update_task(current)
    assert not store.update_task_if_unchanged(stale, START + timedelta(seconds=200), NOW)
    found = store.lookup_task("a")
    assert found is not None and found.next_run_time == START + timedelta(seconds=260)
    store.delete_task("a")
    assert not store.update_task_if_unchanged(stale, START + timedelta(seconds=200), NOW)
    assert store.lookup_task("a") is None  # not written back
    scheduler.shutdown()


def test_update_many_if_unchanged_writes_only_the_unchanged(backend: Backend) -> None:
    scheduler = started(backend)
    store = store_of(scheduler)
    store.add_tasks([make_task(task_id, 200) for task_id in ("same", "moved", "gone")])
    repairs = [(moved(store, task_id, -50), START + timedelta(seconds=200))
               for task_id in ("same", "moved", "gone")]  # fmt: skip
    changed = store.lookup_task("moved")
    assert changed is not None
    changed.next_run_time = START + timedelta(seconds=260)
    store.update_task(changed)
    store.delete_task("gone")
    assert store.update_tasks_if_unchanged(repairs, NOW) == 1
    assert store.update_tasks_if_unchanged([], NOW) == 0
    times = {task.id: task.next_run_time for task in store.get_all_tasks()}
    assert times == {
        "same": START + timedelta(seconds=150), "moved": START + timedelta(seconds=260)
    }  # fmt: skip
    scheduler.shutdown()


def test_update_if_unchanged_leaves_a_claimed_task_alone(backend: Backend) -> None:
    if not backend.shared:
        pytest.skip("the memory store's claims are its only scheduler's")
    clock = FakeClock(NOW)
    one, two = started(backend, clock), started(backend, clock)
    store_of(one).add_task(make_task("a", 90))  # due
    repair = moved(store_of(two), "a", -50)
    [claimed] = store_of(one).acquire_due_tasks(NOW, 10)
    assert not store_of(two).update_task_if_unchanged(repair, START + timedelta(seconds=90), NOW)
    store_of(one).release_task(claimed, START + timedelta(seconds=150))
    found = store_of(two).lookup_task("a")
    assert found is not None and found.next_run_time == START + timedelta(seconds=150)
    # the release went through: the fire is not run again at its old time
    assert [t.id for t in store_of(two).acquire_due_tasks(NOW, 10)] == []
    one.shutdown()
    two.shutdown()


def test_of_two_writers_of_one_repair_one_writes(backend: Backend) -> None:
    if not backend.shared:
        pytest.skip("the memory store is not shared between schedulers")
    clock = FakeClock(NOW)
    schedulers = [started(backend, clock) for _ in range(2)]
    stores = [store_of(scheduler) for scheduler in schedulers]
    for index in range(20):
        stores[0].add_task(make_task(f"t{index}", 200))
    seen = START + timedelta(seconds=200)
    repairs = [[moved(store, f"t{i}", -50) for i in range(20)] for store in stores]
    written = [0, 0]
    barrier = threading.Barrier(2)

    def write(index: int) -> None:
        barrier.wait()
        for task in repairs[index]:
            written[index] += stores[index].update_task_if_unchanged(task, seen, NOW)

    threads = [threading.Thread(target=write, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(written) == 20
    times = {task.next_run_time for task in stores[1].get_all_tasks()}
    assert times == {START + timedelta(seconds=150)}
    for scheduler in schedulers:
        scheduler.shutdown()


# -- clock steps through the scheduler ---------------------------------------------------------


def test_a_back_step_moves_a_stored_interval_back_once(backend: Backend) -> None:
    """Two schedulers on one store notice the same step back: the interval is moved back by
    the step once, and fires after its elapsed interval; the cron task keeps its wall time."""
    if not backend.shared:
        pytest.skip("the memory store is its scheduler's own (see test_contract)")
    CALLS.clear()
    clock = FakeClock()
    one, two = started(backend, clock), started(backend, clock)
    one.add_task(record_call, "interval", seconds=10, id="i", args=["i"])
    one.add_task(record_call, "cron", minute="*", id="c", args=["c"])
    clock.advance(10)
    one.process_tasks()  # the interval's first fire, at 12:00:10
    two.process_tasks()
    clock.advance(4)
    clock.jump_wall(-600)  # 12:00:14 -> 11:50:14
    two.process_tasks()
    one.process_tasks()
    assert one.get_task("i").next_run_time == clock.now() + timedelta(seconds=6)
    assert one.get_task("c").next_run_time == START + timedelta(minutes=1)  # a wall time
    for _ in range(6):
        clock.advance(1)
        one.process_tasks()
        two.process_tasks()
    assert CALLS == [("i",), ("i",)]  # 10 s of elapsed time after the first fire
    one.shutdown()
    two.shutdown()


def test_a_forward_step_keeps_the_wall_times_of_a_stored_interval(backend: Backend) -> None:
    """After a step forward the stored interval catches up once (coalesced), as after a
    suspend, then goes on from its next run time."""
    if not backend.persistent:
        pytest.skip("the memory store shifts its intervals both ways (see test_contract)")
    CALLS.clear()
    clock = FakeClock()
    scheduler = started(backend, clock)
    scheduler.add_task(
        record_call, "interval", seconds=10, id="i", args=["i"], mistrigger_grace_time=None
    )
    clock.advance(10)
    scheduler.process_tasks()
    clock.advance(4)
    clock.jump_wall(600)
    scheduler.process_tasks()
    assert CALLS == [("i",), ("i",)]  # one catch-up fire, coalesced
    assert scheduler.get_task("i").next_run_time == START + timedelta(seconds=620)
    scheduler.shutdown()
