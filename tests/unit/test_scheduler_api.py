"""The task API of the scheduler: add, change, pause, list, delete; bad input; events."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from asyncz_like.events import STORE_ADDED, STORE_REMOVED, TASK_ADDED, TASK_MODIFIED, TASK_REMOVED
from asyncz_like.exceptions import (
    ConflictIdError,
    SchedulerNotRunningError,
    TaskConfigurationError,
    TaskLookupError,
    UnknownAliasError,
)
from asyncz_like.stores.file import FileStore
from asyncz_like.stores.memory import MemoryStore
from asyncz_like.tasks import Task
from asyncz_like.triggers import CronTrigger, IntervalTrigger
from tests.helpers import START, FakeClock, Recorder, manual_scheduler


def job(x: int, y: int = 0) -> int:
    return x + y


def test_add_task_with_alias_and_defaults(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, task_defaults={"max_instances": 3})
    scheduler.start()
    task = scheduler.add_task(job, "interval", minutes=5, args=[1], id="j")
    assert isinstance(task.trigger, IntervalTrigger)
    assert task.max_instances == 3 and task.coalesce is True
    assert task.executor == "default" and task.store == "default"
    assert task.name == "job"
    assert task.next_run_time == START + timedelta(minutes=5)
    assert scheduler.get_task("j") is task


def test_fn_as_reference_string(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    task = scheduler.add_task("tests.unit.test_scheduler_api:job", "interval", seconds=1, args=[1])
    assert task.fn is job and task.fn_reference == "tests.unit.test_scheduler_api:job"


def test_add_task_as_decorator_keeps_function(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)

    @scheduler.add_task(trigger="interval", seconds=5, id="deco")
    def decorated() -> str:
        return "still callable"

    assert decorated() == "still callable"
    assert scheduler.get_task("deco") is not None


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (
            lambda s: s.add_task(job, "intervall", seconds=1, args=[1]),
            UnknownAliasError,
            "intervall",
        ),
        (lambda s: s.add_task(job, "interval", minuts=1, args=[1]), TypeError, "minuts"),
        (lambda s: s.add_task(job, "interval", seconds=-1, args=[1]), ValueError, "seconds"),
        (lambda s: s.add_task(job, "cron", hour=25, args=[1]), ValueError, "hour"),
        (lambda s: s.add_task(42, "interval", seconds=1), TypeError, "fn"),
        (lambda s: s.add_task(job, "interval", seconds=1), ValueError, "not been supplied: x"),
        (
            lambda s: s.add_task(job, "interval", seconds=1, args=[1], executor="nope"),
            UnknownAliasError,
            "nope",
        ),
        (
            lambda s: s.add_task(job, "interval", seconds=1, args=[1], store="nope"),
            UnknownAliasError,
            "nope",
        ),
        (
            lambda s: s.add_task("no.such.module:fn", "interval", seconds=1),
            TaskConfigurationError,
            "fn",
        ),
        (
            lambda s: s.add_task(job, "interval", seconds=1, args=[1], max_instances=0),
            TypeError,
            "max_instances",
        ),
    ],
)
def test_bad_input_fails_and_adds_nothing(clock: FakeClock, call, error, text) -> None:  # type: ignore[no-untyped-def]
    scheduler = manual_scheduler(clock)
    scheduler.start()
    with pytest.raises(error, match=text):
        call(scheduler)
    assert scheduler.get_tasks() == []


def test_duplicate_id_is_refused_unless_replacing(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(job, "interval", seconds=1, args=[1], id="same")
    with pytest.raises(ConflictIdError, match="same"):
        scheduler.add_task(job, "interval", seconds=2, args=[2], id="same")
    assert scheduler.get_task("same").args == (1,)  # type: ignore[union-attr]
    scheduler.add_task(job, "interval", seconds=2, args=[2], id="same", replace_existing=True)
    assert scheduler.get_task("same").args == (2,)  # type: ignore[union-attr]
    assert len(scheduler.get_tasks()) == 1


def test_tasks_added_before_start_are_pending_then_scheduled(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    task = scheduler.add_task(job, "interval", seconds=5, args=[1], id="early")
    assert task.next_run_time is None
    assert scheduler.get_tasks() == [task]
    clock.advance(100)
    scheduler.start()
    assert task.next_run_time == clock.now() + timedelta(seconds=5)


def test_seed_task_object_with_scheduler_is_added(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    Task(
        id="my-task",
        fn=job,
        args=[1],
        name="my-func",
        scheduler=scheduler,
        trigger=CronTrigger(day_of_week="mon,tue,wed,thu,fri,sat,sun", hour=8, minute=1),
        max_instances=3,
        coalesce=True,
    )
    scheduler.start()
    task = scheduler.get_task("my-task")
    assert task is not None and task.max_instances == 3
    assert task.next_run_time is not None and (
        task.next_run_time.hour,
        task.next_run_time.minute,
    ) == (8, 1)


def test_task_object_is_submitted_only_once(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    task = Task(id="t2", fn=job, args=[1], max_instances=1, coalesce=True)
    scheduler.add_task(task, trigger=CronTrigger(hour=8, minute=1))
    with pytest.raises(ValueError, match="already"):
        scheduler.add_task(task, trigger="interval", seconds=1)


def test_update_reschedule_pause_resume_delete(clock: FakeClock) -> None:
    events = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.add_listener(events.listener, TASK_ADDED | TASK_MODIFIED | TASK_REMOVED)
    scheduler.start()
    task = scheduler.add_task(job, "interval", seconds=5, args=[1], id="t", name="my-func")
    task.update(name="my-new-task-id", max_instances=5, coalesce=False)
    assert (task.name, task.max_instances, task.coalesce) == ("my-new-task-id", 5, False)
    with pytest.raises(ValueError, match="ID"):
        task.update(id="other")
    task.reschedule("t", trigger="cron", hour=10, minute=5)  # asyncz's form
    assert isinstance(task.trigger, CronTrigger)
    assert task.next_run_time is not None and (
        task.next_run_time.hour,
        task.next_run_time.minute,
    ) == (10, 5)
    task.reschedule("interval", seconds=30)  # short form
    assert task.next_run_time == clock.now() + timedelta(seconds=30)
    task.pause()
    assert task.next_run_time is None
    task.resume()
    assert task.next_run_time == clock.now() + timedelta(seconds=30)
    task.delete()
    assert scheduler.get_task("t") is None
    with pytest.raises(TaskLookupError):
        scheduler.delete_task("t")
    assert events.codes() == [TASK_ADDED] + [TASK_MODIFIED] * 5 + [TASK_REMOVED]


def test_bad_update_changes_nothing(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    task = scheduler.add_task(job, "interval", seconds=5, args=[1])
    with pytest.raises(TypeError):
        scheduler.update_task(task.id, name="fine", max_instances="many")
    assert task.name == "job"


def test_run_task_runs_now_and_keeps_schedule(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()
    task = scheduler.add_task(calls, "interval", hours=1, id="r")
    before = task.next_run_time
    scheduler.run_task("r")
    assert len(calls.calls) == 1 and task.next_run_time == before


def test_remove_all_tasks(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, stores={"other": {"type": "memory"}})
    scheduler.start()
    scheduler.add_task(job, "interval", seconds=1, args=[1])
    scheduler.add_task(job, "interval", seconds=1, args=[1], store="other")
    scheduler.remove_all_tasks("other")
    assert len(scheduler.get_tasks()) == 1
    scheduler.remove_all_tasks()
    assert scheduler.get_tasks() == []


def test_preview_task_runs(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    runs = scheduler.preview_task_runs("cron", count=3, hour=8)
    assert [r.day for r in runs] == [6, 7, 8] and all(r.hour == 8 for r in runs)


def test_start_and_shutdown_are_reference_counted(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    with scheduler:
        with scheduler:
            assert scheduler.running
        assert scheduler.running
    assert not scheduler.running
    with pytest.raises(SchedulerNotRunningError):
        scheduler.shutdown()


def test_setup_from_global_config() -> None:
    scheduler = manual_scheduler(
        None,
        timezone=None,
        global_config={
            "asyncz_like.stores.extra.type": "memory",
            "asyncz_like.task_defaults.coalesce": "false",
            "asyncz_like.task_defaults.max_instances": "4",
            "asyncz_like.timezone": "Europe/Berlin",
            "unrelated.key": "ignored",
        },
    )
    assert scheduler.lookup_store("extra") is not None
    assert scheduler.task_defaults.coalesce is False
    assert scheduler.task_defaults.max_instances == 4
    assert str(scheduler.timezone) == "Europe/Berlin"


def test_unknown_scheduler_option() -> None:
    with pytest.raises(TypeError, match="storez"):
        manual_scheduler(None, storez={})


def test_unknown_store_type() -> None:
    with pytest.raises(UnknownAliasError, match="mongodb"):
        manual_scheduler(None, stores={"default": {"type": "mongodb"}})


def test_timezone_accepts_pytz_and_dateutil() -> None:
    import pytz
    from dateutil import tz as dateutil_tz

    assert (
        str(manual_scheduler(None, timezone=pytz.timezone("Europe/Berlin")).timezone)
        == "Europe/Berlin"
    )
    zone = dateutil_tz.gettz("America/New_York")
    assert manual_scheduler(None, timezone=zone).timezone is zone


def test_duplicate_pending_id_fails_at_add(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.add_task(job, "interval", seconds=1, args=[1], id="dup")
    with pytest.raises(ConflictIdError):
        scheduler.add_task(job, "interval", seconds=1, args=[2], id="dup")
    scheduler.add_task(job, "interval", seconds=1, args=[3], id="dup", replace_existing=True)
    scheduler.start()
    [task] = scheduler.get_tasks()
    assert task.args == (3,)


def test_pending_tasks_emit_added_at_start(clock: FakeClock) -> None:
    events = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.add_listener(events.listener, TASK_ADDED)
    scheduler.add_task(job, "interval", seconds=1, args=[1], id="a")
    assert events.events == []
    scheduler.start()
    assert [e.task_id for e in events.events] == ["a"]


def test_run_task_needs_a_started_scheduler(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.add_task(job, "interval", seconds=1, args=[1], id="a")
    with pytest.raises(SchedulerNotRunningError):
        scheduler.run_task("a")


def test_async_listener_is_refused(clock: FakeClock) -> None:
    async def listener(event: object) -> None:
        return None

    with pytest.raises(TypeError, match="plain function"):
        manual_scheduler(clock).add_listener(listener)


def test_async_partial_listener_is_refused(clock: FakeClock) -> None:
    import functools

    async def listener(event: object, tag: str) -> None:
        return None

    with pytest.raises(TypeError, match="plain function"):
        manual_scheduler(clock).add_listener(functools.partial(listener, tag="x"))


def test_interval_keeps_its_phase_after_update_and_explicit_start(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    explicit = START + timedelta(seconds=7)
    task = scheduler.add_task(job, "interval", seconds=10, args=[1], next_run_time=explicit)
    assert task.trigger.start_at == explicit  # type: ignore[union-attr]
    clock.advance(3)
    scheduler.update_task(task.id, trigger=IntervalTrigger(seconds=4))
    assert task.trigger.start_at == clock.now() + timedelta(seconds=4)  # type: ignore[union-attr]


def test_a_store_added_to_a_running_scheduler_is_worked_and_one_removed_is_not(
    clock: FakeClock, tmp_path: Path
) -> None:
    scheduler = manual_scheduler(clock)
    events = Recorder()
    scheduler.add_listener(events.listener, STORE_ADDED | STORE_REMOVED)
    scheduler.start()
    calls = Recorder()
    scheduler.add_store(MemoryStore(), "extra")
    with pytest.raises(ValueError, match="already has a task store by the alias of 'extra'"):
        scheduler.add_store(MemoryStore(), "extra")
    scheduler.add_task(calls, "interval", seconds=1, store="extra", id="in-extra")
    assert not scheduler.stores_do_io()
    scheduler.add_store(FileStore(tmp_path / "tasks"), "files")
    assert scheduler.stores_do_io()  # passes over the stores now keep off an event loop

    clock.advance(1)
    scheduler.process_tasks()
    assert len(calls.calls) == 1

    scheduler.remove_store("extra")
    scheduler.remove_store("files")
    assert not scheduler.stores_do_io()
    assert [alias for alias, _ in scheduler.iter_stores()] == ["default"]
    clock.advance(1)
    scheduler.process_tasks()
    assert len(calls.calls) == 1  # its store is gone: it runs no more
    # the default store, made by the scheduler, is announced at start (as asyncz)
    assert events.codes() == [STORE_ADDED] * 3 + [STORE_REMOVED] * 2
    scheduler.shutdown()
