"""A ledger of fires for fault tests: what was expected, what ran, what ran twice, what never
ran. Intervals are expected by elapsed time, cron tasks by the wall times the clock reached."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.helpers import FakeClock


@dataclass
class LedgerReport:
    """Per task: ``expected`` and ``ran`` fires (counts), the fires that ran more than once
    (``repeated``), those expected that never ran (``missing``), and those that ran though
    none was expected then (``extra``: an interval off its spacing)."""

    expected: int = 0
    ran: int = 0
    repeated: dict[str, list[Any]] = field(default_factory=dict)
    missing: dict[str, list[Any]] = field(default_factory=dict)
    extra: dict[str, list[Any]] = field(default_factory=dict)

    def text(self) -> str:
        return (
            f"expected {self.expected}, ran {self.ran}, repeated {_count(self.repeated)}, "
            f"missing {_count(self.missing)}, extra {_count(self.extra)}; "
            f"repeated={self.repeated} missing={self.missing} extra={self.extra}"
        )

    @property
    def clean(self) -> bool:
        return not (self.repeated or self.missing or self.extra)


def _count(found: dict[str, list[Any]]) -> int:
    return sum(len(items) for items in found.values())


class FireLedger:
    """Listens to TASK_EXECUTED events. An interval's fire is its elapsed second (from the
    ledger's start), a cron fire its scheduled run time; call :meth:`saw` with each wall time
    the clock shows, so that the minutes it reached are expected once each."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.start_elapsed = clock.elapsed
        self.start_wall = clock.now()
        self.latest_wall = clock.now()
        self.intervals: dict[str, float] = {}
        self.crons: dict[str, int] = {}
        self.fires: dict[str, list[Any]] = {}

    def expect_interval(self, task_id: str, seconds: float) -> None:
        self.intervals[task_id] = seconds

    def expect_cron(self, task_id: str, every_minutes: int) -> None:
        self.crons[task_id] = every_minutes

    def saw(self, wall: datetime) -> None:
        self.latest_wall = max(self.latest_wall, wall)

    def listener(self, event: Any) -> None:
        if event.task_id in self.intervals:
            fire: Any = round(self.clock.elapsed - self.start_elapsed, 6)
        else:
            fire = event.scheduled_run_time
        self.fires.setdefault(event.task_id, []).append(fire)

    def report(self) -> LedgerReport:
        report = LedgerReport()
        for task_id in [*self.intervals, *self.crons]:
            expected = self._expected(task_id)
            ran = Counter(self.fires.get(task_id, []))
            report.expected += len(expected)
            report.ran += sum(ran.values())
            repeated = sorted(fire for fire, times in ran.items() if times > 1)
            missing = sorted(set(expected) - set(ran))
            extra = sorted(set(ran) - set(expected))
            for found, items in (
                (report.repeated, repeated), (report.missing, missing), (report.extra, extra),
            ):  # fmt: skip
                if items:
                    found[task_id] = items
        return report

    def _expected(self, task_id: str) -> list[Any]:
        if task_id in self.intervals:
            interval = self.intervals[task_id]
            elapsed = self.clock.elapsed - self.start_elapsed
            return [round(k * interval, 6) for k in range(1, int(elapsed // interval) + 1)]
        every = self.crons[task_id]
        first = self.start_wall.replace(second=0, microsecond=0)
        times: list[Any] = []
        moment = first
        while moment <= self.latest_wall:
            if moment >= self.start_wall and moment.minute % every == 0:
                times.append(moment)
            moment += timedelta(minutes=1)
        return times
