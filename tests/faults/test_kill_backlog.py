"""SIGKILL while a fire waits behind a busy worker: its run time has come, no worker has
taken it up, and another scheduler runs it once the killed one's lease ends. The fire was
claimed ahead of its run time (``claim_ahead``, by default), or at it (``claim_ahead=0``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.faults.backlog_scheduler import fire, occupy, scheduler
from tests.faults.processes import ROOT

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(60)]

#: From the seeding to the busy run, and from that to the fire that waits behind it.
LEAD, BEHIND = 3.0, 0.5


def _marks(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("claim_ahead", [None, 0.0], ids=["ahead", "at-run-time"])
def test_a_fire_waiting_for_a_worker_is_not_lost_when_its_scheduler_is_killed(
    tmp_path: Path, claim_ahead: float | None
) -> None:
    database, marks = f"sqlite:///{tmp_path / 'tasks.db'}", tmp_path / "marks.txt"
    busy_at = datetime.now(UTC) + timedelta(seconds=LEAD)
    seeding = scheduler(database, 1)
    seeding.start(paused=True)
    for task_id, fn, at in (
        ("busy", occupy, busy_at),
        ("t", fire, busy_at + timedelta(seconds=BEHIND)),
    ):
        seeding.add_task(
            fn, "date", run_at=at, id=task_id, args=[str(marks)], mistrigger_grace_time=None
        )
    seeding.shutdown()
    command = [sys.executable, "-m", "tests.faults.backlog_scheduler", database, str(marks)]
    if claim_ahead is not None:
        command.append(str(claim_ahead))
    child = subprocess.Popen(command, cwd=ROOT)
    try:
        assert _wait_for(lambda: "occupied" in _marks(marks), LEAD + 20), "the busy run never began"
        # past the fire's run time, and the passes after it: the fire waits for the worker
        time.sleep(BEHIND + 1.0)
        assert not any(line.startswith("fired") for line in _marks(marks))
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    survivor = scheduler(database, 2)
    survivor.start()
    try:
        # the lease (1 s), the pass that notices its end (poll_interval, 1 s), a margin
        assert _wait_for(lambda: any(line.startswith("fired") for line in _marks(marks)), 10)
    finally:
        survivor.shutdown(wait=False)
    fired = [line for line in _marks(marks) if line.startswith("fired")]
    assert fired == [f"fired {os.getpid()}"]  # once, here
