"""Observers of ended runs: a hook for metrics, told of the runs the scheduler counts, in
batches off the fire's path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from asyncz_like.runs.status import RunStatus


@dataclass(slots=True)
class EndedRuns:
    """Runs that ended (COMPLETED, FAILED, TIMEOUT or CANCELLED), as columns of equal length,
    one entry per run in the order they ended.

    ``queue`` is the broker queue of them all (None: they ran in this process). ``task_ids``
    is the id of the task that fired each run (None for submitted work); ``names`` the run's
    name (the task's, or the function's); ``durations`` the seconds of its latest attempt
    (None when it never started); ``lateness`` the seconds from a fire's scheduled time to its
    start (None for submitted work and runs never started); ``ended_at`` when each run ended,
    in POSIX seconds (empty when the teller does not say: a batch built by hand).
    """

    queue: str | None = None
    task_ids: Sequence[str | None] = field(default_factory=list)
    names: Sequence[str | None] = field(default_factory=list)
    statuses: Sequence[RunStatus] = field(default_factory=list)
    durations: Sequence[float | None] = field(default_factory=list)
    lateness: Sequence[float | None] = field(default_factory=list)
    ended_at: Sequence[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.statuses)


class RunObserver(Protocol):
    """Told of the runs that ended, as the scheduler counts them for :meth:`stats`.

    It is called with the scheduler's run lock held, on whichever thread counts the runs:
    keep it short (add to counters), never block, never call the scheduler back. Fires are
    counted in batches when the records are read or the loop compacts them, so a fire is
    told some time after it ended (at the latest when someone reads runs or stats).
    """

    def runs_ended(self, ended: EndedRuns) -> None: ...
