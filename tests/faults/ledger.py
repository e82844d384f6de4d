"""The ledger of a fault test: which (task, scheduled time) pairs were expected, ran, ran
more than once, or never ran; and which repeats a kill explains."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from asyncz_like.schedulers import BackgroundScheduler
from asyncz_like.schedulers.base import BaseScheduler
from asyncz_like.triggers import IntervalTrigger
from tests.stores.backends import Backend

TASKS, INTERVAL = 10, 0.5

Fire = tuple[str, float, float, int]  # task id, offset of the scheduled time, started, pid


def seed(scheduler: BaseScheduler, start: datetime) -> None:
    """TASKS interval tasks every INTERVAL from ``start``, with the defaults a user has
    (``max_instances=1``), every missed fire run (no coalescing, no grace limit)."""
    for index in range(TASKS):
        scheduler.add_task(
            "tests.faults.worker:fire",
            IntervalTrigger(seconds=INTERVAL, start_at=start),
            id=f"task-{index:02d}",
            next_run_time=start,  # also when seeding ends after it (a slow first connection)
            coalesce=False,
            mistrigger_grace_time=None,
        )


def seed_store(backend: Backend, start: datetime) -> None:
    """Store the tasks of :func:`seed` in ``backend``, through a scheduler started paused."""
    scheduler = BackgroundScheduler(timezone="UTC", stores={"default": backend.make()})
    scheduler.start(paused=True)
    seed(scheduler, start)
    scheduler.shutdown()


def expected_fires(window: float) -> set[tuple[str, float]]:
    steps = int(window / INTERVAL) + 1
    return {(f"task-{i:02d}", round(k * INTERVAL, 3)) for i in range(TASKS) for k in range(steps)}


def read_fires(paths: list[Path], start: datetime) -> list[Fire]:
    base = start.timestamp()
    fires: list[Fire] = []
    for path in paths:
        if path.exists():
            for line in path.read_text().splitlines():
                parts = line.split("\t")
                if len(parts) == 4:  # a line cut by a SIGKILL is not a fire
                    task_id, scheduled, started, pid = parts
                    fires.append((task_id, round(float(scheduled) - base, 3),
                                  float(started) - base, int(pid)))  # fmt: skip
    return fires


@dataclass
class Ledger:
    name: str
    expected: set[tuple[str, float]]
    fires: list[Fire]
    killed: set[int] = field(default_factory=set)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.pids: dict[tuple[str, float], list[int]] = {}
        for task_id, offset, _, pid in self.fires:
            self.pids.setdefault((task_id, offset), []).append(pid)
        counts = Counter({key: len(pids) for key, pids in self.pids.items()})
        self.ran = sum(counts[key] for key in self.expected)
        self.missing = sorted(self.expected - set(counts))
        self.repeated = sorted(k for k in self.expected if counts[k] > 1)

    @property
    def unexplained(self) -> list[tuple[str, float]]:
        """Repeats a kill does not explain: a fire may run again elsewhere only once, after
        the killed process started it and died before its release was written."""
        return [
            key for key in self.repeated
            if len(self.pids[key]) != 2 or not self.killed & set(self.pids[key])
            or len(set(self.pids[key])) != 2
        ]  # fmt: skip

    def latest(self, after: float) -> float:
        """The greatest lateness of a fire scheduled at or after ``after`` (seconds)."""
        return max(
            (started - offset for _, offset, started, _ in self.fires if offset >= after),
            default=0.0,
        )

    def report(self) -> str:
        line = (
            f"{self.name}: expected {len(self.expected)}, ran {self.ran}, repeated "
            f"{len(self.repeated)} (unexplained {len(self.unexplained)}), missing "
            f"{len(self.missing)}, {self.seconds:.1f} s"
        )
        print(f"\n{line}")
        return line

    def check(self) -> None:
        summary = self.report()
        assert not self.missing, f"{summary}; missing: {self.missing[:10]}"
        assert not self.unexplained, f"{summary}; repeated: {self.unexplained[:10]}"


def after(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)
