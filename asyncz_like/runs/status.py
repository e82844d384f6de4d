"""Run statuses, the one table of legal moves between them, and priorities."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, StrEnum

from asyncz_like.exceptions import InvalidRunTransitionError


class RunStatus(StrEnum):
    """Where a run is in its life. The values are the lower-case names (JSON friendly)."""

    PENDING = "pending"  # waiting for its time or for a free worker
    RUNNING = "running"  # an attempt is executing
    RETRYING = "retrying"  # an attempt failed; the next one waits for its backoff
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"

    @property
    def finished(self) -> bool:
        """Whether this status is final (no move leaves it)."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMEOUT}
)

#: Every legal move. PENDING/RETRYING -> FAILED is a run its executor refused to take.
TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED}),
    RunStatus.RUNNING: frozenset(
        {
            RunStatus.COMPLETED,
            RunStatus.FAILED,
            RunStatus.CANCELLED,
            RunStatus.TIMEOUT,
            RunStatus.RETRYING,
        }
    ),
    RunStatus.RETRYING: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
    RunStatus.TIMEOUT: frozenset(),
}


def check_transition(run_id: str, old: RunStatus, new: RunStatus) -> None:
    """Raise InvalidRunTransitionError unless ``old -> new`` is in :data:`TRANSITIONS`."""
    if new not in TRANSITIONS[old]:
        raise InvalidRunTransitionError(run_id, old, new)


class TaskPriority(IntEnum):
    """Names for priorities. Any int is a priority; higher ones start first."""

    LOW = -10
    NORMAL = 0
    HIGH = 10
    CRITICAL = 20
