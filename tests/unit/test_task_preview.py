"""``preview_task_runs`` in both forms: ours (a trigger's fire times) and asyncz's (a task's
next run times, as a ``TaskRunPreview``), and how a call is told to be one or the other."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from asyncz_like.exceptions import UnknownAliasError
from asyncz_like.tasks import TaskRunPreview, TaskSnapshot
from asyncz_like.tasks.inspection import TaskInfo
from asyncz_like.triggers import IntervalTrigger
from tests.helpers import START, FakeClock, manual_scheduler


def job() -> None:
    pass


def started_with_interval(clock: FakeClock, **options: Any) -> Any:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(job, "interval", seconds=30, id="preview", **options)
    return scheduler


def test_a_task_preview_lists_its_next_runs_and_leaves_it_alone(clock: FakeClock) -> None:
    scheduler = started_with_interval(clock, start_at=START + timedelta(minutes=1))
    task = scheduler.get_task("preview")
    first = task.next_run_time
    preview = scheduler.preview_task_runs("preview", count=3, now=START)
    assert isinstance(preview, TaskRunPreview) and isinstance(preview.task, TaskInfo)
    assert preview.task.id == "preview" and preview.requested_count == 3
    assert preview.run_times == tuple(first + timedelta(seconds=30 * n) for n in range(3))
    assert preview.exhausted is False and preview.timezone == "UTC"
    assert preview.generated_at == START
    assert task.next_run_time == first and scheduler.get_task("preview").next_run_time == first


def test_a_paused_task_is_previewed_from_now(clock: FakeClock) -> None:
    scheduler = started_with_interval(clock)
    scheduler.pause_task("preview")
    later = START + timedelta(hours=1, seconds=10)
    preview = scheduler.preview_task_runs("preview", count=2, now=later.isoformat())
    assert preview.generated_at == later
    later_fire = START + timedelta(hours=1, seconds=30)  # on the task's 30 s grid
    assert preview.run_times == (later_fire, later_fire + timedelta(seconds=30))


def test_a_preview_says_when_the_trigger_runs_out(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(job, "date", run_at=START + timedelta(minutes=1), id="once")
    preview = scheduler.preview_task_runs("once", count=5)
    assert preview.run_times == (START + timedelta(minutes=1),)
    assert preview.exhausted is True and preview.generated_at == START


def test_an_unknown_task_has_no_preview_but_a_bad_count_is_an_error(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    assert scheduler.preview_task_runs("missing") is None
    for count in (0, 51):
        with pytest.raises(ValueError, match="count must be between 1 and 50"):
            scheduler.preview_task_runs("missing", count=count)
    with pytest.raises(TypeError, match="count must be an int"):
        scheduler.preview_task_runs("missing", count="3")  # type: ignore[call-overload]


def test_a_trigger_alias_is_a_trigger_and_task_id_names_a_task_of_any_id(
    clock: FakeClock,
) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(job, "interval", seconds=30, id="cron")
    times = scheduler.preview_task_runs("cron", count=2, hour=8)  # a trigger's options
    assert times == [START.replace(day=6, hour=8), START.replace(day=7, hour=8)]
    assert isinstance(scheduler.preview_task_runs("date"), list)  # no options: still ours
    preview = scheduler.preview_task_runs(task_id="cron", count=1)
    assert preview is not None and preview.task.id == "cron"
    assert scheduler.preview_task_runs(scheduler.get_task("cron")).task.id == "cron"
    assert scheduler.preview_task_runs("interval", now=START) is None  # now= says: a task


def test_the_store_can_be_given_by_position_as_asyncz_s_dashboard_does(clock: FakeClock) -> None:
    scheduler = started_with_interval(clock)
    for store in ("default", None):
        preview = scheduler.preview_task_runs("preview", store, count=2)
        assert preview is not None and len(preview.run_times) == 2
    assert scheduler.preview_task_runs("preview", "elsewhere") is None


def test_our_form_is_unchanged(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    trigger = IntervalTrigger(hours=12, start_at=START)
    assert scheduler.preview_task_runs(trigger, 2) == [START, START + timedelta(hours=12)]
    assert scheduler.preview_task_runs("interval", 0, START, hours=1) == []
    later = START + timedelta(hours=1)
    assert scheduler.preview_task_runs(trigger="interval", count=1, start=later, hours=1) == [
        later + timedelta(hours=1)
    ]
    with pytest.raises(UnknownAliasError):
        scheduler.preview_task_runs("intervall", count=2, hours=1)  # options: a trigger
    with pytest.raises(UnknownAliasError):
        scheduler.preview_task_runs("preview", 2)  # a count by position: ours


@pytest.mark.parametrize(
    ("args", "options", "text"),
    [
        (("preview",), {"now": START, "start": START}, "do not go with start"),
        (("interval",), {"task_id": "preview", "hours": 1}, "do not go with start"),
        (("preview",), {"task_id": "preview"}, "not both"),
        ((), {}, "needs a trigger or a task_id"),
        (("preview", "default"), {"store": "default"}, "multiple values for store"),
        (("interval", 2), {"count": 2, "hours": 1}, "multiple values for count"),
        (("interval", 2, START), {"start": START}, "multiple values for start"),
        (("interval", 2, START, "x"), {}, "at most 3 positional"),
        (("interval",), {"count": None, "hours": 1}, "count must be an int, got count=None"),
        (("preview",), {"count": None}, "count must be an int, got count=None"),
        ((IntervalTrigger(hours=1),), {"now": START}, "must be a task id or a Task"),
    ],
)
def test_a_call_that_mixes_the_two_forms_is_refused(
    clock: FakeClock, args: tuple[Any, ...], options: dict[str, Any], text: str
) -> None:
    scheduler = started_with_interval(clock)
    with pytest.raises(TypeError, match=text):
        scheduler.preview_task_runs(*args, **options)


def test_task_info_is_the_snapshot() -> None:
    assert TaskInfo is TaskSnapshot
