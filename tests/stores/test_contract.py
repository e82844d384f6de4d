"""One contract, every store: what the scheduler relies on, checked against each backend."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from asyncz_like.events import STORE_RECORD_BROKEN, TASK_MAX_INSTANCES, TASK_MISSED
from asyncz_like.exceptions import ConflictIdError, TaskLookupError
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks import Task
from asyncz_like.triggers import IntervalTrigger
from tests.helpers import START, FakeClock, Recorder, manual_scheduler
from tests.helpers import make_task as make_stored_task
from tests.stores.backends import Backend

CALLS: list[Any] = []


def record_call(*args: Any) -> None:
    CALLS.append(args)


def make_task(task_id: str, offset: float | None, **options: Any) -> Task:
    return make_stored_task(task_id, offset, record_call, filled=True, **options)


def started(backend: Backend, clock: FakeClock | None = None, **options: Any) -> Any:
    scheduler = manual_scheduler(clock or FakeClock(), stores={"default": backend.make(**options)})
    scheduler.start()
    return scheduler


def store_of(scheduler: Any) -> BaseStore:
    return scheduler.lookup_store("default")  # type: ignore[no-any-return]


def test_add_lookup_update_delete(backend: Backend) -> None:
    scheduler = started(backend)
    store = store_of(scheduler)
    store.add_task(make_task("a", 10, args=[1]))
    found = store.lookup_task("a")
    assert found is not None and found.args == (1,) and found.fn is record_call
    assert found.next_run_time == START + timedelta(seconds=10)
    found.args = (2,)
    store.update_task(found)
    assert store.lookup_task("a").args == (2,)  # type: ignore[union-attr]
    store.delete_task("a")
    assert store.lookup_task("a") is None
    with pytest.raises(TaskLookupError):
        store.delete_task("a")
    with pytest.raises(TaskLookupError):
        store.update_task(make_task("zz", 1))
    scheduler.shutdown()


def test_conflicting_id(backend: Backend) -> None:
    scheduler = started(backend)
    store = store_of(scheduler)
    store.add_task(make_task("a", 10, args=[1]))
    with pytest.raises(ConflictIdError):
        store.add_task(make_task("a", 5, args=[2]))
    assert store.lookup_task("a").args == (1,)  # type: ignore[union-attr]
    scheduler.shutdown()


def test_add_tasks_writes_all_or_none(backend: Backend) -> None:
    scheduler = started(backend)
    store = store_of(scheduler)
    store.add_tasks([make_task(f"b{i}", i) for i in range(5)])
    assert [t.id for t in store.get_all_tasks()] == [f"b{i}" for i in range(5)]
    with pytest.raises(ConflictIdError, match="b3"):
        store.add_tasks([make_task("new1", 1), make_task("b3", 1), make_task("new2", 2)])
    assert sorted(t.id for t in store.get_all_tasks()) == [f"b{i}" for i in range(5)]
    store.add_tasks([])
    scheduler.shutdown()


def test_scheduler_add_tasks_from_dicts_and_tasks(backend: Backend) -> None:
    CALLS.clear()
    clock = FakeClock()
    scheduler = started(backend, clock)
    added = scheduler.add_tasks(
        [
            {"fn": record_call, "trigger": "interval", "seconds": 10, "id": "d1", "args": [1]},
            {"fn": f"{__name__}:record_call", "trigger": "date", "run_at": START, "id": "d2"},
            Task(record_call, IntervalTrigger(seconds=20), id="t1"),
        ]
    )
    assert [t.id for t in added] == ["d1", "d2", "t1"]
    assert {t.id: t.next_run_time for t in scheduler.get_tasks()} == {
        "d2": START, "d1": START + timedelta(seconds=10), "t1": START + timedelta(seconds=20),
    }  # fmt: skip
    scheduler.process_tasks()
    clock.advance(10)
    scheduler.process_tasks()
    assert CALLS == [(), (1,)]
    with pytest.raises(ConflictIdError, match="d1"):  # held already: nothing of the batch added
        scheduler.add_tasks([{"fn": record_call, "id": "x"}, {"fn": record_call, "id": "d1"}])
    with pytest.raises(ConflictIdError, match="y"):  # repeated in the batch
        scheduler.add_tasks([{"fn": record_call, "id": "y"}, {"fn": record_call, "id": "y"}])
    with pytest.raises(TypeError, match="item 1"):  # bad options name the item
        scheduler.add_tasks([{"fn": record_call, "id": "z"}, {"fn": record_call, "sconds": 1}])
    assert sorted(t.id for t in scheduler.get_tasks()) == ["d1", "t1"]
    replaced = scheduler.add_tasks(
        [{"fn": record_call, "trigger": "interval", "seconds": 5, "id": "d1"}],
        replace_existing=True,
    )
    assert scheduler.get_task("d1").trigger.interval == replaced[0].trigger.interval
    scheduler.shutdown()


def test_due_tasks_in_order_and_next_run_time(backend: Backend) -> None:
    scheduler = started(backend)
    store = store_of(scheduler)
    for task_id, offset in [("c", 30), ("a", 10), ("b", 20), ("p", None), ("late", 99)]:
        store.add_task(make_task(task_id, offset))
    assert [t.id for t in store.get_due_tasks(START + timedelta(seconds=25))] == ["a", "b"]
    assert store.get_next_run_time() == START + timedelta(seconds=10)
    assert [t.id for t in store.get_all_tasks()] == ["a", "b", "c", "late", "p"]
    scheduler.shutdown()


def test_acquire_claims_until_released(backend: Backend) -> None:
    scheduler = started(backend)
    store = store_of(scheduler)
    for task_id, offset in [("a", 1), ("b", 2), ("c", 3)]:
        store.add_task(make_task(task_id, offset))
    now = START + timedelta(seconds=10)
    first = store.acquire_due_tasks(now, 2)
    assert [t.id for t in first] == ["a", "b"]
    assert [t.id for t in store.acquire_due_tasks(now, 10)] == ["c"]
    assert store.acquire_due_tasks(now, 10) == []
    store.release_task(first[0], START + timedelta(seconds=5))
    store.release_task(first[1], None)
    assert [t.id for t in store.acquire_due_tasks(now, 10)] == ["a"]
    assert store.lookup_task("b") is None
    scheduler.shutdown()


def test_pause_and_resume_through_the_scheduler(backend: Backend) -> None:
    clock = FakeClock()
    scheduler = started(backend, clock)
    task = scheduler.add_task(record_call, "interval", seconds=10, id="p")
    scheduler.pause_task("p")
    assert scheduler.get_task("p").next_run_time is None
    assert store_of(scheduler).get_next_run_time() is None
    scheduler.resume_task("p")
    assert scheduler.get_task("p").next_run_time == START + timedelta(seconds=10)
    assert task.id == "p"
    scheduler.shutdown()


def test_tasks_read_back_from_the_store_act_on_their_scheduler(backend: Backend) -> None:
    clock = FakeClock()
    scheduler = started(backend, clock)
    scheduler.add_task(record_call, "interval", seconds=10, id="own")
    found = scheduler.get_task("own")
    assert found.scheduler is scheduler
    assert all(task.scheduler is scheduler for task in scheduler.get_tasks())
    found.pause()  # through the scheduler, as a task the user added
    assert scheduler.get_task("own").next_run_time is None
    scheduler.shutdown()


def test_replace_existing_and_remove_all(backend: Backend) -> None:
    scheduler = started(backend)
    scheduler.add_task(record_call, "interval", seconds=10, id="r", args=[1])
    with pytest.raises(ConflictIdError):
        scheduler.add_task(record_call, "interval", seconds=10, id="r", args=[2])
    scheduler.add_task(record_call, "interval", seconds=10, id="r", args=[3], replace_existing=True)
    assert scheduler.get_task("r").args == (3,)
    scheduler.add_task(record_call, "interval", seconds=10, id="s")
    scheduler.remove_all_tasks()
    assert scheduler.get_tasks() == []
    scheduler.shutdown()


def test_scheduler_fires_from_the_store(backend: Backend) -> None:
    CALLS.clear()
    clock = FakeClock()
    scheduler = started(backend, clock)
    scheduler.add_task(record_call, "interval", seconds=10, id="f", args=["x"])
    for _ in range(3):
        clock.advance(10)
        scheduler.process_tasks()
    assert CALLS == [("x",)] * 3
    assert scheduler.get_task("f").next_run_time == START + timedelta(seconds=40)
    scheduler.shutdown()


def test_interval_keeps_its_spacing_across_clock_steps(backend: Backend) -> None:
    """A step of the wall clock shifts the stored interval (its next run time and anchor),
    written through ``update_task``; the cron task beside it keeps its wall times."""
    if backend.persistent:
        pytest.skip("a store that may be shared is repaired (test_contract_clock_steps)")
    CALLS.clear()
    clock = FakeClock()
    scheduler = started(backend, clock)
    scheduler.add_task(record_call, "interval", seconds=10, id="i", args=["i"])
    scheduler.add_task(
        record_call, "cron", second="*/30", id="c", args=["c"], mistrigger_grace_time=None
    )
    scheduler.process_tasks()  # cron at 12:00:00
    for step in (-600, 900):
        clock.advance(5)
        scheduler.process_tasks()
        clock.jump_wall(step)
        clock.advance(5)
        scheduler.process_tasks()
    # the interval each 10 s of elapsed time; cron not again after the back step, and once
    # (coalesced) for the run times the forward step skipped
    assert sorted(CALLS) == [("c",), ("c",), ("i",), ("i",)]
    assert scheduler.get_task("i").next_run_time == clock.now() + timedelta(seconds=10)
    assert scheduler.get_task("c").next_run_time == START + timedelta(seconds=330)
    scheduler.shutdown()


def test_tasks_survive_a_restart(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip("the memory store keeps nothing across processes by design")
    clock = FakeClock()
    first = started(backend, clock)
    first.add_task(record_call, "interval", seconds=10, id="keep", args=[7])
    first.shutdown()
    second = started(backend, clock)
    task = second.get_task("keep")
    assert task is not None and task.args == (7,)
    assert task.next_run_time == START + timedelta(seconds=10)
    second.shutdown()


def test_unimportable_function_is_refused_and_nothing_written(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip("the memory store keeps any callable")
    scheduler = started(backend)
    with pytest.raises(ValueError, match="import"):
        scheduler.add_task(lambda: None, "interval", seconds=10, id="lam")
    with pytest.raises(TypeError, match="args"):
        scheduler.add_task(record_call, "interval", seconds=10, id="lock", args=[threading.Lock()])
    assert scheduler.get_tasks() == []
    scheduler.shutdown()


def test_broken_record_is_reported_skipped_and_kept(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip("the memory store has no records to break")
    events = Recorder()
    CALLS.clear()
    clock = FakeClock()
    scheduler = started(backend, clock)
    scheduler.add_listener(events.listener, STORE_RECORD_BROKEN)
    scheduler.add_task(record_call, "interval", seconds=10, id="good")
    scheduler.add_task(record_call, "interval", seconds=10, id="bad")
    store = store_of(scheduler)
    backend.corrupt(store, "bad")
    clock.advance(10)
    scheduler.process_tasks()
    scheduler.process_tasks()
    assert CALLS == [()]  # the good one ran; the loop went on
    assert "bad" in store.get_broken_records()
    assert events.events and events.events[0].task_id == "bad"
    assert [t.id for t in scheduler.get_tasks()] == ["good"]
    assert list(scheduler.get_broken_records()) == ["default"]
    scheduler.delete_task("bad")  # removing it on purpose works
    assert store.get_broken_records() == {}
    assert scheduler.get_broken_records() == {}
    scheduler.shutdown()


def test_remove_all_keeps_broken_records(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip("the memory store has no records to break")
    scheduler = started(backend)
    for task_id in ("ok1", "bad", "ok2"):
        scheduler.add_task(record_call, "interval", seconds=10, id=task_id)
    store = store_of(scheduler)
    backend.corrupt(store, "bad")
    scheduler.remove_all_tasks()  # "bad" was never read before: it is found and kept
    assert scheduler.get_tasks() == []
    assert list(store.get_broken_records()) == ["bad"]
    scheduler.delete_task("bad")
    assert store.get_broken_records() == {}
    scheduler.add_task(record_call, "interval", seconds=10, id="bad")  # the id is free again
    scheduler.shutdown()


def test_two_schedulers_claim_each_fire_once(backend: Backend) -> None:
    if not backend.shared:
        pytest.skip("the memory store is not shared between schedulers")
    clock = FakeClock()
    one, two = started(backend, clock), started(backend, clock)
    for i in range(40):
        one.add_task(record_call, "interval", seconds=10, id=f"t{i}")
    clock.advance(10)
    claimed: list[list[str]] = [[], []]
    barrier = threading.Barrier(2)

    def claim(index: int, scheduler: Any) -> None:
        barrier.wait()
        store = store_of(scheduler)
        while batch := store.acquire_due_tasks(clock.now(), 3):
            claimed[index].extend(task.id for task in batch)

    threads = [threading.Thread(target=claim, args=(i, s)) for i, s in enumerate([one, two])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed[0] + claimed[1]) == sorted(f"t{i}" for i in range(40))
    one.shutdown()
    two.shutdown()


def test_claim_expires_with_its_lease(backend: Backend) -> None:
    if not backend.shared:
        pytest.skip("the memory store's claim is held by its only process")
    clock = FakeClock()
    one = started(backend, clock, lease_seconds=30)
    two = started(backend, clock, lease_seconds=30)
    one.add_task(record_call, "interval", seconds=10, id="l")
    clock.advance(10)
    assert [t.id for t in store_of(one).acquire_due_tasks(clock.now(), 10)] == ["l"]
    assert store_of(two).acquire_due_tasks(clock.now(), 10) == []
    clock.advance(31)  # the first scheduler died without releasing
    assert [t.id for t in store_of(two).acquire_due_tasks(clock.now(), 10)] == ["l"]
    one.shutdown()
    two.shutdown()


def test_taking_over_an_expired_claim_notes_when_it_was_made(backend: Backend) -> None:
    if not backend.shared:
        pytest.skip("the memory store's claim is held by its only process")
    clock = FakeClock()
    one = started(backend, clock, lease_seconds=30)
    two = started(backend, clock, lease_seconds=30)
    one.add_task(record_call, "interval", seconds=60, id="d")
    one.add_task(record_call, "interval", seconds=60, id="free")
    clock.advance(60)
    assert [t.id for t in store_of(one).acquire_due_tasks(clock.now(), 1)] == ["d"]
    claimed_at = clock.now()
    clock.advance(31)  # the first scheduler died between its claim and its release
    assert sorted(t.id for t in store_of(two).acquire_due_tasks(clock.now(), 10)) == ["d", "free"]
    assert store_of(two).lost_claims == {"d": claimed_at}  # "free" had no lease to take over
    one.shutdown()
    two.shutdown()


def test_fire_of_a_dead_claim_runs_after_its_lease(backend: Backend) -> None:
    """A scheduler that claimed a fire and died before releasing it loses nothing: the next
    scheduler takes the lease over when it expires and runs the fire, although it is later
    than the task's grace time by then."""
    if not backend.shared:
        pytest.skip("the memory store's claim is held by its only process")
    CALLS.clear()
    clock = FakeClock()
    one = started(backend, clock, lease_seconds=30)
    two = started(backend, clock, lease_seconds=30)
    missed = Recorder()
    two.add_listener(missed.listener, TASK_MISSED)
    one.add_task(record_call, "interval", seconds=60, id="d", mistrigger_grace_time=1)
    clock.advance(60)
    assert [t.id for t in store_of(one).acquire_due_tasks(clock.now(), 10)] == ["d"]
    clock.advance(31)
    two.process_tasks()
    assert CALLS == [()]
    assert missed.events == []
    task = two.get_task("d")
    assert task.next_run_time == START + timedelta(seconds=120)
    assert task.mistrigger_grace_time == 1  # the stored task keeps its own grace time
    assert store_of(two).lost_claims == {}
    one.shutdown()
    two.shutdown()


def test_late_fire_without_a_dead_claim_is_still_missed(backend: Backend) -> None:
    CALLS.clear()
    clock = FakeClock()
    scheduler = started(backend, clock)
    missed = Recorder()
    scheduler.add_listener(missed.listener, TASK_MISSED)
    scheduler.add_task(record_call, "interval", seconds=60, id="m", mistrigger_grace_time=1)
    clock.advance(62)
    scheduler.process_tasks()
    assert CALLS == []
    assert [e.task_id for e in missed.events] == ["m"]
    scheduler.shutdown()


def test_own_claim_of_a_failed_pass_is_claimed_again(backend: Backend) -> None:
    """A claim whose pass failed (the commit went through but its answer was lost, or a
    release failed) must not hold the task until its lease ends: the store's next claim takes
    it again. Within one claim the tasks it took are not handed out twice."""
    if backend.name not in ("sqlite", "postgresql", "mariadb", "redis"):
        pytest.skip("the file store counts its own live claims as held (its lock rules passes)")
    clock = FakeClock()
    scheduler = started(backend, clock, lease_seconds=30, **_small_batches(backend))
    other = started(backend, clock, lease_seconds=30)
    for i in range(5):
        scheduler.add_task(record_call, "interval", seconds=10, id=f"o{i}")
    clock.advance(10)
    store = store_of(scheduler)
    assert sorted(t.id for t in store.acquire_due_tasks(clock.now(), 10)) == [
        f"o{i}" for i in range(5)
    ]  # in batches of 2 on SQL: no task twice
    assert store_of(other).acquire_due_tasks(clock.now(), 10) == []  # live leases, not its own
    clock.advance(1.5)  # young: it may hold fires claimed ahead, released when they start
    assert store.acquire_due_tasks(clock.now(), 10) == []
    clock.advance(0.5)
    again = store.acquire_due_tasks(clock.now(), 10)
    assert sorted(t.id for t in again) == [f"o{i}" for i in range(5)]
    assert store.lost_claims == dict.fromkeys(
        (f"o{i}" for i in range(5)), clock.now() - timedelta(seconds=2)
    )
    scheduler.shutdown()
    other.shutdown()


def _small_batches(backend: Backend) -> dict[str, Any]:
    return {"batch_size": 2} if backend.name in ("sqlite", "postgresql", "mariadb") else {}


def test_run_slots_hold_across_store_instances(backend: Backend) -> None:
    one, two = started(backend), started(backend)
    first, second = store_of(one), store_of(two)
    task = make_task("s", 0)
    task.max_instances = 2
    first.add_task(task)
    if not first.shares_run_slots:  # the executor's own count holds: every ask gets a token
        assert first.acquire_run_slot(task, START) is not None
        first.release_run_slot("s", "")
        one.shutdown()
        two.shutdown()
        return
    a = first.acquire_run_slot(task, START)
    b = second.acquire_run_slot(task, START)
    assert a is not None and b is not None and a != b
    assert first.acquire_run_slot(task, START) is None
    assert second.acquire_run_slot(task, START) is None
    second.release_run_slot("s", a)  # any instance frees a slot by its token
    c = first.acquire_run_slot(task, START)
    assert c is not None and second.acquire_run_slot(task, START) is None
    other = make_task("t", 0)  # slots are counted per task
    assert second.acquire_run_slot(other, START) is not None
    one.shutdown()
    two.shutdown()


def test_run_slot_expires_with_its_lease_unless_renewed(backend: Backend) -> None:
    one = started(backend, lease_seconds=5)
    two = started(backend, lease_seconds=5)
    first, second = store_of(one), store_of(two)
    task = make_task("e", 0)
    first.add_task(task)
    if not first.shares_run_slots:
        pytest.skip("this store keeps no run slots: the executor's count holds")
    token = first.acquire_run_slot(task, START)
    assert token is not None
    assert second.acquire_run_slot(task, START + timedelta(seconds=4)) is None
    first.renew_run_slots([("e", token)], START + timedelta(seconds=4))  # now lives until 9 s
    assert second.acquire_run_slot(task, START + timedelta(seconds=8)) is None
    taken = second.acquire_run_slot(task, START + timedelta(seconds=9.5))  # holder died
    assert taken is not None
    first.renew_run_slots([("e", token)], START + timedelta(seconds=9.5))  # stays gone
    assert first.acquire_run_slot(task, START + timedelta(seconds=10)) is None
    second.release_run_slot("e", taken)
    assert first.acquire_run_slot(task, START + timedelta(seconds=10)) is not None
    one.shutdown()
    two.shutdown()


def test_release_tasks_gives_back_a_whole_claim(backend: Backend) -> None:
    clock = FakeClock()
    scheduler = started(backend, clock)
    store = store_of(scheduler)
    store.add_tasks([make_task(task_id, 1) for task_id in ("move", "done", "gone")])
    clock.advance(1)
    claimed = {task.id: task for task in store.acquire_due_tasks(clock.now(), 10)}
    assert sorted(claimed) == ["done", "gone", "move"]
    store.delete_task("gone")  # removed while its fire ran
    later = START + timedelta(seconds=61)
    deleted = store.release_tasks(
        [(claimed["move"], later), (claimed["done"], None), (claimed["gone"], later)]
    )
    assert deleted == ["gone"]
    assert [(t.id, t.next_run_time) for t in store.get_all_tasks()] == [("move", later)]
    assert store.acquire_due_tasks(later, 10)[0].id == "move"  # released: claimable again
    assert store.release_tasks([]) == []
    scheduler.shutdown()


def test_acquire_run_slots_counts_within_one_call_and_across_instances(
    backend: Backend,
) -> None:
    one, two = started(backend), started(backend)
    first, second = store_of(one), store_of(two)
    pair = make_task("pair", 0, max_instances=2)
    pair.max_instances = 2
    single = make_task("single", 0)
    first.add_tasks([pair, single])
    if not first.shares_run_slots:
        pytest.skip("this store keeps no run slots: the executor's count holds")
    tokens = first.acquire_run_slots([pair, single, pair, pair], START)
    assert [token is not None for token in tokens] == [True, True, True, False]
    assert second.acquire_run_slots([single, pair], START) == [None, None]
    first.release_run_slot("pair", tokens[0])  # type: ignore[arg-type]
    assert [t is not None for t in second.acquire_run_slots([pair, pair], START)] == [True, False]
    assert first.acquire_run_slots([], START) == []
    one.shutdown()
    two.shutdown()


def test_release_run_slots_frees_many_at_once(backend: Backend) -> None:
    scheduler = started(backend)
    store = store_of(scheduler)
    pair = make_task("pair", 0)
    pair.max_instances = 2
    store.add_task(pair)
    if not store.shares_run_slots:
        pytest.skip("this store keeps no run slots: the executor's count holds")
    tokens = store.acquire_run_slots([pair, pair], START)
    assert None not in tokens and store.acquire_run_slot(pair, START) is None
    store.release_run_slots([("pair", token) for token in tokens if token is not None])
    assert None not in store.acquire_run_slots([pair, pair], START)
    store.release_run_slots([])
    scheduler.shutdown()


def test_changes_made_while_claimed_win_over_the_release(backend: Backend) -> None:
    """A pause or a reschedule made while a fire is claimed is kept: the release only drops
    the lease. A change that leaves the run time alone keeps the release's run time."""
    scheduler = started(backend)
    store = store_of(scheduler)
    store.add_tasks([make_task(task_id, 1) for task_id in ("same", "paused", "moved", "last")])
    claimed = {t.id: t for t in store.acquire_due_tasks(START + timedelta(seconds=10), 10)}
    assert sorted(claimed) == ["last", "moved", "paused", "same"]
    store.update_task(make_task("same", 1, args=[2]))  # new args, the same schedule
    store.update_task(make_task("paused", None))
    store.update_task(make_task("moved", 500))
    store.update_task(make_task("last", 700))  # its release would delete it
    later = START + timedelta(seconds=61)
    releases = [(claimed[i], later) for i in ("same", "paused", "moved")]
    store.release_tasks([*releases, (claimed["last"], None)])
    found = {task.id: task for task in store.get_all_tasks()}
    assert sorted(found) == ["last", "moved", "paused", "same"]
    assert found["same"].args == (2,) and found["same"].next_run_time == later
    assert found["paused"].next_run_time is None
    assert found["moved"].next_run_time == START + timedelta(seconds=500)
    assert found["last"].next_run_time == START + timedelta(seconds=700)
    # every lease was dropped: each task is claimable again at its own time
    due = store.acquire_due_tasks(START + timedelta(seconds=1000), 10)
    assert sorted(task.id for task in due) == ["last", "moved", "same"]
    scheduler.shutdown()


def test_a_last_fire_takes_no_run_slot(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """A task's last fire is released by deleting the task, so no other scheduler can start
    it again: only the fires of tasks that go on take a shared run slot."""
    CALLS.clear()
    clock = FakeClock()
    scheduler = started(backend, clock)
    store = store_of(scheduler)
    asked: list[str] = []
    acquire = store.acquire_run_slots

    def recording(tasks: Any, now: Any) -> Any:
        asked.extend(task.id for task in tasks)
        return acquire(tasks, now)

    monkeypatch.setattr(store, "acquire_run_slots", recording)
    scheduler.add_task(record_call, "date", run_at=START + timedelta(seconds=5), id="once")
    scheduler.add_task(record_call, "interval", seconds=5, id="again")
    clock.advance(5)
    scheduler.process_tasks()
    assert sorted(CALLS) == [(), ()]
    assert asked == (["again"] if store.shares_run_slots else [])
    assert [task.id for task in scheduler.get_tasks()] == ["again"]
    scheduler.shutdown()


def test_a_fire_claimed_ahead_whose_run_slot_is_taken_is_tried_again(backend: Backend) -> None:
    """The run that holds the slot may end before this fire's run time: the fire is given
    back unrun, not skipped."""
    CALLS.clear()
    clock = FakeClock()
    scheduler = started(backend, clock)
    store = store_of(scheduler)
    if not (store.does_io and store.shares_run_slots):
        scheduler.shutdown()
        pytest.skip("no claim ahead or no run slots here: the executor's count holds")
    refusals = Recorder()
    scheduler.add_listener(refusals.listener, TASK_MAX_INSTANCES)
    scheduler.add_task(record_call, "interval", seconds=5, id="busy", max_instances=1)
    other = started(backend, lease_seconds=30)  # its slot outlives the test's 5 s
    task = store.lookup_task("busy")
    assert task is not None
    token = store_of(other).acquire_run_slot(task, START)  # another scheduler's run
    assert token is not None
    clock.advance(5 - 0.02)  # the fire at 5 s is inside claim_ahead (0.05)
    scheduler.process_tasks()
    assert CALLS == [] and refusals.codes() == []
    assert store.get_next_run_time() == START + timedelta(seconds=5)  # given back, unrun
    store_of(other).release_run_slot("busy", token)
    clock.advance(0.02)
    scheduler.process_tasks()
    assert CALLS == [()] and refusals.codes() == []
    scheduler.shutdown()
    other.shutdown()


SHUTDOWN_CALLS: list[str] = []


def test_paused_tasks_are_those_without_a_run_time_in_the_order_of_all(backend: Backend) -> None:
    scheduler = started(backend)
    store = store_of(scheduler)
    store.add_tasks(
        [make_task(task_id, offset) for task_id, offset in
         (("c", None), ("a", 5), ("b", None), ("d", 1), ("e", None))]
    )  # fmt: skip
    paused = [task.id for task in store.get_paused_tasks()]
    everything = [task.id for task in store.get_all_tasks() if task.next_run_time is None]
    assert paused == everything and sorted(paused) == ["b", "c", "e"]
    assert all(task.fn is record_call for task in store.get_paused_tasks())
    store.delete_task("b")
    assert [task.id for task in store.get_paused_tasks()] == [i for i in paused if i != "b"]
    scheduler.shutdown()


def shutdown_job(name: str) -> None:
    """A shutdown task's function (module-level, so that every store can keep it)."""
    SHUTDOWN_CALLS.append(name)


def test_shutdown_runs_the_shutdown_tasks_of_the_store_in_order(backend: Backend) -> None:
    SHUTDOWN_CALLS.clear()
    scheduler = started(backend)
    for task_id in ("b-added-first", "a-added-second"):
        scheduler.add_task(shutdown_job, "shutdown", id=task_id, args=[task_id])
    scheduler.add_task(record_call, "interval", seconds=60, id="ticking")
    scheduler.pause_task("ticking")  # paused, not a shutdown task: it does not run
    scheduler.shutdown()
    added = ["b-added-first", "a-added-second"]  # a persistent store keeps no such order
    expected = sorted(added) if backend.persistent else added
    assert expected == SHUTDOWN_CALLS


def test_a_last_fire_a_delete_or_an_update_lets_go_of_the_decoded_task(
    backend: Backend,
) -> None:
    """A store that remembers decoded records (SQL, Redis) drops a task's once its record
    will not be read again: a burst of one-off tasks is not kept in memory afterwards."""
    from asyncz_like.serializers.decoded import DecodedRecords

    scheduler = started(backend)
    store = store_of(scheduler)
    records = getattr(store, "_records", None)
    if not isinstance(records, DecodedRecords):
        pytest.skip("this store keeps no decoded records")
    for task_id in ("last", "kept", "deleted", "updated"):
        store.add_task(make_task(task_id, 1))
    due = {task.id: task for task in store.acquire_due_tasks(START + timedelta(seconds=1), 10)}
    assert sorted(due) == ["deleted", "kept", "last", "updated"] and len(records) == 4
    later = START + timedelta(seconds=61)
    store.release_tasks([(due["last"], None)] + [(due[i], later) for i in ("kept", "deleted")])
    store.release_tasks([(due["updated"], later)])
    assert len(records) == 3
    store.delete_task("deleted")
    updated = store.lookup_task("updated")
    assert updated is not None and len(records) == 2
    updated.args = (5,)
    store.update_task(updated)
    assert len(records) == 1  # "kept"
    assert store.lookup_task("updated").args == (5,)  # type: ignore[union-attr]
    assert store.lookup_task("kept") is not None and len(records) == 2
    scheduler.shutdown()
