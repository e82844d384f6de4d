"""Steps of the wall clock, with the elapsed clock moving on its own (FakeClock.jump_wall):
intervals keep their elapsed spacing, cron and date tasks their wall times, nothing fires
twice and nothing stalls."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.events import TASK_EXECUTED
from asyncz_like.schedulers.clock_steps import STEP_TOLERANCE, StepWatch, written_before_step
from asyncz_like.stores.memory import MemoryStore
from asyncz_like.triggers import DateTrigger
from tests.helpers import START, FakeClock, ManualScheduler, Recorder, manual_scheduler
from tests.ledger import FireLedger
from tests.store_hooks import drop_sql_table

MINUTE = 60
#: Every missed run time runs, late: a fire that is not there is a fire missing.
CATCH_UP: dict[str, Any] = {"coalesce": False, "mistrigger_grace_time": None}
CALLS: list[float] = []


def record_elapsed() -> None:
    """A task a persistent store can name: records the elapsed time of each call."""
    CALLS.append(STEPPED_CLOCK.elapsed)


STEPPED_CLOCK = FakeClock()


def executed_times(scheduler: ManualScheduler) -> dict[str, list[datetime]]:
    """Task id -> the scheduled run times of its executed fires, as the events tell them."""
    seen: dict[str, list[datetime]] = {}

    def listener(event: Any) -> None:
        seen.setdefault(event.task_id, []).append(event.scheduled_run_time)

    scheduler.add_listener(listener, TASK_EXECUTED)
    return seen


def run_for(scheduler: ManualScheduler, clock: FakeClock, seconds: int) -> None:
    """Passes once a second for ``seconds`` of elapsed time."""
    for _ in range(seconds):
        clock.advance(1)
        scheduler.process_tasks()


# -- noticing a step ------------------------------------------------------------------------


def test_watch_tells_a_step_beyond_the_tolerance_and_nothing_else(clock: FakeClock) -> None:
    watch = StepWatch()
    assert watch.step(clock, clock.now()) is None  # the first reading
    clock.advance(30)
    clock.jump_wall(STEP_TOLERANCE / 2)  # a slew, or a pass preempted between its readings
    assert watch.step(clock, clock.now()) is None
    clock.advance(5)
    clock.jump_wall(-600)
    assert watch.step(clock, clock.now()) == timedelta(seconds=-600)
    clock.jump_wall(120)
    assert watch.step(clock, clock.now()) == timedelta(seconds=120)


def test_clock_without_monotonic_notices_no_step() -> None:
    class WallOnly:
        def __init__(self) -> None:
            self.current = START

        def now(self) -> datetime:
            return self.current

    clock = WallOnly()
    watch = StepWatch()
    watch.step(clock, clock.now())
    clock.current -= timedelta(minutes=10)
    assert watch.step(clock, clock.now()) is None
    calls = Recorder()
    scheduler = ManualScheduler(clock=clock, timezone="UTC")
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=10)
    clock.current += timedelta(seconds=10)
    scheduler.process_tasks()
    assert len(calls.calls) == 1  # works as before: wall time only


def test_a_clock_replaced_between_runs_is_no_step(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.process_tasks()
    scheduler.shutdown()
    other = FakeClock(START - timedelta(hours=1))  # its own wall and elapsed readings
    scheduler.setup(clock=other, timezone="UTC")
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=10)
    scheduler.process_tasks()
    other.advance(10)
    scheduler.process_tasks()
    assert len(calls.calls) == 1


# -- intervals ------------------------------------------------------------------------------


def test_interval_keeps_its_spacing_across_a_back_step(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()
    task = scheduler.add_task(calls, "interval", minutes=1, id="every-minute")
    clock.advance(MINUTE)
    scheduler.process_tasks()
    clock.advance(30)
    clock.jump_wall(-600)
    assert scheduler.process_tasks() == pytest.approx(30)  # not 630: the wait is not stretched
    clock.advance(29)
    scheduler.process_tasks()
    assert len(calls.calls) == 1
    clock.advance(1)
    scheduler.process_tasks()
    assert len(calls.calls) == 2  # 60 s after the first fire, as if nothing had happened
    stored = scheduler.get_task("every-minute")
    assert stored is not None and stored.next_run_time == clock.now() + timedelta(minutes=1)
    assert task.id == "every-minute"


def test_interval_keeps_its_spacing_across_a_forward_step(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(calls, "interval", minutes=1, coalesce=False, mistrigger_grace_time=None)
    scheduler.process_tasks()
    clock.advance(30)
    clock.jump_wall(3600)
    scheduler.process_tasks()
    assert calls.calls == []  # no burst of 60 catch-up fires
    clock.advance(29)
    scheduler.process_tasks()
    assert calls.calls == []
    clock.advance(1)
    scheduler.process_tasks()
    assert len(calls.calls) == 1


def test_interval_with_its_own_start_keeps_its_spacing(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=10, start_at=START + timedelta(seconds=5))
    run_for(scheduler, clock, 7)  # fired at 5 s
    clock.jump_wall(-300)
    run_for(scheduler, clock, 8)  # the next at 15 s elapsed, not 315 s
    assert len(calls.calls) == 2


def test_interval_in_sqlite_keeps_its_spacing_across_a_back_step(tmp_path: Path) -> None:
    """A store that does I/O may be shared: its intervals written before a step back are
    repaired (``repair_back_step``), so the step is not waited out; a step forward keeps
    their wall times (one catch-up fire, coalesced)."""
    from asyncz_like.stores.sqlalchemy import SQLAlchemyStore

    clock = STEPPED_CLOCK
    CALLS.clear()
    store = SQLAlchemyStore(database=f"sqlite:///{tmp_path / 'tasks.db'}")
    scheduler = manual_scheduler(clock, stores={"default": store})
    scheduler.start()
    try:
        scheduler.add_task(
            record_elapsed, "interval", seconds=20, id="twenty", mistrigger_grace_time=None
        )
        start = clock.elapsed
        run_for(scheduler, clock, 25)
        clock.jump_wall(-600)
        run_for(scheduler, clock, 20)
        assert [at - start for at in CALLS] == [20, 40]  # not waited out
        stored = store.lookup_task("twenty")
        assert stored is not None and stored.next_run_time == clock.now() + timedelta(seconds=15)
        clock.jump_wall(600)
        run_for(scheduler, clock, 1)
        assert [at - start for at in CALLS] == [20, 40, 46]  # caught up once, at once
    finally:
        scheduler.shutdown()
        drop_sql_table(store)


def test_a_step_back_shorter_than_the_interval_delays_a_stored_fire_by_the_step(
    tmp_path: Path,
) -> None:
    """The limit of the repair: a run time that a step back shorter than what was left of
    the interval leaves within ``now + interval`` cannot be told from one written since, so
    it stays, and the fire comes that much late (at most one interval after the step)."""
    from asyncz_like.stores.sqlalchemy import SQLAlchemyStore

    clock = STEPPED_CLOCK
    CALLS.clear()
    store = SQLAlchemyStore(database=f"sqlite:///{tmp_path / 'tasks.db'}")
    scheduler = manual_scheduler(clock, stores={"default": store})
    scheduler.start()
    try:
        scheduler.add_task(record_elapsed, "interval", seconds=60, mistrigger_grace_time=None)
        start = clock.elapsed
        run_for(scheduler, clock, 110)  # fired at 60 s; 10 s left
        clock.jump_wall(-20)
        run_for(scheduler, clock, 30)
        assert [at - start for at in CALLS] == [60, 140]  # 20 s late, not 120 s
    finally:
        scheduler.shutdown()
        drop_sql_table(store)


def _interval_task(seconds: float, next_run_time: datetime, jitter: float | None = None) -> Any:
    from asyncz_like.tasks import Task
    from asyncz_like.triggers import IntervalTrigger

    task = Task(print, IntervalTrigger(seconds=seconds, jitter=jitter), id="t")
    task.next_run_time = next_run_time
    return task


@pytest.mark.parametrize(
    ("offset", "jitter", "written_before"),
    [
        (60, None, False),  # now + interval: written since the step (or moved back already)
        (61.5, None, False),  # within the slack (claim_ahead, the step's tolerance)
        (62.5, None, True),
        (660, None, True),  # old now + interval: the latest a pass before the step wrote
        (662, None, True),
        (663, None, False),  # later than any pass could write it: a start_at given
        (75, 20, False),  # a jitter widens the interval a run time may be written ahead
        (85, 20, True),
    ],
)
def test_a_run_time_written_before_a_back_step_is_told_by_its_distance(
    offset: float, jitter: float | None, written_before: bool
) -> None:
    task = _interval_task(60, START + timedelta(seconds=offset), jitter)
    back = timedelta(seconds=600)
    assert written_before_step(task, START, back, slack=2.0) is written_before


def test_only_interval_tasks_are_told_written_before_a_step() -> None:
    from asyncz_like.tasks import Task
    from asyncz_like.triggers import CronTrigger

    cron = Task(print, CronTrigger(minute="*"), id="c")
    cron.next_run_time = START + timedelta(seconds=300)
    assert not written_before_step(cron, START, timedelta(seconds=600), slack=2.0)
    paused = _interval_task(60, START)
    paused.next_run_time = None
    assert not written_before_step(paused, START, timedelta(seconds=600), slack=2.0)


# -- cron and date tasks: wall times, never twice --------------------------------------------


def test_cron_never_fires_twice_and_nothing_beside_it_stalls(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    seen = executed_times(scheduler)
    scheduler.start()
    scheduler.add_task(print, "cron", minute="*", id="cron", **CATCH_UP)
    scheduler.add_task(print, "interval", seconds=30, id="interval")
    run_for(scheduler, clock, MINUTE + 30)  # cron at 12:00, 12:01; interval at 30, 60, 90 s
    clock.jump_wall(-600)  # 12:01:30 -> 11:51:30
    run_for(scheduler, clock, 11 * MINUTE)  # wall 12:02:30
    minutes = [START + timedelta(minutes=n) for n in (0, 1, 2)]
    assert seen["cron"] == minutes  # 11:52 ... 12:01 not again; 12:02 on time by the wall
    assert len(seen["interval"]) == (MINUTE + 30 + 11 * MINUTE) // 30  # every 30 s elapsed


def test_cron_catches_up_after_a_forward_step(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    seen = executed_times(scheduler)
    scheduler.start()
    scheduler.add_task(print, "cron", minute="*", id="cron", **CATCH_UP)
    scheduler.add_task(print, "interval", seconds=30, id="interval")
    run_for(scheduler, clock, 30)
    clock.jump_wall(300)  # 12:00:30 -> 12:05:30
    run_for(scheduler, clock, 31)
    assert seen["cron"] == [START + timedelta(minutes=n) for n in range(7)]  # each once
    assert len(seen["interval"]) == 2  # at 30 and 60 s elapsed, no catch-up burst


def test_date_task_keeps_its_wall_time_across_a_back_step(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    seen = executed_times(scheduler)
    scheduler.start()
    at = START + timedelta(minutes=5)
    scheduler.add_task(print, DateTrigger(at), id="once")
    run_for(scheduler, clock, 3 * MINUTE)
    clock.jump_wall(-600)  # 12:03 -> 11:53
    run_for(scheduler, clock, 11 * MINUTE)  # 12:04: not yet
    assert "once" not in seen
    run_for(scheduler, clock, MINUTE)
    assert seen["once"] == [at]


def test_step_is_noticed_after_a_pause(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=10)
    run_for(scheduler, clock, 5)
    scheduler.pause()
    clock.advance(2)
    clock.jump_wall(-600)
    scheduler.resume()
    run_for(scheduler, clock, 3)
    assert len(calls.calls) == 1


# -- submitted runs ---------------------------------------------------------------------------


@pytest.mark.parametrize("step", [-600, 600])
def test_delayed_run_waits_its_delay_of_elapsed_time(clock: FakeClock, step: int) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    calls: list[str] = []
    scheduler.submit(calls.append, "later", delay=60)
    run_for(scheduler, clock, 30)
    clock.jump_wall(step)
    run_for(scheduler, clock, 29)
    assert calls == []  # not early after a forward step
    run_for(scheduler, clock, 1)
    assert calls == ["later"]  # nor 10 minutes late after a back step


# -- the ledger: an hour with steps both ways ------------------------------------------------


def test_an_hour_of_steps_both_ways_misses_and_repeats_nothing(clock: FakeClock) -> None:
    """Fires over an hour of elapsed time with the wall clock stepped four times: intervals
    are expected at each multiple of their interval in elapsed time, cron fires once for each
    minute the wall clock passes (a forward step's skipped minutes run late, once each)."""
    steps = {600: -600, 1500: 900, 2400: -120, 3000: 45}
    scheduler = manual_scheduler(clock, stores={"default": MemoryStore()})
    ledger = FireLedger(clock)
    scheduler.add_listener(ledger.listener, TASK_EXECUTED)
    scheduler.start()
    options: dict[str, Any] = {"coalesce": False, "mistrigger_grace_time": None}
    for seconds in (7, 60, 300):
        scheduler.add_task(print, "interval", seconds=seconds, id=f"every-{seconds}", **options)
        ledger.expect_interval(f"every-{seconds}", seconds)
    scheduler.add_task(print, "cron", minute="*", id="cron-minute", **options)
    scheduler.add_task(print, "cron", minute="*/5", id="cron-five", **options)
    ledger.expect_cron("cron-minute", 1)
    ledger.expect_cron("cron-five", 5)
    for second in range(1, 3601):
        clock.advance(1)
        ledger.saw(clock.now())
        if second in steps:
            clock.jump_wall(steps[second])
            ledger.saw(clock.now())
        scheduler.process_tasks()
    report = ledger.report()
    print(report.text())
    assert report.ran > 0
    assert report.clean, report.text()
