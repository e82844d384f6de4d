from __future__ import annotations

from datetime import timedelta

import pytest

from asyncz_like.exceptions import ConflictIdError, TaskLookupError
from asyncz_like.stores.memory import MemoryStore
from asyncz_like.tasks import Task
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
