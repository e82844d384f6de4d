"""The loop's pass over due tasks, with a clock moved by hand and the inline executor."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from asyncz_like.events import (
    TASK_ERROR,
    TASK_EXECUTED,
    TASK_MAX_INSTANCES,
    TASK_MISSED,
    TASK_REMOVED,
    TASK_SUBMITTED,
)
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.stores.memory import MemoryStore
from asyncz_like.tasks import Task
from asyncz_like.triggers import DateTrigger, IntervalTrigger
from tests.helpers import START, FakeClock, ManualScheduler, Recorder, manual_scheduler


def test_interval_task_fires_once_per_interval(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()
    task = scheduler.add_task(calls, "interval", seconds=10)
    assert task.next_run_time == START + timedelta(seconds=10)
    assert scheduler.process_tasks() == pytest.approx(10)
    assert calls.calls == []
    clock.advance(10)
    assert scheduler.process_tasks() == pytest.approx(10)
    assert len(calls.calls) == 1
    assert task.next_run_time == START + timedelta(seconds=20)


def test_wait_is_capped_by_max_wait(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, max_wait=5)
    scheduler.start()
    scheduler.add_task(print, "interval", hours=1)
    assert scheduler.process_tasks() == pytest.approx(5)


def test_nothing_scheduled_sleeps_until_woken(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    assert scheduler.process_tasks() is None


def test_coalesce_runs_missed_fires_once(clock: FakeClock) -> None:
    calls, events = Recorder(), Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.add_listener(events.listener, TASK_SUBMITTED)
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=1, coalesce=True, mistrigger_grace_time=None)
    clock.advance(5.5)
    scheduler.process_tasks()
    assert len(calls.calls) == 1
    assert [t.second for t in events.events[0].scheduled_run_times] == [5]


def test_without_coalesce_every_missed_fire_runs(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=1, coalesce=False, mistrigger_grace_time=None)
    clock.advance(5.5)
    scheduler.process_tasks()
    assert len(calls.calls) == 5


def test_fire_later_than_grace_is_missed(clock: FakeClock) -> None:
    calls, events = Recorder(), Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.add_listener(events.listener, TASK_MISSED | TASK_EXECUTED)
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=10, mistrigger_grace_time=2)
    clock.advance(13)  # 3 s late
    scheduler.process_tasks()
    assert calls.calls == []
    assert events.codes() == [TASK_MISSED]
    clock.advance(8.5)  # fire at 20 s, 1.5 s late: within grace
    scheduler.process_tasks()
    assert len(calls.calls) == 1
    assert events.codes() == [TASK_MISSED, TASK_EXECUTED]


class HoldingExecutor(BaseExecutor):
    """Keeps every run in flight until the test finishes it."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[str] = []

    def do_send_task(self, task, run_times):  # type: ignore[no-untyped-def]
        self.held.append(task.id)

    def finish_all(self) -> None:
        for task_id in self.held:
            self.run_task_success(task_id, [])
        self.held.clear()


def test_max_instances_skips_overlapping_fires(clock: FakeClock) -> None:
    events = Recorder()
    executor = HoldingExecutor()
    scheduler = manual_scheduler(clock, executors={"default": executor})
    scheduler.add_listener(events.listener, TASK_MAX_INSTANCES | TASK_SUBMITTED)
    scheduler.start()
    scheduler.add_task(print, "interval", seconds=1, max_instances=2)
    for _ in range(3):
        clock.advance(1)
        scheduler.process_tasks()
    assert len(executor.held) == 2
    assert events.codes() == [TASK_SUBMITTED, TASK_SUBMITTED, TASK_MAX_INSTANCES]
    executor.finish_all()
    clock.advance(1)
    scheduler.process_tasks()
    assert events.codes()[-1] == TASK_SUBMITTED


class PickyExecutor(HoldingExecutor):
    """Fails to hand over the task ``refused`` (an error of the executor, not of the work)."""

    def do_send_task(self, task, run_times):  # type: ignore[no-untyped-def]
        if task.id == "refused":
            raise RuntimeError("no thread for it")
        super().do_send_task(task, run_times)


def test_a_failed_hand_over_is_logged_and_the_slice_goes_on(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    events = Recorder()
    executor = PickyExecutor()
    scheduler = manual_scheduler(clock, executors={"default": executor})
    scheduler.add_listener(events.listener, TASK_SUBMITTED)
    scheduler.start()
    for task_id in ("first", "refused", "last"):
        scheduler.add_task(print, "date", run_at=START + timedelta(seconds=1), id=task_id)
    scheduler.add_executor(HoldingExecutor(), "extra")
    scheduler.add_task(print, "date", run_at=START + timedelta(seconds=1), id="x", executor="extra")
    scheduler.remove_executor("extra")  # its task's fire finds no executor
    clock.advance(1)
    with caplog.at_level(logging.ERROR):
        scheduler.process_tasks()
    assert sorted(executor.held) == ["first", "last"]
    assert sorted(event.task_id for event in events.events) == ["first", "last"]
    assert executor.instances == {"first": 1, "last": 1}  # the refused one's was given back
    failed = sorted(r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert failed == ["Error submitting task refused", "Error submitting task x"]


def test_error_is_logged_and_schedule_kept(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    events = Recorder()

    def broken() -> None:
        raise RuntimeError("database is down")

    scheduler = manual_scheduler(clock)
    scheduler.add_listener(events.listener, TASK_ERROR)
    scheduler.start()
    task = scheduler.add_task(broken, "interval", seconds=1, id="broken-task")
    with caplog.at_level(logging.ERROR):
        clock.advance(1)
        scheduler.process_tasks()
    record = next(r for r in caplog.records if r.levelno == logging.ERROR)
    message = record.getMessage()
    assert "broken-task" in message and "RuntimeError" in message and "database is down" in message
    assert "broken" in message  # the task's name
    assert isinstance(events.events[0].exception, RuntimeError)
    assert "raise RuntimeError" in (events.events[0].traceback or "")
    assert task.next_run_time == START + timedelta(seconds=2)
    clock.advance(1)
    scheduler.process_tasks()
    assert len(events.events) == 2


def test_listener_that_raises_does_not_stop_the_loop(clock: FakeClock) -> None:
    calls = Recorder()

    def bad_listener(event: object) -> None:
        raise ValueError("listener bug")

    scheduler = manual_scheduler(clock)
    scheduler.add_listener(bad_listener)
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=1)
    clock.advance(1)
    scheduler.process_tasks()
    clock.advance(1)
    scheduler.process_tasks()
    assert len(calls.calls) == 2


def test_date_task_runs_once_then_is_removed(clock: FakeClock) -> None:
    calls, events = Recorder(), Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.add_listener(events.listener, TASK_REMOVED)
    scheduler.start()
    scheduler.add_task(calls, DateTrigger(START + timedelta(seconds=3)), id="once")
    clock.advance(3)
    scheduler.process_tasks()
    assert len(calls.calls) == 1
    assert scheduler.get_task("once") is None
    assert events.events[0].task_id == "once"


def test_a_year_without_a_pass_is_caught_up_boundedly(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()
    task = scheduler.add_task(
        calls, "interval", seconds=1, coalesce=False, mistrigger_grace_time=None
    )
    clock.advance(365 * 24 * 3600)  # a year suspended: 31 million missed fires
    scheduler.process_tasks()
    assert len(calls.calls) == 1000
    assert task.next_run_time is not None and task.next_run_time > clock.now()
    assert task.next_run_time - clock.now() <= timedelta(seconds=1)


def test_broken_trigger_pauses_the_task_and_keeps_it(clock: FakeClock) -> None:
    class Broken(IntervalTrigger):
        def get_next_trigger_time(self, timezone, previous_time, now=None):  # type: ignore[no-untyped-def]
            if previous_time is not None:
                raise ArithmeticError("bug in a user's trigger")
            return super().get_next_trigger_time(timezone, previous_time, now)

    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(print, Broken(seconds=1), id="b")
    clock.advance(1)
    scheduler.process_tasks()
    kept = scheduler.get_task("b")
    assert kept is not None and kept.next_run_time is None


def test_burst_is_processed_in_slices(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock, batch_size=100)
    scheduler.start()
    for i in range(250):
        scheduler.add_task(calls, "interval", seconds=10, id=f"t{i}")
    clock.advance(10)
    assert scheduler.process_tasks() == 0
    assert len(calls.calls) == 100
    assert scheduler.process_tasks() == 0
    assert scheduler.process_tasks() == pytest.approx(10)
    assert len(calls.calls) == 250


def test_paused_scheduler_processes_nothing(clock: FakeClock) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start(paused=True)
    scheduler.add_task(calls, "interval", seconds=1)
    clock.advance(1)
    assert scheduler.process_tasks() is None
    scheduler.resume()
    scheduler.process_tasks()
    assert len(calls.calls) == 1


def test_store_locked_by_another_process_is_retried_without_spinning(
    clock: FakeClock, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from asyncz_like.locks import FileLockProtected

    calls = Recorder()
    lock_path = str(tmp_path / "sched_{store}.lock")
    scheduler = manual_scheduler(clock, lock_path=lock_path, lock_retry_interval=0.5)
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=1)
    clock.advance(1)
    other = FileLockProtected(str(tmp_path / "sched_default.lock"))
    with other.protected(False) as got:
        assert got
        import threading

        result: list[float | None] = []
        worker = threading.Thread(target=lambda: result.append(scheduler.process_tasks()))
        worker.start()  # another thread: filelock is reentrant within one thread only
        worker.join()
        assert result == [0.5] and calls.calls == []
    assert scheduler.process_tasks() == pytest.approx(1)
    assert len(calls.calls) == 1


def test_jump_with_grace_runs_the_latest_fire_not_the_oldest(clock: FakeClock) -> None:
    events = Recorder()
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.add_listener(events.listener, TASK_MISSED | TASK_EXECUTED)
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=1, coalesce=True, mistrigger_grace_time=5)
    clock.advance(100_000.5)  # suspended (a step of the wall clock shifts intervals)
    scheduler.process_tasks()
    assert len(calls.calls) == 1
    assert events.codes() == [TASK_EXECUTED]
    assert events.events[0].scheduled_run_time == START + timedelta(seconds=100_000)


def test_broken_trigger_emits_an_error_event(clock: FakeClock) -> None:
    events = Recorder()

    class Broken(IntervalTrigger):
        def get_next_trigger_time(self, timezone, previous_time, now=None):  # type: ignore[no-untyped-def]
            if previous_time is not None:
                raise ArithmeticError("bug in a user's trigger")
            return super().get_next_trigger_time(timezone, previous_time, now)

    scheduler = manual_scheduler(clock)
    scheduler.add_listener(events.listener, TASK_ERROR)
    scheduler.start()
    scheduler.add_task(print, Broken(seconds=1), id="b")
    clock.advance(1)
    scheduler.process_tasks()
    assert isinstance(events.events[0].exception, ArithmeticError)


class ReleaseFailsStore(MemoryStore):
    """A memory store whose next ``failures`` releases raise, as a store whose server left."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.released: list[str] = []

    def release_task(self, task: Task, next_run_time: datetime | None) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("server away")
        self.released.append(task.id)
        super().release_task(task, next_run_time)


def test_a_failed_release_is_written_first_on_the_next_pass(clock: FakeClock) -> None:
    calls = Recorder()
    store = ReleaseFailsStore(failures=2)
    scheduler = manual_scheduler(clock, stores={"default": store})
    scheduler.start()
    scheduler.add_task(calls, "interval", seconds=10, id="r")
    clock.advance(10)
    with pytest.raises(ConnectionError):
        scheduler.process_tasks()  # the fire is handed over, its release fails
    assert len(calls.calls) == 1
    with pytest.raises(ConnectionError):
        scheduler.process_tasks()  # still away: nothing else is tried
    assert store.released == []
    scheduler.process_tasks()  # back: the release is written, and the task is not due again
    assert store.released == ["r"]
    assert len(calls.calls) == 1
    assert scheduler.get_task("r").next_run_time == START + timedelta(seconds=20)


class IOMemoryStore(MemoryStore):
    """A memory store that says it does I/O, so that passes over it claim ahead."""

    does_io = True


def claiming_ahead(
    clock: FakeClock, executor: BaseExecutor, claim_ahead: float, store: MemoryStore | None = None
) -> ManualScheduler:
    """A started scheduler over one store that does I/O (its passes claim ahead)."""
    scheduler = manual_scheduler(
        clock, claim_ahead=claim_ahead, stores={"default": store or IOMemoryStore()},
        executors={"default": executor},
    )  # fmt: skip
    scheduler.start()
    return scheduler


def offsets_ms(moments: list[datetime]) -> list[int]:
    return [round((moment - START).total_seconds() * 1000) for moment in moments]


@pytest.mark.parametrize(("ahead", "sent", "wait"), [(0.02, ["soon"], 0.01), (0.0, [], 0.01)])
def test_a_pass_over_io_stores_claims_claim_ahead_early(
    clock: FakeClock, ahead: float, sent: list[str], wait: float
) -> None:
    executor = HoldingExecutor()
    scheduler = claiming_ahead(clock, executor, ahead)
    for task_id, offset in (("soon", 0.01), ("later", 0.03)):
        scheduler.add_task(Recorder(), "date", run_at=START + timedelta(seconds=offset), id=task_id)
    assert scheduler.process_tasks() == pytest.approx(wait)
    assert executor.held == sent  # "later" is beyond the horizon either way


def test_memory_stores_alone_are_not_claimed_ahead(clock: FakeClock) -> None:
    executor = HoldingExecutor()
    scheduler = manual_scheduler(clock, executors={"default": executor})
    scheduler.start()
    scheduler.add_task(Recorder(), "date", run_at=START + timedelta(seconds=0.01), id="soon")
    assert scheduler.claim_ahead == 0.05
    assert scheduler.process_tasks() == pytest.approx(0.01)
    assert executor.held == []


def test_claim_ahead_is_checked_where_given() -> None:
    assert manual_scheduler(claim_ahead="0.05").claim_ahead == 0.05  # as setup() text gives it
    for bad in (-0.01, 1.5, "soon", True, float("nan")):
        with pytest.raises(ValueError, match="claim_ahead"):
            manual_scheduler(claim_ahead=bad)


def test_the_runner_waits_for_a_fire_handed_over_early(monkeypatch: pytest.MonkeyPatch) -> None:
    from asyncz_like.executors import runner

    slept: list[float] = []
    monkeypatch.setattr("asyncz_like.executors.runner.time.sleep", slept.append)
    calls = Recorder()
    task = Task(calls, DateTrigger(START), id="t")
    task.mistrigger_grace_time = 1.0
    early = runner.RunContext(None, "test", now=lambda: START - timedelta(seconds=0.005))
    runner.run_task(task, [START], early)
    assert slept == [pytest.approx(0.005)] and len(calls.calls) == 1
    far = runner.RunContext(None, "test", now=lambda: START - timedelta(seconds=5))
    runner.run_task(task, [START], far)  # more than MAX_EARLY ahead: not a claim ahead
    assert len(slept) == 1 and len(calls.calls) == 2


def test_a_fire_claimed_ahead_is_released_once_it_starts(clock: FakeClock) -> None:
    """Until its run time the claim holds the fire in the store: a scheduler killed before
    then loses nothing (the lease expires and another scheduler runs it)."""
    executor = HoldingExecutor()
    store = IOMemoryStore()
    scheduler = claiming_ahead(clock, executor, 0.02, store)
    scheduler.add_task(Recorder(), "interval", seconds=1, id="t",
                       next_run_time=START + timedelta(seconds=0.01))  # fmt: skip
    # the pass that claims its next fire ahead writes the release, if none did before
    assert scheduler.process_tasks() == pytest.approx(0.99)
    assert executor.held == ["t"]
    assert store.get_next_run_time() is None  # still claimed: not released yet
    clock.advance(0.005)
    scheduler.process_tasks()
    assert store.get_next_run_time() is None  # its run time has not come
    clock.advance(0.005)
    assert scheduler.process_tasks() == pytest.approx(1.0 - 0.02)
    assert store.get_next_run_time() == START + timedelta(seconds=1.01)
    assert executor.held == ["t"]  # handed over once


@pytest.mark.parametrize("ends_in_time", [True, False])
def test_a_fire_claimed_ahead_that_max_instances_refuses_is_tried_again(
    clock: FakeClock, ends_in_time: bool
) -> None:
    """The runs in its way may end before its run time: only then is the fire skipped."""
    events = Recorder()
    executor = HoldingExecutor()
    store = IOMemoryStore()
    scheduler = claiming_ahead(clock, executor, 0.02, store)
    scheduler.add_listener(events.listener, TASK_MAX_INSTANCES | TASK_SUBMITTED)
    scheduler.add_task(Recorder(), "interval", seconds=1, id="t", max_instances=1,
                       next_run_time=START + timedelta(seconds=0.01))  # fmt: skip
    scheduler.process_tasks()  # the fire at 0.01 is handed over, and stays in flight
    clock.advance(0.985)
    # its next fire, at 1.01, is claimed ahead and refused: given back, not skipped
    assert scheduler.process_tasks() == pytest.approx(0.01)  # half of claim_ahead later
    assert executor.held == ["t"] and events.codes() == [TASK_SUBMITTED]
    assert store.get_next_run_time() == START + timedelta(seconds=1.01)
    if ends_in_time:
        executor.finish_all()
    clock.advance(0.01)
    scheduler.process_tasks()
    if ends_in_time:  # claimed ahead again, and handed over this time
        assert executor.held == ["t"] and events.codes() == [TASK_SUBMITTED, TASK_SUBMITTED]
        return
    assert events.codes() == [TASK_SUBMITTED]  # given back once more: its time has not come
    clock.advance(0.02)
    scheduler.process_tasks()  # due now, and still refused: skipped, as without claim_ahead
    assert events.codes() == [TASK_SUBMITTED, TASK_MAX_INSTANCES]
    assert executor.held == ["t"]
    assert store.get_next_run_time() == START + timedelta(seconds=2.01)


class RunTimesExecutor(HoldingExecutor):
    """Keeps the run times of each hand-over too."""

    def __init__(self) -> None:
        super().__init__()
        self.run_times: list[list[datetime]] = []

    def do_send_task(self, task, run_times):  # type: ignore[no-untyped-def]
        self.run_times.append(list(run_times))
        super().do_send_task(task, run_times)


def test_coalescing_merges_the_missed_run_times_not_those_claimed_ahead(clock: FakeClock) -> None:
    executor = RunTimesExecutor()
    scheduler = claiming_ahead(clock, executor, 0.01)
    scheduler.add_task(Recorder(), "interval", seconds=0.005, coalesce=True,
                       start_at=START - timedelta(seconds=0.012),
                       next_run_time=START - timedelta(seconds=0.012))  # fmt: skip
    scheduler.process_tasks()
    assert offsets_ms(executor.run_times[0]) == [
        -2,
        3,
        8,
    ]  # the three missed as one, then each fire claimed ahead


def test_a_fire_given_back_and_tried_again_after_its_run_time_still_runs(clock: FakeClock) -> None:
    """The retry of a refused fire may come after its run time: it is late, not merged into
    the next fire claimed ahead."""
    executor = RunTimesExecutor()
    scheduler = claiming_ahead(clock, executor, 0.02)
    scheduler.add_task(Recorder(), "interval", seconds=0.02, id="t", max_instances=1,
                       coalesce=True, next_run_time=START + timedelta(seconds=0.01))  # fmt: skip
    scheduler.process_tasks()  # the fire at 0.01 is held in flight
    clock.advance(0.012)
    assert scheduler.process_tasks() == pytest.approx(0.01)  # half of claim_ahead later
    clock.advance(0.01)
    assert scheduler.process_tasks() == pytest.approx(0.008)  # then at its run time, 0.03
    assert len(executor.run_times) == 1  # the fire at 0.03 was refused ahead, given back
    executor.finish_all()
    clock.advance(0.013)  # the retry comes late, at 0.035
    scheduler.process_tasks()
    assert offsets_ms(executor.run_times[1]) == [30, 50]


def test_passes_that_claim_ahead_are_spaced_by_half_of_claim_ahead(clock: FakeClock) -> None:
    """Fires due 1 ms apart: each pass claims about 10 ms of them, not 1 ms."""
    executor = HoldingExecutor()
    scheduler = claiming_ahead(clock, executor, 0.02)
    for index in range(60):
        run_at = START + timedelta(seconds=0.001 * (index + 1))
        scheduler.add_task(Recorder(), "date", run_at=run_at, id=f"t{index}")
    waits = []
    for _ in range(3):
        waits.append(scheduler.process_tasks())
        clock.advance(waits[-1] or 0.0)
    assert waits == [pytest.approx(0.01)] * 3
    assert len(executor.held) == 40  # fires due by 0.04: the last pass's horizon


def test_releases_held_back_are_written_at_shutdown(clock: FakeClock) -> None:
    store = IOMemoryStore()
    scheduler = manual_scheduler(
        clock, stores={"default": store}, executors={"default": HoldingExecutor()}
    )
    scheduler.start()
    scheduler.add_task(Recorder(), "interval", seconds=1, id="t",
                       next_run_time=START + timedelta(seconds=0.01))  # fmt: skip
    scheduler.process_tasks()
    assert store.get_next_run_time() is None
    scheduler.shutdown()
    assert store.get_next_run_time() == START + timedelta(seconds=1.01)


class Explosive:
    """A value that raises wherever the pass reads it: a bug no check foresaw."""

    def __bool__(self) -> bool:
        raise RuntimeError("cannot tell")


def test_a_task_that_fails_its_pass_is_paused_and_the_others_still_fire(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    calls = Recorder()
    scheduler = manual_scheduler(clock)
    scheduler.start()
    tasks = {
        task_id: scheduler.add_task(calls, "interval", seconds=1, id=task_id, args=[task_id])
        for task_id in ("first", "bad", "last")
    }
    tasks["bad"].coalesce = Explosive()  # type: ignore[assignment]  # the object the store holds
    clock.advance(1)
    with caplog.at_level(logging.ERROR):
        scheduler.process_tasks()
    assert sorted(args for args, _ in calls.calls) == [("first",), ("last",)]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "Processing task bad failed; the task is paused"
    ]
    assert scheduler.get_task("bad").next_run_time is None  # kept, paused
    clock.advance(1)
    scheduler.process_tasks()
    assert len(calls.calls) == 4


def test_a_task_that_cannot_be_counted_fails_alone_in_its_slice() -> None:
    executor = HoldingExecutor()
    tasks = [Task(print, id=task_id, max_instances=1) for task_id in ("first", "bad", "last")]
    tasks[1].max_instances = "3"  # type: ignore[assignment]
    outcomes, in_flight = executor._take_instances(tasks)
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], TypeError)
    assert executor._instances == {"first": 1, "last": 1} and in_flight == 2


class RetakingStore(IOMemoryStore):
    """A store that hands its own unreleased claims out again (as the SQL and Redis stores do
    with a lease of their own old enough), as fresh copies."""

    def acquire_due_tasks(self, now: datetime, limit: int) -> list[Task]:
        claimed = super().acquire_due_tasks(now, limit)
        again = [self.lookup_task(task_id) for task_id in sorted(self._claimed)]
        fresh = {task.id for task in claimed}
        return claimed + [task for task in again if task is not None and task.id not in fresh]


def test_a_fire_handed_over_is_not_handed_over_again_before_its_release(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A claim of its own the store gives out again: the fire it holds has gone to the
    executor already, and its release (held back until it starts) is written as planned."""
    executor = HoldingExecutor()
    store = RetakingStore()
    scheduler = claiming_ahead(clock, executor, 0.02, store)
    scheduler.add_task(Recorder(), "interval", seconds=1, id="t",
                       next_run_time=START + timedelta(seconds=0.01))  # fmt: skip
    scheduler.process_tasks()
    clock.advance(0.005)
    scheduler.process_tasks()  # the store hands the claim out again: not handed over again
    assert executor.held == ["t"]
    assert "handed over already" in caplog.text
    clock.advance(0.005)
    scheduler.process_tasks()
    assert store.get_next_run_time() == START + timedelta(seconds=1.01)
    assert executor.held == ["t"]


class SlotHeldStore(MemoryStore):
    """A store that shares run slots, whose one slot per task another scheduler holds until
    ``held_until`` (a dead one's, left to lapse; or a live run's)."""

    shares_run_slots = True
    lease_seconds = 5.0

    def __init__(self, held_until: datetime) -> None:
        super().__init__()
        self.held_until = held_until
        self.renewed: list[datetime] = []

    def renew_claims(self, task_ids: Sequence[str], now: datetime) -> None:
        self.renewed.append(now)

    def acquire_run_slot(self, task: Task, now: datetime) -> str | None:
        return None if now < self.held_until else "token"


@pytest.mark.parametrize("held_for", [3.5, 60.0])
def test_a_due_fire_refused_for_a_run_slot_waits_for_the_slot_lease(
    clock: FakeClock, held_for: float
) -> None:
    """A slot a killed scheduler left lapses within ``lease_seconds``: the fires it holds up
    run then, late, not skipped. A slot held longer is a live run's: the fire is skipped.
    Meanwhile the claim is renewed every third of the lease."""
    events = Recorder()
    executor = RunTimesExecutor()
    store = SlotHeldStore(START + timedelta(seconds=held_for))
    scheduler = manual_scheduler(clock, stores={"default": store}, executors={"default": executor})
    scheduler.add_listener(events.listener, TASK_MAX_INSTANCES | TASK_SUBMITTED)
    scheduler.start()
    scheduler.add_task(Recorder(), "interval", seconds=1, id="t", max_instances=1,
                       coalesce=False, mistrigger_grace_time=None)  # fmt: skip
    clock.advance(1)
    assert scheduler.process_tasks() == pytest.approx(0.25)  # held, tried again soon
    assert events.codes() == []
    while clock.current < START + timedelta(seconds=7) and not events.events:
        clock.advance(0.25)
        scheduler.process_tasks()
    if held_for < 5:  # lapsed at 3.5: the three fires held up run then
        assert events.codes() == [TASK_SUBMITTED]
        assert offsets_ms(executor.run_times[0]) == [1000, 2000, 3000]
        assert offsets_ms(store.renewed) == [2750]
    else:  # still held when its lease would have ended: a live run, the fires are skipped
        assert events.codes() == [TASK_MAX_INSTANCES]
        assert clock.current == START + timedelta(seconds=6)
        assert executor.run_times == []
        assert offsets_ms(store.renewed) == [2750, 4500]
