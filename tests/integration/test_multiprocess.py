"""Four scheduler processes share one store: every (task, scheduled time) runs exactly once,
and a SIGKILLed scheduler loses nothing, even one that stopped while holding claims."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from asyncz_like.triggers import IntervalTrigger
from tests.stores.backends import BACKENDS, Backend

#: DEADLINE past the end of the window, and the processes' start: more than the default.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
TASKS, INTERVAL, WINDOW, PROCESSES = 50, 0.5, 10.0, 4
LEASE = 2.0  # the store's lease_seconds: how soon a dead scheduler's claims lapse
CLAIM_AHEAD = 1.0  # the stopped scheduler's: it claims the first fires before the others
#: The workers run until END_MARGIN past the window at least; then until every fire of the
#: window has run, or DEADLINE past the window (a machine under load may start them late).
END_MARGIN, DEADLINE = 2.0, 60.0
#: How long a worker waits for the others to start, and lives at most (should the test die).
STARTUP, LIFETIME = 120.0, 300.0
SHARED = ["file", "sqlite", "postgresql", "mariadb", "redis"]
NEEDS_LOCK = {"file", "sqlite"}  # one host: the per-store file lock guards them

Fire = tuple[str, float]  # (task id, offset of its scheduled time from the start)


@pytest.fixture(params=SHARED)
def shared_backend(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    made = BACKENDS[request.param](tmp_path)
    try:
        yield made
    finally:
        made.cleanup()


def seed_tasks(backend: Backend, lead: float) -> float:
    """Add the tasks, their first fire ``lead`` seconds from now, in one write; the epoch of
    that first fire. A task added after its start time would skip the fires before it: the
    seeding scheduler is started (connected) first, and the write is checked to end before."""
    from asyncz_like.schedulers import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC", stores={"default": backend.make()})
    scheduler.start(paused=True)
    try:
        start = datetime.now(UTC) + timedelta(seconds=lead)
        trigger = IntervalTrigger(seconds=INTERVAL, start_at=start)
        common = {"trigger": trigger, "coalesce": False, "mistrigger_grace_time": None}
        fn = "tests.integration.mp_worker:noop"
        scheduler.add_tasks(
            [{"fn": fn, "id": f"task-{i:02d}", "max_instances": 5, **common} for i in range(TASKS)]
        )
        late = time.time() - start.timestamp()
        assert late < 0, f"the tasks were added {late:.2f} s after their first fire was due"
    finally:
        scheduler.shutdown()
    return start.timestamp()


def expected_fires() -> set[Fire]:
    return {
        (f"task-{i:02d}", round(k * INTERVAL, 3))
        for i in range(TASKS)
        for k in range(int(WINDOW / INTERVAL) + 1)
    }


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


class Workers:
    """The scheduler processes (``mp_worker``) of one test, and what they wrote."""

    def __init__(self, backend: Backend, tmp_path: Path) -> None:
        self.config = json.dumps(backend.config(lease_seconds=LEASE, poll_interval=0.2))
        self.lock = str(tmp_path / "mp_{store}.lock") if backend.name in NEEDS_LOCK else "-"
        self.outs = [tmp_path / f"out-{i}.tsv" for i in range(PROCESSES)]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.start = 0.0  # epoch of the first fire, once seeded

    def spawn(self, options: list[dict[str, object]]) -> None:
        """Start one process per entry of ``options`` (its extra scheduler options) and wait
        until each has started its scheduler."""
        for out, extra in zip(self.outs, options, strict=False):
            args = [self.config, self.lock, str(LIFETIME), str(out), json.dumps(extra)]
            command = [sys.executable, "-m", "tests.integration.mp_worker", *args]
            self.procs.append(subprocess.Popen(command, cwd=ROOT))
        deadline = time.time() + STARTUP
        while not all(Path(f"{out}.ready").exists() for out in self.outs[: len(self.procs)]):
            assert time.time() < deadline, "the scheduler processes did not start"
            assert all(proc.poll() is None for proc in self.procs), "a scheduler process died"
            time.sleep(0.05)

    def seed(self, backend: Backend, lead: float) -> None:
        """Add the tasks, their first fire ``lead`` seconds from now."""
        self.start = seed_tasks(backend, lead)

    def rows(self, index: int | None = None, suffix: str = "") -> list[list[str]]:
        outs = self.outs if index is None else [self.outs[index]]
        paths = [Path(f"{out}{suffix}") for out in outs]
        return [
            line.split("\t") for p in paths if p.exists() for line in p.read_text().splitlines()
        ]

    def fires(self) -> list[tuple[str, float, int, float]]:
        """(task id, offset, pid, lateness in seconds) of every fire started."""
        return [
            (task_id, round(float(when) - self.start, 3), int(pid), float(began) - float(when))
            for task_id, when, pid, began in self.rows()
        ]

    def finish(self, expected: set[Fire]) -> None:
        """Let the workers run until the end of the window and its margin, and on until
        every ``expected`` fire has run (or the deadline); then stop them."""
        wait_until(self.start + WINDOW + END_MARGIN)
        deadline = self.start + WINDOW + DEADLINE
        while time.time() < deadline and not expected <= {f[:2] for f in self.fires()}:
            time.sleep(0.2)
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()  # a clean shutdown: its runs end
        for proc in self.procs:
            proc.wait(timeout=30)

    def kill_all(self) -> None:
        """Kill the workers still running (the test failed, or they did not stop)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def run_workers(backend: Backend, tmp_path: Path, kill_one_after: float | None):  # type: ignore[no-untyped-def]
    workers = Workers(backend, tmp_path)
    killed_pid = None
    try:
        workers.spawn([{}] * PROCESSES)
        workers.seed(backend, lead=2.0)
        if kill_one_after is not None:
            wait_until(workers.start + kill_one_after)
            killed_pid = workers.procs[0].pid
            os.kill(killed_pid, signal.SIGKILL)
        workers.finish(expected_fires())
    finally:
        workers.kill_all()
    return expected_fires(), workers.fires(), killed_pid


def summarize(name: str, expected: set[Fire], fires: list) -> tuple[Counter, set]:  # type: ignore[type-arg]
    counts = Counter((task_id, offset) for task_id, offset, *_ in fires)
    missing = expected - set(counts)
    duplicated = {key for key, count in counts.items() if count > 1 and key in expected}
    latest = max((late for *_, late in fires), default=0.0)
    print(
        f"\n{name}: expected {len(expected)}, ran {sum(counts[k] for k in expected)}, "
        f"duplicated {len(duplicated)}, missing {len(missing)}, latest start {latest:.2f} s "
        f"after its time (load average {os.getloadavg()[0]:.1f})"
    )
    return counts, missing


def assert_doubles_only_of(killed_pid: int, expected: set[Fire], fires: list) -> None:  # type: ignore[type-arg]
    by_key: dict[Fire, list[int]] = {}
    for task_id, offset, pid, _ in fires:
        by_key.setdefault((task_id, offset), []).append(pid)
    doubles = {key: pids for key, pids in by_key.items() if len(pids) > 1 and key in expected}
    # Only a fire the killed process had started (and recorded) may have run again elsewhere.
    assert all(killed_pid in pids and len(pids) == 2 for pids in doubles.values()), doubles
    print(f"  fires run twice because their scheduler was killed mid-run: {len(doubles)}")


def test_each_fire_runs_exactly_once(shared_backend: Backend, tmp_path: Path) -> None:
    expected, fires, _ = run_workers(shared_backend, tmp_path, None)
    counts, missing = summarize(shared_backend.name, expected, fires)
    assert not missing, sorted(missing)[:10]
    assert all(counts[key] == 1 for key in expected), [k for k in expected if counts[k] > 1][:10]
    assert len({pid for _, _, pid, _ in fires}) >= (1 if shared_backend.name in NEEDS_LOCK else 2)


def test_a_killed_scheduler_loses_nothing(shared_backend: Backend, tmp_path: Path) -> None:
    expected, fires, killed_pid = run_workers(shared_backend, tmp_path, kill_one_after=WINDOW / 2)
    _, missing = summarize(f"{shared_backend.name} (one SIGKILLed)", expected, fires)
    assert not missing, sorted(missing)[:10]
    assert killed_pid is not None
    assert_doubles_only_of(killed_pid, expected, fires)


def test_a_scheduler_stopped_holding_claims_loses_nothing(
    shared_backend: Backend, tmp_path: Path
) -> None:
    """procs[0] claims the first fires a second ahead (``claim_ahead=1``), is SIGSTOPped
    before they are due, stays stopped until a lease past the end of its leases, then is
    SIGKILLed: the three others take its claims over once they lapse and run every fire."""
    workers = Workers(shared_backend, tmp_path)
    expected = expected_fires()
    try:
        workers.spawn([{"claim_ahead": CLAIM_AHEAD}] + [{}] * (PROCESSES - 1))
        workers.seed(shared_backend, lead=2.5)
        deadline = workers.start + 5.0
        while not workers.rows(0, ".submitted"):  # it has claimed
            assert time.time() < deadline, "the first scheduler claimed nothing"
            time.sleep(0.01)
        stopped = workers.procs[0].pid
        os.kill(stopped, signal.SIGSTOP)
        stopped_at = time.time()
        # its leases run from the run time it claimed for (claim time + claim_ahead)
        lease_end = float(workers.rows(0, ".submitted")[0][2]) + CLAIM_AHEAD + LEASE
        wait_until(lease_end + LEASE)  # the others take over while it is still stopped
        os.kill(stopped, signal.SIGKILL)
        killed_at = time.time()
        workers.finish(expected)
    finally:
        workers.kill_all()
    fires = workers.fires()
    _, missing = summarize(f"{shared_backend.name} (one SIGSTOPped)", expected, fires)
    claimed = {
        (task_id, round(float(when) - workers.start, 3))
        for task_id, whens, _ in workers.rows(0, ".submitted")
        for when in whens.split(",")
    }
    held = claimed - {(task_id, offset) for task_id, offset, pid, _ in fires if pid == stopped}
    assert held, "the stopped scheduler held no claim: the test did not test a takeover"
    taken_over = [f for f in fires if f[:2] in held and f[2] != stopped]
    began = [workers.start + offset + late for _, offset, _, late in taken_over]
    first, last = min(began, default=float("nan")), max(began, default=float("nan"))
    print(
        f"  stopped {stopped_at - workers.start:+.2f} s from the start holding {len(held)} "
        f"unrun fire(s), its leases ending {lease_end - workers.start:+.2f} s, killed "
        f"{killed_at - workers.start:+.2f} s; the first taken over ran "
        f"{first - workers.start:+.2f} s, the last {last - workers.start:+.2f} s"
    )
    assert not missing, sorted(missing)[:10]
    assert_doubles_only_of(stopped, expected, fires)
