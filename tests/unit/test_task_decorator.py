"""``@scheduler.task(interval=... | cron=...)`` as the xitzin page describes it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from asyncz_like.exceptions import TaskConfigurationError
from asyncz_like.triggers import CronTrigger, IntervalTrigger
from tests.helpers import START, FakeClock, Recorder, manual_scheduler


def test_interval_formats(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    for index, (value, seconds) in enumerate(
        [
            (3600, 3600),
            ("30s", 30),
            ("5m", 300),
            ("1h", 3600),
            ("1d", 86400),
            ("1h30m", 5400),
        ]
    ):

        def handler() -> None:
            return None

        scheduler.task(interval=value, id=f"i{index}")(handler)
        task = scheduler.get_task(f"i{index}")
        assert task is not None and isinstance(task.trigger, IntervalTrigger)
        assert task.next_run_time == START + timedelta(seconds=seconds), value


def test_cron_string(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()

    @scheduler.task(cron="0 2 * * *")
    def nightly_backup() -> str:
        return "done"

    assert nightly_backup() == "done"  # still callable
    [task] = scheduler.get_tasks()
    assert isinstance(task.trigger, CronTrigger)
    assert task.next_run_time == START.replace(day=6, hour=2, minute=0)
    assert len(task.id) == 32  # a nested function has no stable reference: a random id


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, TaskConfigurationError),
        ({"interval": "1h", "cron": "* * * * *"}, TaskConfigurationError),
        ({"interval": "invalid"}, ValueError),
        ({"interval": -5}, ValueError),
        ({"interval": "0s"}, ValueError),
        ({"cron": "61 * * * *"}, ValueError),
        ({"cron": "not a cron"}, ValueError),
    ],
)
def test_validated_at_decoration_time(clock: FakeClock, kwargs, error) -> None:  # type: ignore[no-untyped-def]
    scheduler = manual_scheduler(clock)
    with pytest.raises(error):
        scheduler.task(**kwargs)
    assert scheduler.get_tasks() == []


def test_first_run_waits_for_the_trigger_and_errors_keep_schedule(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()

    def risky() -> None:
        calls()
        raise ConnectionError("api down")

    scheduler.task(interval="5m", id="risky")(risky)
    scheduler.process_tasks()
    assert calls.calls == []
    for _ in range(3):
        clock.advance(300)
        scheduler.process_tasks()
    assert len(calls.calls) == 3


def module_level_handler() -> None:
    return None


def test_importable_function_gets_a_stable_id_and_replaces(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.task(interval="1h")(module_level_handler)
    scheduler.start()
    scheduler.task(interval="2h")(module_level_handler)  # a reload of the module: no duplicate
    [task] = scheduler.get_tasks()
    assert task.id == "tests.unit.test_task_decorator:module_level_handler"
    assert task.next_run_time == START + timedelta(hours=2)


def test_module_level_function_gets_its_reference_as_id(clock: FakeClock) -> None:
    """At decoration time the module does not hold the name yet; the id must still be stable."""
    import sys
    import types

    from asyncz_like.utils import ref_to_obj

    scheduler = manual_scheduler(clock)
    module = types.ModuleType("fake_app_module")
    module.scheduler = scheduler  # type: ignore[attr-defined]
    sys.modules["fake_app_module"] = module
    try:
        exec(  # the way an app module runs its decorators on import
            "@scheduler.task(interval='1h', args=[1])\ndef refresh(x):\n    return x\n",
            module.__dict__,
        )
        [task] = scheduler.get_tasks()
        assert task.id == "fake_app_module:refresh"
        assert task.fn_reference == "fake_app_module:refresh"
        assert ref_to_obj(task.fn_reference) is task.fn
        assert task.args == (1,)
    finally:
        del sys.modules["fake_app_module"]


def test_jitter_is_passed_to_the_trigger(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)

    @scheduler.task(interval="1h", jitter=10)
    def jittery() -> None:
        return None

    [task] = scheduler.get_tasks()
    assert task.trigger is not None and task.trigger.jitter == 10
