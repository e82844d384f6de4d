"""A task's schedule: its state, its run times, and how they move (a clock step, the same
task added again)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from asyncz_like.enums import TaskScheduleState
from asyncz_like.limits import shifted
from asyncz_like.tasks.definition import Definition, definition_changes
from asyncz_like.triggers import IntervalTrigger
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import datetime_repr

#: At most this many missed run times are listed for one fire; see ``get_run_times``.
MAX_RUN_TIMES = 1000


class Scheduled(Definition, Protocol):
    """What the schedule methods read and set of a task."""

    next_run_time: datetime | None

    @property
    def name(self) -> str | None: ...
    @property
    def pending(self) -> bool: ...

    @property
    def anchor(self) -> datetime | None: ...
    def set_trigger(self, trigger: BaseTrigger | None, anchor: datetime | None) -> None: ...
    def run_times_from(
        self, first: datetime | None, timezone: tzinfo, now: datetime, limit: int
    ) -> tuple[list[datetime], datetime | None]: ...


class TaskSchedule:
    """The schedule methods of :class:`~asyncz_like.tasks.task.Task` (a base class of Task:
    it holds no state)."""

    __slots__ = ()

    @property
    def schedule_state(self: Scheduled) -> TaskScheduleState:
        """Pending (added before start), paused (no next run time) or scheduled."""
        if self.pending:
            return TaskScheduleState.PENDING
        if self.next_run_time is None:
            return TaskScheduleState.PAUSED
        return TaskScheduleState.SCHEDULED

    @property
    def paused(self: Scheduled) -> bool:
        """Whether the task is paused: added (not pending) and without a next run time."""
        return not self.pending and self.next_run_time is None

    def shift_schedule(self: Scheduled, step: timedelta) -> None:
        """Move the next run time and the phase of an interval (its anchor, or its
        ``start_at``) by ``step``: after the wall clock stepped by ``step``, an interval task's
        next fire then comes after the same elapsed time as before."""
        task = self  # mypy would take ``self.next_run_time = ...`` for the mixin's own slot
        seconds = step.total_seconds()
        if task.next_run_time is not None:
            task.next_run_time = shifted(task.next_run_time, seconds)
        anchor, trigger = self.anchor, self.unanchored_trigger
        if anchor is not None:
            self.set_trigger(trigger, shifted(anchor, seconds))
        elif isinstance(trigger, IntervalTrigger):
            self.set_trigger(trigger.moved(step), None)

    # -- the same task, defined again --------------------------------------------------------

    def changes_from(self: Scheduled, stored: Scheduled) -> frozenset[str]:
        """The names of what this task defines differently from ``stored`` (the same id,
        read from a store): ``"fn"``, ``"trigger"``, ``"args"``, ... Its next run time is
        not part of the definition, nor is an interval's anchor (its start given when the
        task was first added)."""
        return definition_changes(self, stored)

    def adopt_schedule(self: Scheduled, stored: Scheduled) -> None:
        """Take the next run time of ``stored`` and, for an interval without ``start_at``,
        its anchor: this object then fires as the stored task does."""
        task = self  # mypy would take ``self.next_run_time = ...`` for the mixin's own slot
        task.next_run_time = stored.next_run_time
        mine, theirs = self.unanchored_trigger, stored.trigger
        if (
            isinstance(mine, IntervalTrigger)
            and mine.start_at is None
            and isinstance(theirs, IntervalTrigger)
        ):
            self.set_trigger(mine, theirs.start_at)

    def get_run_times(
        self: Scheduled, timezone: tzinfo, now: datetime, limit: int = MAX_RUN_TIMES
    ) -> list[datetime]:
        """Run times from ``next_run_time`` up to ``now``, oldest first, at most ``limit``."""
        return self.run_times_from(self.next_run_time, timezone, now, limit)[0]

    def run_times_from(
        self: Scheduled, first: datetime | None, timezone: tzinfo, now: datetime, limit: int
    ) -> tuple[list[datetime], datetime | None]:
        """The trigger's fires from ``first`` up to ``now`` (at most ``limit``), and the fire
        after the last one listed."""
        run_times: list[datetime] = []
        next_time = first
        trigger = self.trigger
        while next_time is not None and next_time <= now and len(run_times) < limit:
            run_times.append(next_time)
            next_time = trigger.get_next_trigger_time(timezone, next_time, now) if trigger else None
        return run_times, next_time

    def __str__(self: Scheduled) -> str:
        status = f"next run at: {datetime_repr(self.next_run_time)}"
        if self.pending:
            status = "pending"
        elif self.next_run_time is None:
            status = "paused"
        return f"{self.name} (trigger: {self.trigger}, {status})"
