"""RUN_* event codes, and events built only for listeners that want them."""

from __future__ import annotations

from typing import Any

import pytest

from asyncz_like.events import (
    ALL_EVENTS,
    ALL_RUN_EVENTS,
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_PROGRESS,
    RUN_RETRYING,
    RUN_STARTED,
    RUN_SUBMITTED,
    RUN_TIMEOUT,
    RunEvent,
    constants,
)
from asyncz_like.workers import ledger as ledger_module
from tests.helpers import FakeClock, Recorder, manual_scheduler

RUN_CODES = [
    RUN_SUBMITTED,
    RUN_STARTED,
    RUN_PROGRESS,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_RETRYING,
    RUN_CANCELLED,
    RUN_TIMEOUT,
]


def test_codes_are_new_bits_inside_all_events() -> None:
    others = [
        value
        for name, value in vars(constants).items()
        if name.isupper() and not name.startswith(("RUN_", "ALL_")) and name != "SCHEDULER_START"
    ]
    assert all(code & (code - 1) == 0 for code in RUN_CODES)  # one bit each
    assert len(set(RUN_CODES)) == 8 and not set(RUN_CODES) & set(others)
    assert sum(RUN_CODES) == ALL_RUN_EVENTS and ALL_EVENTS & ALL_RUN_EVENTS == ALL_RUN_EVENTS


def boom() -> None:
    raise OSError("disk")


def test_a_failed_run_carries_its_exception(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    events = Recorder()
    scheduler.add_listener(events.listener, RUN_FAILED)
    scheduler.start()
    run = scheduler.submit(boom)
    scheduler.process_tasks()
    (event,) = events.events
    assert isinstance(event, RunEvent) and event.run is run and event.run_id == run.id
    assert isinstance(event.exception, OSError) and event.task_id is None


def test_no_run_event_is_built_without_a_listener(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []

    class Counting(RunEvent):
        def __init__(self, **fields: Any) -> None:
            built.append(fields["code"])
            super().__init__(**fields)

    monkeypatch.setattr(ledger_module, "RunEvent", Counting)
    scheduler = manual_scheduler(clock)
    scheduler.add_listener(Recorder().listener, RUN_COMPLETED)
    scheduler.start()
    scheduler.submit(sum, [1])
    scheduler.add_task(sum, "interval", seconds=1, args=[[1]])
    clock.advance(1)
    scheduler.process_tasks()
    assert built == [RUN_COMPLETED, RUN_COMPLETED]  # the run's and the fire's, nothing else
