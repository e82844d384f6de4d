"""add_task's ``on_conflict``: what adding a task whose id is taken does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from asyncz_like.exceptions import ConflictIdError
from asyncz_like.schedulers.conflicts import conflict_policy
from asyncz_like.schedulers.pending import PendingTask, PendingTasks
from asyncz_like.tasks import Task
from asyncz_like.triggers import CronTrigger, IntervalTrigger
from tests.helpers import START, FakeClock, manual_scheduler


def job(*args: object) -> None:
    return None


def other_job(*args: object, **kwargs: object) -> None:
    return None


def test_the_policy_follows_replace_existing_unless_given() -> None:
    assert conflict_policy(None, False) == "fail"
    assert conflict_policy(None, True) == "update"
    assert conflict_policy("keep", True) == "keep"
    with pytest.raises(ValueError, match=r"on_conflict must be one of .* got 'overwrite'"):
        conflict_policy("overwrite", False)


def test_a_bad_on_conflict_fails_at_add_and_adds_nothing(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    with pytest.raises(ValueError, match="on_conflict"):
        scheduler.add_task(job, "interval", seconds=1, id="a", on_conflict="never")
    with pytest.raises(ValueError, match="on_conflict"):
        scheduler.add_tasks([{"fn": job, "id": "b"}], on_conflict="never")
    assert scheduler.get_tasks() == []


def running(clock: FakeClock) -> object:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(job, "interval", minutes=5, id="poll", args=[1])
    clock.advance(60)
    return scheduler


@pytest.mark.parametrize(
    ("on_conflict", "interval", "expected_minutes", "expected_next"),
    [
        ("update", 5, 5, 5),  # unchanged: the schedule stays
        ("update", 7, 7, 8),  # changed trigger: a new schedule from now (1 min in)
        ("replace", 5, 5, 6),  # always a new schedule
        ("keep", 7, 5, 5),  # the stored task stays as it is
    ],
)
def test_each_policy_on_a_running_scheduler(
    clock: FakeClock, on_conflict: str, interval: int, expected_minutes: int, expected_next: int
) -> None:
    scheduler = running(clock)
    returned = scheduler.add_task(  # type: ignore[attr-defined]
        job, "interval", minutes=interval, id="poll", args=[1], on_conflict=on_conflict
    )
    (task,) = scheduler.get_tasks()  # type: ignore[attr-defined]
    assert task.trigger.interval == timedelta(minutes=expected_minutes)
    assert task.next_run_time == START + timedelta(minutes=expected_next)
    assert returned.next_run_time == task.next_run_time  # the object shows what is in force


def test_fail_raises_and_keeps_the_stored_task(clock: FakeClock) -> None:
    scheduler = running(clock)
    with pytest.raises(ConflictIdError):
        scheduler.add_task(job, "interval", minutes=7, id="poll")  # type: ignore[attr-defined]
    (task,) = scheduler.get_tasks()  # type: ignore[attr-defined]
    assert task.trigger.interval == timedelta(minutes=5)


def test_pending_duplicates_follow_the_policy(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.add_task(job, "interval", seconds=1, args=[1], id="dup")
    scheduler.add_task(job, "interval", seconds=1, args=[2], id="dup", on_conflict="keep")
    assert [task.args for task in scheduler.get_tasks()] == [(1,)]
    scheduler.add_task(job, "interval", seconds=1, args=[3], id="dup", on_conflict="replace")
    assert [task.args for task in scheduler.get_tasks()] == [(3,)]


def test_pending_tasks_keep_their_order_and_are_found_by_id_and_store() -> None:
    pending = PendingTasks()
    tasks = [Task(job, IntervalTrigger(seconds=1), id=f"t{i}", store="s") for i in range(3)]
    for task in tasks:
        assert pending.add(PendingTask(task, "fail", True))
    newer = Task(job, IntervalTrigger(seconds=2), id="t0", store="s")
    assert pending.add(PendingTask(newer, "update", True))
    assert [task.id for task in pending.tasks()] == ["t1", "t2", "t0"]
    assert pending.find("t0", None) is newer and pending.find("t0", "s") is newer
    assert pending.find("t0", "elsewhere") is None
    pending.discard(tasks[1])
    pending.clear("other")
    assert len(pending) == 2
    assert [entry.task.id for entry in pending.take_all()] == ["t2", "t0"]
    assert len(pending) == 0


def test_changes_from_names_what_differs() -> None:
    stored = Task(job, CronTrigger(hour=8), id="r", args=[1], max_instances=1)
    same = Task(job, CronTrigger(hour=8), id="r", args=[1], max_instances=1)
    assert same.changes_from(stored) == frozenset()
    changed = Task(other_job, CronTrigger(hour=9), id="r", args=[2], kwargs={"k": 1})
    assert changed.changes_from(stored) == {
        "fn",
        "name",
        "trigger",
        "args",
        "kwargs",
        "max_instances",
    }


def test_an_interval_is_compared_without_the_anchor_of_its_first_add() -> None:
    stored = Task(job, IntervalTrigger(minutes=5).anchored(START), id="p")
    assert Task(job, IntervalTrigger(minutes=5), id="p").changes_from(stored) == frozenset()
    given_start = IntervalTrigger(minutes=5, start_at=START + timedelta(seconds=1))
    assert Task(job, given_start, id="p").changes_from(stored) == {"trigger"}
