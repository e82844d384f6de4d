"""Clock-step ledgers: three schedulers share one store and one injected clock whose wall time
steps back and forward (an NTP step, a manual change), each noticing the step at its own
pass. No fire may run twice, none may go missing: an interval keeps its elapsed spacing across
a step back (it does not wait the step out) and catches up once per missed run time after a
step forward (bounded: ``coalesce=False`` here, the worst case); a cron task runs once for
each minute the wall clock reaches, never twice for one, and does not wait out a step back
beyond its next minute not yet fired."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.events import TASK_EXECUTED
from tests.faults.step_ledger import StepLedger
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler
from tests.stores.backends import Backend, made_backend

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

SCHEDULERS = 3
#: Elapsed second -> the step of the wall clock then (seconds). A step back longer than every
#: interval, a step forward, a step back across a cron minute, a short step forward.
STEPS = {100: -600, 220: 900, 320: -120, 400: 45}
SECONDS = 480
INTERVALS = (7, 30, 60)
CRONS = (1, 5)  # every minute, every 5 minutes
#: Every missed run time runs, late: a fire that is not there is a fire missing.
CATCH_UP: dict[str, Any] = {"coalesce": False, "mistrigger_grace_time": None}


@pytest.fixture(params=["file", "sqlite", "postgresql", "mariadb", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with made_backend(request.param, tmp_path) as made:
        yield made


def _schedulers(backend: Backend, clock: FakeClock, ledger: StepLedger) -> list[ManualScheduler]:
    schedulers = []
    for _ in range(SCHEDULERS):
        scheduler = manual_scheduler(clock, stores={"default": backend.make()})
        scheduler.add_listener(ledger.listener, TASK_EXECUTED)
        scheduler.start()
        schedulers.append(scheduler)
    return schedulers


def _add_tasks(scheduler: ManualScheduler, ledger: StepLedger) -> None:
    for seconds in INTERVALS:
        task_id = f"every-{seconds}s"
        scheduler.add_task(print, "interval", seconds=seconds, id=task_id, **CATCH_UP)
        ledger.expect_interval(task_id, seconds)
    for minutes in CRONS:
        task_id = f"cron-{minutes}m"
        scheduler.add_task(print, "cron", minute=f"*/{minutes}", id=task_id, **CATCH_UP)
        ledger.expect_cron(task_id, minutes)


def test_steps_both_ways_repeat_no_fire_and_lose_none(backend: Backend) -> None:
    began = time.monotonic()
    clock = FakeClock()
    ledger = StepLedger(clock)
    schedulers = _schedulers(backend, clock, ledger)
    try:
        _add_tasks(schedulers[0], ledger)
        for second in range(1, SECONDS + 1):
            clock.advance(1)
            ledger.saw(clock.now())
            if second in STEPS:
                clock.jump_wall(STEPS[second])
                ledger.stepped(STEPS[second])
            turn = second % SCHEDULERS  # each in turn notices a step first
            for scheduler in schedulers[turn:] + schedulers[:turn]:
                scheduler.process_tasks()
    finally:
        for scheduler in schedulers:
            scheduler.shutdown()
    report = ledger.report(
        f"{backend.name}, {SCHEDULERS} schedulers, steps {sorted(STEPS.values())} s, "
        f"{time.monotonic() - began:.1f} s"
    )
    report.check()
    assert report.ran >= report.expected > 0
