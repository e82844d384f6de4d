"""add_task's fast path: what it caches and skips must not change what it checks or builds."""

from __future__ import annotations

import gc
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from asyncz_like.stores.memory import MemoryStore
from asyncz_like.tasks import Task
from asyncz_like.tasks.validation import new_task_id
from asyncz_like.triggers import (
    CronTrigger,
    IntervalTrigger,
    anchor_trigger,
    anchored_first_fire,
    create_trigger,
)
from tests.helpers import START, FakeClock, manual_scheduler


def job(x: int, y: int = 0) -> int:
    return x + y


def test_a_known_call_shape_still_checks_other_shapes(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    first = scheduler.add_task(job, "interval", seconds=1, args=(1,))
    assert first.name == "job" and first.args == (1,) and first.kwargs == {}
    with pytest.raises(ValueError, match="positional arguments is longer"):
        scheduler.add_task(job, "interval", seconds=1, args=(1, 2, 3))
    with pytest.raises(ValueError, match="does not accept the following keyword arguments: z"):
        scheduler.add_task(job, "interval", seconds=1, args=(1,), kwargs={"z": 1})
    with pytest.raises(TypeError, match="args"):
        scheduler.add_task(job, "interval", seconds=1, args="1")
    named = scheduler.add_task(job, "interval", seconds=1, args=(1,), name="mine")
    assert named.name == "mine"
    assert scheduler.get_tasks() == [first, named]


def test_arguments_are_normalized_and_kwargs_copied(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    given = {"y": 2}
    for _ in range(2):  # the second add takes the known-shape path
        task = scheduler.add_task(job, "interval", seconds=1, args=[1], kwargs=given)
        assert task.args == (1,) and task.kwargs == given and task.kwargs is not given


def test_task_defaults_and_explicit_options(clock: FakeClock) -> None:
    scheduler = manual_scheduler(
        clock, task_defaults={"coalesce": False, "max_instances": 4, "mistrigger_grace_time": 7}
    )
    scheduler.start()
    task = scheduler.add_task(job, "interval", seconds=1, args=(1,))
    assert (task.coalesce, task.max_instances, task.mistrigger_grace_time) == (False, 4, 7.0)
    task = scheduler.add_task(
        job, "interval", seconds=1, args=(1,), coalesce=True, max_instances=1,
        mistrigger_grace_time=None,
    )  # fmt: skip
    assert (task.coalesce, task.max_instances, task.mistrigger_grace_time) == (True, 1, None)
    shutdown = scheduler.add_task(job, "shutdown", args=(1,))
    assert shutdown.mistrigger_grace_time is None  # runs however late by default
    paused = scheduler.add_task(job, "interval", seconds=1, args=(1,), next_run_time=None)
    assert paused.next_run_time is None and paused.trigger.start_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"coalesce": "yes"}, "coalesce must be a boolean"),
        ({"max_instances": True}, "max_instances must be a positive integer"),
        ({"mistrigger_grace_time": 0}, "mistrigger_grace_time"),
        ({"name": ""}, "name must be a non empty string"),
        ({"id": ""}, "id must be a nonempty string"),
    ],
)
def test_bad_options_fail_with_their_messages(clock: FakeClock, options, text) -> None:  # type: ignore[no-untyped-def]
    scheduler = manual_scheduler(clock)
    scheduler.start()
    with pytest.raises(TypeError, match=re.escape(text)):
        scheduler.add_task(job, "interval", seconds=1, args=(1,), **options)
    assert scheduler.get_tasks() == []


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"id": ""}, "id must be a nonempty string"),
        ({"trigger": "interval"}, "trigger must be a trigger instance"),
        ({"executor": 1}, "executor must be a string"),
        ({"store": 1}, "store must be a string"),
        ({"coalesce": 1}, "coalesce must be a boolean"),
        ({"args": 1}, "args must be a non-string iterable"),
        ({"kwargs": [1]}, "kwargs must be a dict-like object"),
    ],
)
def test_task_constructor_checks(kwargs, text) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=re.escape(text)):
        Task(job, **kwargs)


def test_task_constructor_keeps_what_it_is_given() -> None:
    trigger = IntervalTrigger(seconds=5)
    task = Task(job, trigger, id="t", args=[1], kwargs={"y": 2}, store="s", coalesce=False)
    assert (task.id, task.trigger, task.args, task.kwargs) == ("t", trigger, (1,), {"y": 2})
    assert (task.store_alias, task.coalesce, task.name, task.executor) == ("s", False, "job", None)
    assert task.max_instances is None and task.next_run_time is None and not task.submitted


def test_shared_triggers_tell_apart_equal_values_of_other_types() -> None:
    assert create_trigger("interval", seconds=1) == IntervalTrigger(seconds=1)
    with pytest.raises(ValueError, match="seconds"):
        create_trigger("interval", seconds=True)
    with pytest.raises(TypeError, match="minuts"):
        create_trigger("interval", minuts=1)
    paris = datetime(2026, 1, 5, 13, tzinfo=ZoneInfo("Europe/Paris"))
    in_paris = create_trigger("interval", seconds=1, start_at=paris)
    in_utc = create_trigger("interval", seconds=1, start_at=paris.astimezone(UTC))
    assert in_paris.start_at.tzinfo is not in_utc.start_at.tzinfo  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "trigger",
    [
        IntervalTrigger(seconds=90),
        IntervalTrigger(minutes=5, timezone="Europe/Paris"),
        IntervalTrigger(seconds=90, end_at=START + timedelta(seconds=30)),
        IntervalTrigger(seconds=90, start_at=START - timedelta(seconds=100)),
        CronTrigger(hour=8),
    ],
)
def test_anchored_first_fire_is_anchoring_then_asking(trigger) -> None:  # type: ignore[no-untyped-def]
    zone = ZoneInfo("America/New_York")
    anchored, first = anchored_first_fire(trigger, zone, START)
    expected = anchor_trigger(trigger, START)
    assert anchored == expected
    next_time = expected.get_next_trigger_time(zone, None, START)
    assert first == next_time
    assert first is None or first.tzinfo is next_time.tzinfo  # type: ignore[union-attr]


def test_an_added_interval_reads_back_anchored_to_its_first_fire(
    clock: FakeClock,
) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    first = scheduler.add_task(job, "interval", seconds=90, args=(1,))
    clock.advance(7)
    second = scheduler.add_task(job, "interval", seconds=90, args=(1,))
    assert first.trigger == IntervalTrigger(seconds=90, start_at=START + timedelta(seconds=90))
    assert second.trigger.start_at == second.next_run_time  # type: ignore[union-attr]
    assert first.trigger != second.trigger
    clone = first.clone()
    assert clone.trigger == first.trigger
    clock.advance(90)
    scheduler.process_tasks()
    assert first.next_run_time == START + timedelta(seconds=180)  # the phase of its anchor
    replacement = IntervalTrigger(seconds=5)
    clone.trigger = replacement  # a trigger set directly is kept as it is, with no anchor
    assert clone.trigger is replacement and first.trigger.start_at is not None  # type: ignore[union-attr]


def test_stored_tasks_nobody_holds_are_not_tracked_by_the_garbage_collector(
    clock: FakeClock,
) -> None:
    """The memory store keeps rows, and an interval task's anchor is a value in its row, not a
    copy of the trigger (docs/performance.md: a full collection's pause grows with the tracked
    objects). What is left is a bounded number of dead weak references, swept as they grow."""
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(job, "interval", seconds=90, args=(1,))  # caches warmed up
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(10_000):
        scheduler.add_task(job, "interval", seconds=90, args=(1,))
        clock.advance(0.001)
    gc.collect()  # rows and heap entries (tuples of untracked values) are untracked by it
    assert len(gc.get_objects()) - before < 2_100
    assert len(scheduler.get_tasks()) == 10_001


def test_stored_date_tasks_are_not_tracked_by_the_garbage_collector(clock: FakeClock) -> None:
    """A date trigger is a value in its row: one-off tasks, each at its own time, cost the
    collector nothing either (the triggers shared while they are made are bounded)."""
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(job, "date", run_at=START + timedelta(hours=1), args=(1,))
    gc.collect()
    before = len(gc.get_objects())
    for index in range(10_000):
        scheduler.add_task(job, "date", run_at=START + timedelta(hours=2, seconds=index), args=(1,))
    gc.collect()
    assert len(gc.get_objects()) - before < 2_100
    fires = [task.trigger.run_at for task in scheduler.get_tasks()]  # type: ignore[union-attr]
    assert fires == sorted(fires) and len(set(fires)) == 10_001


def test_task_ids_are_unique_random_hex() -> None:
    ids = [new_task_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", task_id) for task_id in ids)


@pytest.mark.skipif(sys.platform == "win32", reason="needs os.fork")
def test_a_forked_child_does_not_repeat_the_parents_ids() -> None:
    new_task_id()  # ids are made ahead in batches: the parent holds some
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover  # the child
        os.write(write, new_task_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        assert pipe.read() != new_task_id()


def test_a_task_without_kwargs_holds_no_dict_until_asked() -> None:
    import pickle

    from asyncz_like.tasks.task import call_kwargs

    bare = Task(job, args=(1,))
    assert bare._kwargs is None and dict(call_kwargs(bare)) == {}
    assert bare.clone()._kwargs is None
    assert pickle.loads(pickle.dumps(bare)).kwargs == {}
    bare.kwargs["y"] = 2  # the dict asked for is the task's own: changes to it stay
    assert call_kwargs(bare) == {"y": 2} and bare.fn(*bare.args, **call_kwargs(bare)) == 3
    given = Task(job, args=(1,), kwargs={"y": 5})
    assert call_kwargs(given) == {"y": 5}
    assert given.clone().kwargs == {"y": 5} and given.clone().kwargs is not given.kwargs
    assert given.snapshot().kwargs == {"y": 5} and bare.snapshot().kwargs == {"y": 2}


class _PickyStore(MemoryStore):
    """Refuses tasks named "bad" in validate_task only (its add_task does not check)."""

    validates_on_add = False

    def __init__(self) -> None:
        super().__init__()
        self.validated: list[str] = []

    def validate_task(self, task: Task) -> None:
        self.validated.append(task.id)
        if task.name == "bad":
            raise ValueError("this store refuses it")


class _CheckingStore(_PickyStore):
    validates_on_add = True  # says its add_task checks as validate_task does


@pytest.mark.parametrize("running", [True, False])
def test_a_store_that_does_not_check_on_add_validates_first(clock: FakeClock, running) -> None:  # type: ignore[no-untyped-def]
    store = _PickyStore()
    scheduler = manual_scheduler(clock, stores={"default": store})
    if running:
        scheduler.start()
    with pytest.raises(ValueError, match="refuses"):
        scheduler.add_task(job, "interval", seconds=1, args=(1,), name="bad")
    assert scheduler.get_tasks() == [] and store.get_all_tasks() == []
    good = scheduler.add_task(job, "interval", seconds=1, args=(1,), id="good")
    assert store.validated == [store.validated[0], "good"]
    assert [task.id for task in scheduler.get_tasks()] == [good.id]


def test_a_store_that_checks_on_add_is_not_asked_twice(clock: FakeClock) -> None:
    store = _CheckingStore()
    scheduler = manual_scheduler(clock, stores={"default": store})
    pending = scheduler.add_task(job, "interval", seconds=1, args=(1,), id="early")
    assert store.validated == ["early"]  # kept until start: checked now, not at start
    scheduler.start()
    scheduler.add_task(job, "interval", seconds=1, args=(1,), id="running")
    assert store.validated == ["early"]
    scheduler.add_tasks(
        [{"fn": job, "trigger": "interval", "seconds": 1, "args": (1,), "id": "bulk"}]
    )
    assert store.validated == ["early", "bulk"]  # add_tasks checks all before it writes any
    assert {task.id for task in scheduler.get_tasks()} == {pending.id, "running", "bulk"}


def test_a_naive_next_run_time_is_read_in_the_schedulers_zone(clock: FakeClock) -> None:
    """As update_task reads it, and asyncz's add_task: a datetime or a string."""
    scheduler = manual_scheduler(clock)
    scheduler.start()
    zone = scheduler.timezone
    wanted = datetime(2030, 5, 23, 10, tzinfo=zone)
    added = scheduler.add_task(
        job, "interval", hours=1, args=(1,), next_run_time=wanted.replace(tzinfo=None)
    )
    assert added.next_run_time == wanted
    given = Task(job, id="given", args=(1,))
    added = scheduler.add_task(given, "interval", hours=1, next_run_time="2030-05-23 10:00:00")
    assert added.next_run_time == wanted
    assert scheduler.get_task("given").next_run_time == wanted
