"""``TaskSubmissionEvent.coalesced_run_count``: how many due run times a coalesced fire left
out (asyncz's field), on every path a fire is announced by."""

from __future__ import annotations

from datetime import timedelta

import pytest

from asyncz_like.events import TASK_MAX_INSTANCES, TASK_SUBMITTED, TaskSubmissionEvent
from tests.helpers import START, FakeClock, Recorder, manual_scheduler
from tests.unit.test_processing import (
    HoldingExecutor,
    RunTimesExecutor,
    SlotHeldStore,
    claiming_ahead,
    offsets_ms,
)


@pytest.mark.parametrize(("coalesce", "left_out", "fires"), [(True, 4, 1), (False, 0, 5)])
def test_a_fire_counts_the_run_times_coalescing_left_out(
    clock: FakeClock, coalesce: bool, left_out: int, fires: int
) -> None:
    calls, events = Recorder(), Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.add_listener(events.listener, TASK_SUBMITTED)
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=1, coalesce=coalesce, mistrigger_grace_time=None)
    clock.advance(5.5)  # five run times due: 1 s to 5 s
    scheduler.process_tasks()
    assert len(calls.calls) == fires
    [event] = events.events
    assert len(event.scheduled_run_times) == 5 - left_out
    assert event.coalesced_run_count == left_out


def test_a_fire_on_time_left_nothing_out(clock: FakeClock) -> None:
    events = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.add_listener(events.listener, TASK_SUBMITTED)
    scheduler.start()
    scheduler.add_task(Recorder(), "interval", seconds=1, coalesce=True)
    clock.advance(1)
    scheduler.process_tasks()
    assert [event.coalesced_run_count for event in events.events] == [0]


def test_the_count_leaves_out_the_run_times_claimed_ahead(clock: FakeClock) -> None:
    """Three missed run times go as one (two left out); those claimed ahead each keep theirs."""
    events = Recorder()
    executor = RunTimesExecutor()
    scheduler = claiming_ahead(clock, executor, 0.01)
    scheduler.add_listener(events.listener, TASK_SUBMITTED)
    scheduler.add_task(Recorder(), "interval", seconds=0.005, coalesce=True,
                       start_at=START - timedelta(seconds=0.012),
                       next_run_time=START - timedelta(seconds=0.012))  # fmt: skip
    scheduler.process_tasks()
    assert offsets_ms(executor.run_times[0]) == [-2, 3, 8]
    assert [event.coalesced_run_count for event in events.events] == [2]


def test_a_fire_refused_by_max_instances_reports_its_count(clock: FakeClock) -> None:
    events = Recorder()
    executor = HoldingExecutor()
    scheduler = manual_scheduler(clock, executors={"default": executor})
    scheduler.add_listener(events.listener, TASK_MAX_INSTANCES | TASK_SUBMITTED)
    scheduler.start()
    scheduler.add_task(Recorder(), "interval", seconds=1, id="t", max_instances=1,
                       coalesce=True, mistrigger_grace_time=None)  # fmt: skip
    clock.advance(1)
    scheduler.process_tasks()  # held in flight
    clock.advance(3)  # three more due: refused, as one
    scheduler.process_tasks()
    assert events.codes() == [TASK_SUBMITTED, TASK_MAX_INSTANCES]
    assert [event.coalesced_run_count for event in events.events] == [0, 2]


def test_a_fire_that_waited_for_a_run_slot_counts_what_came_due_meanwhile(
    clock: FakeClock,
) -> None:
    """Held for a run slot from 1 s to 3.5 s: the fires of 1, 2 and 3 s go as the one of 3 s."""
    events = Recorder()
    executor = RunTimesExecutor()
    store = SlotHeldStore(START + timedelta(seconds=3.5))
    scheduler = manual_scheduler(clock, stores={"default": store}, executors={"default": executor})
    scheduler.add_listener(events.listener, TASK_SUBMITTED)
    scheduler.start()
    scheduler.add_task(Recorder(), "interval", seconds=1, id="t", max_instances=1,
                       coalesce=True, mistrigger_grace_time=None)  # fmt: skip
    clock.advance(1)
    scheduler.process_tasks()
    while clock.current < START + timedelta(seconds=4) and not events.events:
        clock.advance(0.25)
        scheduler.process_tasks()
    assert offsets_ms(executor.run_times[0]) == [3000]
    assert [event.coalesced_run_count for event in events.events] == [2]


def test_the_field_defaults_to_zero_as_in_asyncz() -> None:
    event = TaskSubmissionEvent(code=TASK_SUBMITTED, task_id="t", scheduled_run_times=[START])
    assert event.coalesced_run_count == 0
