"""asyncz's scheduler snapshots: ``get_scheduler_info`` and ``get_scheduler_instance_infos``."""

from __future__ import annotations

from datetime import timedelta

from asyncz_like.enums import SchedulerState
from asyncz_like.schedulers import SchedulerInfo, SchedulerInstanceInfo
from tests.helpers import START, FakeClock, manual_scheduler


def job() -> None:
    pass


def test_scheduler_info_counts_the_tasks_and_times_the_uptime(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, identity="worker-a", executors={"io": {"type": "debug"}})
    scheduler.add_task(job, "interval", seconds=30, id="pending")
    scheduler.start(paused=True)
    clock.advance(42)
    scheduler.add_task(job, "date", run_at=START + timedelta(minutes=5), id="scheduled")
    scheduler.add_task(job, "interval", seconds=30, id="paused")
    scheduler.pause_task("paused")
    info = scheduler.get_scheduler_info()
    assert isinstance(info, SchedulerInfo)
    assert (info.identity, info.state, info.state_label) == (
        "worker-a",
        SchedulerState.STATE_PAUSED,
        "paused",
    )
    assert info.running is True  # asyncz's meaning: started, paused or not
    assert info.started_at == START and info.uptime_seconds == 42
    assert info.timezone == "UTC"
    assert info.executor_aliases == ("default", "io") and info.store_aliases == ("default",)
    assert (info.task_count, info.scheduled_task_count, info.paused_task_count) == (3, 2, 1)
    assert info.pending_task_count == 0 and info.submitted_task_count == 3
    assert info.store_retry_interval == scheduler.failed_pass_wait
    assert info.startup_delay == 0


def test_a_stopped_scheduler_has_no_start_and_counts_its_pending_tasks(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.add_task(job, "interval", seconds=30)
    info = scheduler.get_scheduler_info()
    assert info.state is SchedulerState.STATE_STOPPED and info.state_label == "stopped"
    assert info.running is False and info.started_at is None and info.uptime_seconds is None
    assert info.pending_task_count == 1 and info.task_count == 1
    scheduler.start()
    clock.advance(5)
    scheduler.shutdown()
    stopped = scheduler.get_scheduler_info()
    assert stopped.started_at is None and stopped.uptime_seconds is None


def test_the_instance_of_this_process_is_seen_now(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, identity="worker-b")
    scheduler.start()
    clock.advance(7)
    [instance] = scheduler.get_scheduler_instance_infos()
    assert isinstance(instance, SchedulerInstanceInfo)
    assert (instance.identity, instance.scope) == ("worker-b", "process-local")
    assert instance.active is True and instance.stale is False
    assert instance.last_seen_at == START + timedelta(seconds=7)
    assert instance.heartbeat_age_seconds == 0 and instance.stale_after_seconds == 30
    assert instance.uptime_seconds == 7 and instance.state_label == "running"
    scheduler.shutdown()
    [stopped] = scheduler.get_scheduler_instance_infos()
    assert stopped.active is False and stopped.stale is True
