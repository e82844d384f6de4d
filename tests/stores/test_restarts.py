"""Restarts and deploys on every persistent store: an app that defines its tasks before
start meets the ones its last start stored."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from asyncz_like.events import TASK_ADDED, TASK_MODIFIED
from asyncz_like.exceptions import ConflictIdError
from tests.helpers import START, FakeClock, ManualScheduler, Recorder, manual_scheduler
from tests.stores.backends import Backend


def send_report() -> None:
    """A module-level task function: persistent stores keep it by reference."""


def refresh_feeds() -> None:
    """Another one, for the decorator."""


Define = Callable[[ManualScheduler], Any]


def start_app(backend: Backend, clock: FakeClock, define: Define) -> ManualScheduler:
    """One start of an app: a new scheduler on the same storage, tasks defined before start."""
    scheduler = manual_scheduler(clock, stores={"default": backend.make()})
    define(scheduler)
    scheduler.start()
    return scheduler


def deploys(backend: Backend, define: Define, times: int = 3) -> list[ManualScheduler]:
    """``times`` starts one second apart, each shut down before the next."""
    if not backend.persistent:
        pytest.skip("a memory store starts empty: there is nothing to meet")
    clock = FakeClock()
    apps = []
    for _ in range(times):
        app = start_app(backend, clock, define)
        apps.append(app)
        app.shutdown()
        clock.advance(1)
    return apps


def stored_tasks(backend: Backend) -> list[Any]:
    scheduler = manual_scheduler(FakeClock(), stores={"default": backend.make()})
    scheduler.start()
    try:
        return scheduler.get_tasks()
    finally:
        scheduler.shutdown()


def test_a_decorated_task_keeps_its_schedule_across_deploys(backend: Backend) -> None:
    deploys(backend, lambda s: s.task(interval="30m")(refresh_feeds))
    (task,) = stored_tasks(backend)
    assert task.next_run_time == START + timedelta(minutes=30)  # the first start's, not +2 s


def test_replace_existing_keeps_the_schedule_of_an_unchanged_task(backend: Backend) -> None:
    def define(scheduler: ManualScheduler) -> None:
        scheduler.add_task(send_report, "cron", hour=8, id="report", replace_existing=True)
        scheduler.add_task(send_report, "interval", minutes=5, id="poll", replace_existing=True)

    deploys(backend, define)
    times = {task.id: task.next_run_time for task in stored_tasks(backend)}
    assert times == {
        "report": START.replace(day=6, hour=8),  # START is 12:00 UTC (scheduler zone UTC)
        "poll": START + timedelta(minutes=5),
    }


def test_an_interval_keeps_its_phase_after_a_deploy_and_fires(backend: Backend) -> None:
    clock = FakeClock()
    define: Define = lambda s: s.task(interval="30m")(refresh_feeds)  # noqa: E731
    if not backend.persistent:
        pytest.skip("a memory store starts empty")
    start_app(backend, clock, define).shutdown()
    clock.advance(31 * 60)  # the first fire is due when the next deploy starts
    app = start_app(backend, clock, define)
    app.process_tasks()
    (task,) = app.get_tasks()
    assert task.next_run_time == START + timedelta(minutes=60)  # the phase of the first start
    app.shutdown()


def test_a_changed_trigger_gives_a_new_schedule(backend: Backend) -> None:
    intervals = iter(["30m", "30m", "10m"])
    apps = deploys(backend, lambda s: s.task(interval=next(intervals))(refresh_feeds))
    (task,) = stored_tasks(backend)
    assert task.next_run_time == START + timedelta(seconds=2, minutes=10)
    assert apps  # three starts were made


def test_a_changed_option_is_written_and_the_schedule_kept(backend: Backend) -> None:
    limits = iter([1, 1, 3])
    deploys(
        backend,
        lambda s: s.add_task(
            send_report, "interval", minutes=5, id="poll", max_instances=next(limits),
            replace_existing=True,
        ),
    )  # fmt: skip
    (task,) = stored_tasks(backend)
    assert task.max_instances == 3
    assert task.next_run_time == START + timedelta(minutes=5)


def test_on_conflict_replace_gives_a_new_schedule_at_every_start(backend: Backend) -> None:
    deploys(
        backend,
        lambda s: s.add_task(send_report, "interval", minutes=5, id="poll", on_conflict="replace"),
    )
    (task,) = stored_tasks(backend)
    assert task.next_run_time == START + timedelta(seconds=2, minutes=5)


def test_on_conflict_keep_leaves_a_changed_task_as_stored(backend: Backend) -> None:
    intervals = iter([5, 5, 9])
    deploys(
        backend,
        lambda s: s.add_task(
            send_report, "interval", minutes=next(intervals), id="poll", on_conflict="keep"
        ),
    )
    (task,) = stored_tasks(backend)
    assert task.trigger.interval == timedelta(minutes=5)
    assert task.next_run_time == START + timedelta(minutes=5)


def test_a_restart_is_quiet(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    def define(scheduler: ManualScheduler) -> None:
        scheduler.add_task(send_report, "cron", hour=8, id="report")  # no replace_existing
        scheduler.task(cron="0 2 * * *")(refresh_feeds)

    with caplog.at_level(logging.INFO, logger="asyncz_like"):
        deploys(backend, define)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert len(stored_tasks(backend)) == 2


def test_a_restart_with_another_definition_keeps_the_stored_one_and_says_so(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    hours = iter([8, 8, 9])
    with caplog.at_level(logging.WARNING, logger="asyncz_like"):
        deploys(backend, lambda s: s.add_task(send_report, "cron", hour=next(hours), id="r"))
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "changed: trigger" in warning.getMessage()
    assert "replace_existing=True" in warning.getMessage()
    assert warning.exc_info is None  # one line, not a traceback
    (task,) = stored_tasks(backend)
    assert task.next_run_time == START.replace(day=6, hour=8)


def test_a_task_without_an_id_in_a_persistent_store_is_warned_of(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="asyncz_like"):
        scheduler = manual_scheduler(FakeClock(), stores={"default": backend.make()})
        scheduler.add_task(send_report, "cron", hour=8)
        scheduler.add_task(send_report, "cron", hour=9, id="named")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    if backend.persistent:
        (message,) = warnings
        assert "without an id" in message and "id='send_report'" in message
    else:
        assert warnings == []


def test_unchanged_tasks_emit_no_added_event_at_a_restart(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip("a memory store starts empty")
    clock = FakeClock()
    define: Define = lambda s: s.add_task(  # noqa: E731
        send_report, "interval", minutes=5, id="poll", replace_existing=True
    )
    start_app(backend, clock, define).shutdown()
    scheduler = manual_scheduler(clock, stores={"default": backend.make()})
    recorder = Recorder()
    scheduler.add_listener(recorder.listener)
    define(scheduler)
    scheduler.start()
    assert TASK_ADDED not in recorder.codes()
    scheduler.add_task(send_report, "interval", minutes=7, id="poll", replace_existing=True)
    assert TASK_MODIFIED in recorder.codes()
    with pytest.raises(ConflictIdError):
        scheduler.add_task(send_report, "interval", minutes=7, id="poll")
    scheduler.shutdown()


def test_before_the_first_start_the_tasks_are_the_pending_ones(backend: Backend) -> None:
    """A store is read once started (a new SQL store has no table before): until then
    get_tasks and get_task answer from the tasks added so far, as APScheduler and asyncz do."""
    scheduler = manual_scheduler(FakeClock(), stores={"default": backend.make()})
    added = scheduler.add_task(send_report, "cron", hour=8, id="report")
    assert scheduler.get_tasks() == [added]
    assert scheduler.get_task("report") is added
    assert scheduler.get_task("elsewhere") is None
    scheduler.start()
    assert [task.id for task in scheduler.get_tasks()] == ["report"]
    scheduler.shutdown()
