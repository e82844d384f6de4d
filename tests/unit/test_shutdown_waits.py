"""A shutdown that waits says what it waits for; a wait that cannot end fails at once."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from asyncz_like.exceptions import SchedulerNotRunningError
from asyncz_like.executors import ThreadPoolExecutor
from asyncz_like.schedulers import shutdown_report
from asyncz_like.schedulers.shutdown_report import WaitReport
from tests.helpers import FakeClock, manual_scheduler


def test_wait_for_on_a_scheduler_never_started_fails_at_once(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    run = scheduler.submit(print, "never")
    with pytest.raises(SchedulerNotRunningError, match="start it first"):
        scheduler.wait_for_sync(run.id, timeout=30)
    with pytest.raises(SchedulerNotRunningError, match=run.id):
        asyncio.run(scheduler.wait_for(run.id, timeout=30))


def test_wait_for_a_finished_run_of_a_stopped_scheduler_returns_it(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, executors={"default": {"type": "debug"}})
    scheduler.start()
    run = scheduler.submit(lambda: 7)
    scheduler.process_tasks()
    scheduler.shutdown()
    assert scheduler.wait_for_sync(run.id).result == 7


def test_a_shutdown_that_waits_names_the_running_work(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutdown_report, "REPORT_EVERY", 0.02)
    release, started = threading.Event(), threading.Event()

    def slow_report() -> None:
        started.set()
        release.wait(10)

    scheduler = manual_scheduler(clock, executors={"default": ThreadPoolExecutor(max_workers=2)})
    scheduler.start()
    scheduler.add_task(slow_report, "interval", hours=1, id="nightly")
    scheduler.run_task("nightly")
    assert started.wait(10)
    with caplog.at_level(logging.INFO, logger="asyncz_like"):
        stopper = threading.Thread(target=scheduler.shutdown)
        stopper.start()
        for _ in range(1000):  # at most 10 s for the second report
            if any("still waits" in r.getMessage() for r in caplog.records):
                break
            time.sleep(0.01)
        assert stopper.is_alive()  # the shutdown waited for the run meanwhile
        release.set()
        stopper.join(10)
    messages = [r.getMessage() for r in caplog.records]
    assert "Shutdown waits for 1 running: fire of task 'nightly'" in messages
    assert any(m.startswith("Shutdown still waits after ") for m in messages)
    assert any(m.startswith("Shutdown waited ") for m in messages)


def test_nothing_is_said_when_nothing_runs(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("asyncz_like.test")
    with caplog.at_level(logging.INFO, logger="asyncz_like"), WaitReport(logger, list):
        pass
    assert caplog.records == []
