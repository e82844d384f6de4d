"""The ledger of a clock-step fault test: several schedulers share a store and one fake clock
whose wall time steps both ways. Fires are keyed by (task, scheduled time) across every
scheduler: one that ran twice is repeated. A cron task is expected once for each of its
minutes that the wall clock reached. An interval is expected every ``interval`` of elapsed
time: a gap longer than that (by more than a pass) is a stall, its fires missing; a shorter
one is early, unless it comes at the pass after a step forward (the bounded catch-up). A
cron fire that starts more than a pass after the wall clock first reached its time is late
(one that waited out a step back)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.helpers import FakeClock

#: Seconds between two passes: how far off its spacing a fire may start.
TICK = 1.0


@dataclass
class StepReport:
    name: str
    expected: int = 0
    ran: int = 0
    caught_up: int = 0  # interval fires at the pass after a step forward
    repeated: list[tuple[str, Any]] = field(default_factory=list)
    missing: list[tuple[str, Any]] = field(default_factory=list)
    early: list[tuple[str, float]] = field(default_factory=list)
    late: list[tuple[str, datetime, float]] = field(default_factory=list)

    def text(self) -> str:
        return (
            f"{self.name}: expected {self.expected}, ran {self.ran} ({self.caught_up} caught "
            f"up after steps forward), repeated {len(self.repeated)}, missing "
            f"{len(self.missing)}, early {len(self.early)}, late {len(self.late)}"
        )

    def check(self) -> None:
        summary = self.text()
        print(f"\n{summary}")
        assert not self.repeated, f"{summary}; repeated: {self.repeated[:10]}"
        assert not self.missing, f"{summary}; missing: {self.missing[:10]}"
        assert not self.early, f"{summary}; early: {self.early[:10]}"
        assert not self.late, f"{summary}; late: {self.late[:10]}"


class StepLedger:
    """Listens to TASK_EXECUTED of every scheduler (:meth:`listener`); the test calls
    :meth:`saw` with each wall time the clock shows and :meth:`stepped` at each step."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.start_elapsed = clock.elapsed
        self.start_wall = self.latest_wall = clock.now()
        self.intervals: dict[str, float] = {}
        self.crons: dict[str, int] = {}
        self.forward_steps: list[float] = []  # elapsed seconds
        self.fires: dict[str, list[tuple[float, datetime]]] = {}
        self.walls: list[tuple[float, datetime]] = []  # (elapsed, wall) at each look

    def elapsed(self) -> float:
        return round(self.clock.elapsed - self.start_elapsed, 6)

    def expect_interval(self, task_id: str, seconds: float) -> None:
        self.intervals[task_id] = seconds

    def expect_cron(self, task_id: str, every_minutes: int) -> None:
        self.crons[task_id] = every_minutes

    def saw(self, wall: datetime) -> None:
        self.latest_wall = max(self.latest_wall, wall)
        self.walls.append((self.elapsed(), wall))

    def stepped(self, seconds: float) -> None:
        self.saw(self.clock.now())
        if seconds > 0:
            self.forward_steps.append(self.elapsed())

    def listener(self, event: Any) -> None:
        fire = (self.elapsed(), event.scheduled_run_time)
        self.fires.setdefault(event.task_id, []).append(fire)

    def report(self, name: str) -> StepReport:
        report = StepReport(name)
        for task_id in [*self.intervals, *self.crons]:
            fires = self.fires.get(task_id, [])
            report.ran += len(fires)
            # An interval's run times come again after a step back (it keeps its elapsed
            # spacing): one that ran twice then is a short gap, found by _check_spacing.
            keys = fires if task_id in self.intervals else [at for _, at in fires]
            counts = Counter(keys)
            report.repeated += [(task_id, key) for key, times in counts.items() if times > 1]
        for task_id, every in self.crons.items():
            expected = self._cron_times(every)
            report.expected += len(expected)
            seen = {scheduled for _, scheduled in self.fires.get(task_id, [])}
            report.missing += [(task_id, at) for at in expected if at not in seen]
            report.late += self._late(task_id)
        for task_id, interval in self.intervals.items():
            self._check_spacing(report, task_id, interval)
        return report

    def _check_spacing(self, report: StepReport, task_id: str, interval: float) -> None:
        times = [elapsed for elapsed, _ in self.fires.get(task_id, [])]
        report.expected += int(self.elapsed() // interval)
        previous = 0.0
        for at in times:
            gap = at - previous
            if gap > interval + TICK:
                report.missing.append((task_id, f"no fire from {previous} s to {at} s"))
            elif gap < interval - TICK:
                if self._at_forward_step(at):
                    report.caught_up += 1
                elif not self._at_forward_step(previous):  # after a catch-up: the wall's phase
                    report.early.append((task_id, at))
            previous = at
        if self.elapsed() - previous > interval + TICK:
            report.missing.append((task_id, f"no fire after {previous} s"))

    def _late(self, task_id: str) -> list[tuple[str, datetime, float]]:
        """The cron fires that started more than a pass after the wall clock first reached
        their run time: (task, run time, seconds late)."""
        late = []
        for elapsed, scheduled in self.fires.get(task_id, []):
            reached = next((at for at, wall in self.walls if wall >= scheduled), elapsed)
            if elapsed - reached > TICK:
                late.append((task_id, scheduled, elapsed - reached))
        return late

    def _at_forward_step(self, elapsed: float) -> bool:
        return any(abs(elapsed - step) <= TICK for step in self.forward_steps)

    def _cron_times(self, every: int) -> list[datetime]:
        moment = self.start_wall.replace(second=0, microsecond=0)
        times = []
        while moment <= self.latest_wall:
            if moment >= self.start_wall and moment.minute % every == 0:
                times.append(moment)
            moment += timedelta(minutes=1)
        return times
