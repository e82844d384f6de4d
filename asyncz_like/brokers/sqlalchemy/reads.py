"""The SQL broker's reads and clean-up: counts per queue, due work, old runs deleted."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers.records import QueueStats
from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.inserts import CHUNK
from asyncz_like.brokers.sqlalchemy.rows import among
from asyncz_like.brokers.sqlalchemy.schema import is_waiting
from asyncz_like.runs.status import FINAL_STATUSES, RunStatus

WAITING = (RunStatus.PENDING.value, RunStatus.RETRYING.value)
_FINAL = tuple(status.value for status in FINAL_STATUSES)
_PENDING = RunStatus.PENDING.value


def queue_stats(db: Database, moment: int) -> dict[str, QueueStats]:
    """Per queue, the runs in each state at ``moment`` (one GROUP BY)."""
    t = db.table
    later = sa.case((t.c.due > moment, 1), else_=0)
    query = sa.select(t.c.queue, t.c.status, t.c.priority, later, sa.func.count()).group_by(
        t.c.queue, t.c.status, t.c.priority, later
    )
    rows = db.run(lambda connection: list(connection.execute(query)), write=False)
    counts: dict[str, QueueStats] = {}
    for queue, status, priority, is_later, count in rows:
        stats = counts.setdefault(queue, QueueStats())
        if status == _PENDING and is_later:
            stats.scheduled += count
        elif status == _PENDING:
            stats.pending[priority] = stats.pending.get(priority, 0) + count
        else:
            setattr(stats, status, getattr(stats, status) + count)
    return counts


def delete_finished(db: Database, moment: int) -> int:
    """Delete the runs finished before ``moment``, CHUNK per transaction; how many."""
    t = db.table
    old = sa.select(t.c.id).where(t.c.finished_at < moment, among(t.c.status, _FINAL))

    def delete_some(connection: sa.Connection) -> int:
        ids = list(connection.scalars(old.limit(CHUNK)))
        if ids:
            connection.execute(sa.delete(t).where(among(t.c.id, ids)))
        return len(ids)

    deleted = 0
    while count := db.run(delete_some):
        deleted += count
    return deleted


def has_due_work(db: Database, queues: tuple[str, ...], moment: int) -> bool:
    """Whether a run of ``queues`` waits, due at ``moment``."""
    t = db.table
    query: Any = (
        sa.select(t.c.id).where(is_waiting(), among(t.c.queue, queues), t.c.due <= moment).limit(1)
    )
    return db.run(lambda connection: connection.scalar(query), write=False) is not None
