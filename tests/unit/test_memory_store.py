from __future__ import annotations

import gc
import sys
from datetime import timedelta

import pytest

from asyncz_like.exceptions import ConflictIdError, TaskLookupError
from asyncz_like.stores.memory import MemoryStore
from asyncz_like.tasks import Task
from asyncz_like.triggers import DateTrigger, IntervalTrigger
from tests.helpers import START


def make(task_id: str, offset: float | None) -> Task:
    task = Task(print, id=task_id)
    task.next_run_time = None if offset is None else START + timedelta(seconds=offset)
    return task


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def test_add_and_lookup(store: MemoryStore) -> None:
    task = make("a", 5)
    store.add_task(task)
    assert store.lookup_task("a") is task
    assert store.lookup_task("missing") is None


def test_duplicate_id_conflicts_and_keeps_the_first(store: MemoryStore) -> None:
    first = make("a", 5)
    store.add_task(first)
    with pytest.raises(ConflictIdError, match="'a'"):
        store.add_task(make("a", 1))
    assert store.lookup_task("a") is first
    assert store.get_next_run_time() == START + timedelta(seconds=5)


def test_due_tasks_in_order_and_unchanged(store: MemoryStore) -> None:
    for task_id, offset in [("c", 30), ("a", 10), ("b", 20), ("p", None), ("late", 99)]:
        store.add_task(make(task_id, offset))
    due = store.get_due_tasks(START + timedelta(seconds=25))
    assert [t.id for t in due] == ["a", "b"]
    assert [t.id for t in store.get_due_tasks(START + timedelta(seconds=25))] == ["a", "b"]
    assert store.get_next_run_time() == START + timedelta(seconds=10)


def test_acquire_claims_until_written_back(store: MemoryStore) -> None:
    for task_id, offset in [("a", 1), ("b", 2), ("c", 3)]:
        store.add_task(make(task_id, offset))
    now = START + timedelta(seconds=10)
    claimed = store.acquire_due_tasks(now, 2)
    assert [t.id for t in claimed] == ["a", "b"]
    assert [t.id for t in store.acquire_due_tasks(now, 10)] == ["c"]
    assert store.acquire_due_tasks(now, 10) == []
    claimed[0].next_run_time = START + timedelta(seconds=5)
    store.update_task(claimed[0])
    assert [t.id for t in store.acquire_due_tasks(now, 10)] == ["a"]


def test_equal_times_come_out_first_in_first_out(store: MemoryStore) -> None:
    for task_id in ["x", "y", "z"]:
        store.add_task(make(task_id, 1))
    assert [t.id for t in store.acquire_due_tasks(START + timedelta(seconds=1), 10)] == [
        "x",
        "y",
        "z",
    ]


def test_update_moves_the_task(store: MemoryStore) -> None:
    store.add_task(make("a", 1))
    store.add_task(make("b", 2))
    store.update_task(make("a", 3))
    assert store.get_next_run_time() == START + timedelta(seconds=2)
    assert [t.id for t in store.get_all_tasks()] == ["b", "a"]


def test_pause_by_update_removes_from_due(store: MemoryStore) -> None:
    store.add_task(make("a", 1))
    store.update_task(make("a", None))
    assert store.get_due_tasks(START + timedelta(days=1)) == []
    assert store.get_next_run_time() is None
    assert [t.id for t in store.get_all_tasks()] == ["a"]


def test_delete_and_missing(store: MemoryStore) -> None:
    store.add_task(make("a", 1))
    store.delete_task("a")
    assert store.get_next_run_time() is None
    with pytest.raises(TaskLookupError):
        store.delete_task("a")
    with pytest.raises(TaskLookupError):
        store.update_task(make("zz", 1))


def test_remove_all(store: MemoryStore) -> None:
    for i in range(5):
        store.add_task(make(str(i), i))
    store.remove_all_tasks()
    assert store.get_all_tasks() == []
    assert store.get_next_run_time() is None


def test_stale_entries_are_compacted(store: MemoryStore) -> None:
    store.add_task(make("a", 1))
    for i in range(1000):
        store.update_task(make("a", 1000 - i))
    assert len(store._heap) <= 2 * 1 + 64 + 1
    assert store.get_next_run_time() == START + timedelta(seconds=1)


def test_all_tasks_paused_last(store: MemoryStore) -> None:
    store.add_task(make("p", None))
    store.add_task(make("b", 2))
    store.add_task(make("a", 1))
    assert [t.id for t in store.get_all_tasks()] == ["a", "b", "p"]


def test_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError, match="directory"):
        MemoryStore(directory="/tmp")


def test_a_time_moved_away_and_back_fires_once(store: MemoryStore) -> None:
    store.add_task(make("a", 1))
    store.update_task(make("a", 2))
    store.update_task(make("a", 1))  # the first entry is live again, beside a second one
    now = START + timedelta(seconds=10)
    assert [t.id for t in store.acquire_due_tasks(now, 10)] == ["a"]
    assert store.acquire_due_tasks(now, 10) == []


def test_same_time_written_back_after_a_claim_fires_once_more(store: MemoryStore) -> None:
    store.add_task(make("a", 1))
    store.update_task(make("a", 1))  # unchanged: no second entry
    assert len(store._heap) == 1
    now = START + timedelta(seconds=10)
    assert [t.id for t in store.acquire_due_tasks(now, 10)] == ["a"]
    store.update_task(make("a", 1))  # written back with the same time: due again, once
    assert [t.id for t in store.acquire_due_tasks(now, 10)] == ["a"]
    assert store.acquire_due_tasks(now, 10) == []


def test_a_deleted_claimed_task_can_come_back(store: MemoryStore) -> None:
    store.add_task(make("a", 1))
    now = START + timedelta(seconds=10)
    assert len(store.acquire_due_tasks(now, 10)) == 1
    store.delete_task("a")
    store.add_task(make("a", 1))
    assert store.get_next_run_time() == START + timedelta(seconds=1)
    assert [t.id for t in store.acquire_due_tasks(now, 10)] == ["a"]


def test_compaction_keeps_claims_and_live_entries(store: MemoryStore) -> None:
    for i in range(40):
        store.add_task(make(f"t{i}", i + 1))
    claimed = store.acquire_due_tasks(START + timedelta(seconds=5), 10)
    for i in range(5, 40):
        store.delete_task(f"t{i}")
    for _ in range(200):  # stale entries of a task moved back and forth force rebuilds
        store.update_task(make("t0", 50))
        store.update_task(make("t0", 60))
    assert len(store._heap) <= 2 * 5 + 64 + 1
    assert [t.id for t in claimed] == ["t0", "t1", "t2", "t3", "t4"]
    due = store.acquire_due_tasks(START + timedelta(seconds=100), 10)
    assert [t.id for t in due] == ["t0"]  # t1..t4 stay claimed until written back


class Special(Task):
    """A subclass with a slot of its own: a row could not give it back."""

    __slots__ = ("label",)


def full_task(task_id: str = "full") -> Task:
    task = Task(
        job_with_arguments, IntervalTrigger(seconds=30), id=task_id, name="full",
        args=(1, "two"), kwargs={"three": 3.0}, executor="pool", store="mine", coalesce=False,
        mistrigger_grace_time=12.5, max_instances=4, next_run_time=START,
    )  # fmt: skip
    task.set_trigger(task.unanchored_trigger, START - timedelta(seconds=7))
    return task


def job_with_arguments(*args: object, **kwargs: object) -> None:
    pass


def values(task: Task) -> dict[str, object]:
    return {**task.current_values(), "anchor": task._anchor, "scheduler": task.scheduler}


def test_a_task_nobody_holds_comes_back_with_all_its_values(store: MemoryStore) -> None:
    expected = values(full_task())
    store.add_task(full_task())  # not held: the store keeps only its row
    gc.collect()
    task = store.lookup_task("full")
    assert task is not None
    assert values(task) == expected
    assert task.fn is job_with_arguments
    assert task.kwargs == {"three": 3.0}


@pytest.mark.parametrize(
    "trigger",
    [
        DateTrigger(START + timedelta(hours=1)),
        DateTrigger("2030-03-31 02:30", timezone="Europe/Paris"),  # in a DST gap
        DateTrigger(None),  # fires at the first "now"
    ],
    ids=["aware", "naive in a zone", "now"],
)
def test_a_date_task_nobody_holds_comes_back_with_its_trigger(
    store: MemoryStore, trigger: DateTrigger
) -> None:
    """A date trigger is kept as a value in the row, and rebuilt equal (the same answers)."""
    task = Task(job_with_arguments, trigger, id="once")
    task.next_run_time = START
    store.add_task(task)
    del task
    gc.collect()
    back = store.lookup_task("once")
    assert back is not None and type(back.trigger) is DateTrigger
    assert back.trigger == trigger and back.trigger is not trigger
    assert (back.trigger.run_at, back.trigger.timezone) == (trigger.run_at, trigger.timezone)
    answer = back.trigger.get_next_trigger_time("UTC", None, START)
    assert answer == trigger.get_next_trigger_time("UTC", None, START)
    assert len(store._shared) == 1  # the callable only


def test_tasks_added_with_one_date_trigger_share_it_when_read(store: MemoryStore) -> None:
    """A burst: many tasks due at one instant, added with one trigger, read as one again."""
    trigger = DateTrigger(START)
    for index in range(3):
        task = Task(job_with_arguments, trigger, id=f"t{index}")
        task.next_run_time = START
        store.add_task(task)
    del task  # nothing holds the objects given: the tasks are built from their rows
    gc.collect()
    fired = store.acquire_due_tasks(START, 10)
    assert len(fired) == 3 and len({id(task.trigger) for task in fired}) == 1


def test_the_object_held_is_the_one_handed_out(store: MemoryStore) -> None:
    held = make("a", 1)
    store.add_task(held)
    looked_up = store.lookup_task("a")
    assert looked_up is held
    assert store.get_all_tasks() == [held] and store.get_all_tasks()[0] is held
    assert store.acquire_due_tasks(START + timedelta(seconds=1), 10)[0] is held


def test_a_fire_of_a_task_nobody_held_updates_the_object_given_since(
    store: MemoryStore,
) -> None:
    store.add_task(make("a", 1))
    gc.collect()
    (fired,) = store.acquire_due_tasks(START + timedelta(seconds=1), 10)
    given = make("a", 1)  # the same values, written during the fire
    store.update_task(given)
    store.release_task(fired, START + timedelta(seconds=9))
    assert fired.next_run_time == given.next_run_time == START + timedelta(seconds=9)
    assert store.get_next_run_time() == START + timedelta(seconds=9)


def test_a_task_nobody_holds_is_read_as_a_new_copy_each_time(store: MemoryStore) -> None:
    store.add_task(make("a", 1))
    gc.collect()
    first, second = store.lookup_task("a"), store.lookup_task("a")
    assert first is not second and first == second
    assert first is not None and first.next_run_time == START + timedelta(seconds=1)
    assert len(store._held) == 0  # reads are not kept track of


def test_an_update_with_another_object_hands_that_one_out(store: MemoryStore) -> None:
    first = make("a", 1)
    store.add_task(first)
    replacement = make("a", 5)
    store.update_task(replacement)
    assert store.lookup_task("a") is replacement
    assert first.next_run_time == START + timedelta(seconds=1)  # a replaced object is left as is


def test_callables_and_triggers_are_let_go_with_the_last_task_using_them(
    store: MemoryStore,
) -> None:
    def one_off() -> None:
        pass

    trigger = IntervalTrigger(seconds=5)
    Task(one_off, trigger)  # its signature is cached (not by the store)
    refs = sys.getrefcount(one_off), sys.getrefcount(trigger)
    for task_id in ("a", "b"):
        store.add_task(Task(one_off, trigger, id=task_id, next_run_time=START))
    assert (sys.getrefcount(one_off), sys.getrefcount(trigger)) == (refs[0] + 1, refs[1] + 1)
    store.update_task(Task(print, IntervalTrigger(seconds=6), id="b", next_run_time=START))
    store.delete_task("a")
    assert (sys.getrefcount(one_off), sys.getrefcount(trigger)) == refs
    assert len(store._shared) == 2  # print and the new trigger, for "b"
    store.remove_all_tasks()
    assert len(store._shared) == 0


def test_an_object_of_a_task_subclass_is_kept_as_it_is(store: MemoryStore) -> None:
    task = Special(print, id="s", next_run_time=START)
    task.label = "mine"
    store.add_task(task)
    del task
    gc.collect()
    found = store.lookup_task("s")
    assert isinstance(found, Special) and found.label == "mine"
    (due,) = store.acquire_due_tasks(START, 10)
    assert due is found


def test_a_reference_to_a_task_given_goes_with_the_task(store: MemoryStore) -> None:
    for i in range(100):
        store.add_task(make(f"t{i}", i))  # each object dropped at once
    assert len(store._held) == 0
    held = make("t7", 7)
    store.update_task(held)
    assert list(store._held) == ["t7"]
    replacement = make("t7", 70)
    store.update_task(replacement)  # the first reference dies unheard: it is replaced
    del held
    assert store.lookup_task("t7") is replacement
    store.delete_task("t7")
    assert len(store._held) == 0
    assert len(store.get_all_tasks()) == 99
