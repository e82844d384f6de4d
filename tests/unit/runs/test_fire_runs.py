"""Every fire of a task is a run too: status, timings, result or error."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from asyncz_like.events import ALL_RUN_EVENTS, RUN_COMPLETED, RUN_STARTED, TASK_EXECUTED
from asyncz_like.runs import Run, RunStatus, current_run, update_progress
from tests.helpers import START, FakeClock, Recorder, manual_scheduler
from tests.unit.runs.aio import until
from tests.unit.runs.helpers import double


def broken() -> None:
    raise ValueError("broken task")


def test_fires_leave_run_records(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(double, "interval", seconds=10, args=[4], id="tick")
    scheduler.add_task(broken, "interval", seconds=10, id="broken")
    for _ in range(2):
        clock.advance(10)
        scheduler.process_tasks()
    ticks = scheduler.list_runs(task_id="tick")
    assert [run.scheduled_at for run in ticks] == [
        START + timedelta(seconds=20),
        START + timedelta(seconds=10),
    ]
    latest = ticks[0]
    assert (latest.status, latest.result, latest.name, latest.attempt) == (
        RunStatus.COMPLETED,
        8,
        "double",
        1,
    )
    assert latest.started_at == latest.finished_at == START + timedelta(seconds=20)
    assert scheduler.get_run(latest.id) is latest
    failed = scheduler.list_runs(task_id="broken", limit=1)[0]
    assert failed.status is RunStatus.FAILED and failed.error is not None
    assert failed.error.type == "ValueError" and "broken task" in (failed.error.traceback or "")


def test_with_run_listeners_a_fire_is_visible_while_it_runs(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    events = Recorder()
    scheduler.add_listener(events.listener, RUN_STARTED | RUN_COMPLETED)
    running: list[list[Run]] = []
    scheduler.add_task(
        lambda: running.append(scheduler.list_runs(status="running")), "interval", seconds=1
    )
    scheduler.start()
    clock.advance(1)
    scheduler.process_tasks()
    assert len(running[0]) == 1 and running[0][0].task_id is not None
    assert events.codes() == [RUN_STARTED, RUN_COMPLETED]
    assert events.events[0].task_id == running[0][0].task_id


def test_inside_a_fire_the_current_run_is_the_fires_record(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    seen: list[object] = []

    def work() -> None:
        seen.append(current_run())
        assert update_progress(40, "reading")

    scheduler.add_task(work, "interval", seconds=1, id="p")
    scheduler.start()
    clock.advance(1)
    scheduler.process_tasks()
    scheduler.add_task(lambda: seen.append(current_run()), "interval", seconds=5, id="q")
    clock.advance(5)
    scheduler.process_tasks()
    runs = scheduler.list_runs(task_id="p")
    assert len(runs) == 2  # one record per fire: the live one is not counted twice
    first = seen[0]
    assert isinstance(first, Run) and first.task_id == "p"
    assert first.id in {run.id for run in runs}
    assert first.status is RunStatus.COMPLETED and first.message == "reading"
    assert first.scheduled_at == START + timedelta(seconds=1)
    assert isinstance(seen[-1], Run) and seen[-1].task_id == "q"
    assert current_run() is None  # and none once the fire is over


def test_records_can_be_turned_off(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, record_task_runs=False)
    assert scheduler.fire_recorder is None
    scheduler.add_task(double, "interval", seconds=1, args=[1])
    scheduler.start()
    clock.advance(1)
    scheduler.process_tasks()
    assert scheduler.list_runs() == [] and scheduler.stats().by_status["completed"] == 0


def test_fires_beyond_the_history_are_only_counted(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, max_run_history=2)
    scheduler.add_task(double, "interval", seconds=1, args=[1], id="tick")
    scheduler.start()
    for _ in range(10):
        clock.advance(1)
        scheduler.process_tasks()
    assert scheduler.fire_recorder is not None
    assert len(scheduler._runs.fires.inbox) == 10  # type: ignore[union-attr]  # nobody read yet
    runs = scheduler.list_runs()
    assert [run.scheduled_at for run in runs] == [
        START + timedelta(seconds=10),
        START + timedelta(seconds=9),
    ]
    stats = scheduler.stats()
    assert stats.by_status["completed"] == 10 and stats.execution_time.count == 10


def test_a_growing_inbox_is_compacted_by_the_loop(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, max_run_history=1)
    fires = scheduler._runs.fires
    assert fires is not None
    fires.drain_at = 3
    scheduler.add_task(double, "interval", seconds=1, args=[1])
    scheduler.start()
    for _ in range(2):
        clock.advance(1)
        scheduler.process_tasks()
    assert len(fires.inbox) == 2
    clock.advance(1)
    scheduler.process_tasks()  # the third fire fills the inbox to drain_at
    assert len(fires.inbox) == 1 and len(scheduler.run_history) == 0  # counted, not built
    assert scheduler.stats().by_status["completed"] == 3
    (run,) = scheduler.list_runs()
    assert run.scheduled_at == START + timedelta(seconds=3)


def test_a_cancelled_coroutine_fire_is_recorded_cancelled(clock: FakeClock) -> None:
    async def main() -> None:
        scheduler = manual_scheduler(clock)
        started = asyncio.Event()

        async def forever() -> None:
            started.set()
            await asyncio.sleep(3600)

        scheduler.add_task(forever, "interval", seconds=1)
        scheduler.start()
        clock.advance(1)
        scheduler.process_tasks()
        await until(started.is_set)
        fire = next(t for t in asyncio.all_tasks() if t is not asyncio.current_task())
        fire.cancel()
        await until(fire.done)
        assert [run.status for run in scheduler.list_runs()] == [RunStatus.CANCELLED]
        scheduler.shutdown()

    asyncio.run(main())


def test_submitted_runs_send_no_task_events(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    events = Recorder()
    scheduler.add_listener(events.listener, TASK_EXECUTED | ALL_RUN_EVENTS)
    scheduler.start()
    scheduler.submit(double, 1)
    scheduler.process_tasks()
    assert TASK_EXECUTED not in events.codes()


def test_fires_stamped_by_the_system_clock_are_counted_in_a_batch(clock: FakeClock) -> None:
    """The loop counts a burst's fires at once: the same figures as one at a time, in
    order, whether a fire's stamps are POSIX times (the system clock) or datetimes."""
    scheduler = manual_scheduler(clock, max_run_history=1)
    fires = scheduler._runs.fires
    assert fires is not None
    base = START.timestamp() - 30  # within the rate window of stats() at START
    for index, status in enumerate([RunStatus.COMPLETED] * 5 + [RunStatus.FAILED] * 2):
        started = base + index * 0.5
        fires.inbox.append(("f", None, START, started, started + 0.25, status, None, None))
        if index == 3:  # a fire stamped by another clock, between the others
            ended = START - timedelta(seconds=10)
            fires.inbox.append(("f", None, START, ended - timedelta(seconds=2), ended,
                                RunStatus.COMPLETED, None, None))  # fmt: skip
    fires.compact()  # keeps the newest (max_run_history=1), counts the seven others
    assert len(fires.inbox) == 1
    stats = scheduler.stats()  # reading builds the one kept: eight fires in all
    assert stats.by_status["completed"] == 6 and stats.by_status["failed"] == 2
    times = stats.execution_time
    assert times.count == 8
    assert times.avg == pytest.approx((7 * 0.25 + 2.0) / 8)
    assert stats.runs_per_second == pytest.approx(8 / 60)
