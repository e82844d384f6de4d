"""The workers known to the SQL broker: one row each in ``<tablename>_workers``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers.base import WorkerRegistry
from asyncz_like.brokers.records import WorkerInfo
from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.schema import from_micros, to_micros


class SQLWorkerRegistry(WorkerRegistry):
    """Worker rows in the broker's database. Opened by ``attach`` on a database made before
    this table existed, it lists no workers until a worker's start creates the table."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = db.workers_table
        self.exists = False  # known to exist: set by start, or found by a read

    def put(self, info: WorkerInfo) -> None:
        t = self.table
        row = _row_of(info)

        def replace_row(connection: sa.Connection) -> None:
            connection.execute(sa.delete(t).where(t.c.id == info.worker_id))
            connection.execute(sa.insert(t).values(row))

        self.db.run(replace_row)

    def beat(self, worker_id: str, busy: int, now: datetime) -> bool:
        t = self.table
        statement = (
            sa.update(t).where(t.c.id == worker_id).values(busy=busy, last_heartbeat=to_micros(now))
        )
        # relaxed: a heartbeat lost in a server crash costs nothing, the next one says the same
        return self.db.update_one(statement)

    def remove(self, worker_id: str) -> bool:
        t = self.table
        statement = sa.delete(t).where(t.c.id == worker_id)
        return self.db.run(lambda connection: connection.execute(statement).rowcount == 1)

    def all(self) -> list[WorkerInfo]:
        if not self._found():
            return []
        query = sa.select(self.table)
        rows = self.db.run(lambda connection: list(connection.execute(query)), write=False)
        return [_info_of(row) for row in rows]

    def forget(self, before: datetime) -> int:
        if not self._found():
            return 0
        t = self.table
        statement = sa.delete(t).where(t.c.last_heartbeat < to_micros(before))
        return int(self.db.run(lambda connection: connection.execute(statement).rowcount))

    def _found(self) -> bool:
        """Whether the table exists (looked for until found: a reader attached to a database
        of an older version finds it once a worker of this version has started)."""
        if not self.exists:
            name = self.table.name
            self.exists = self.db.retry(lambda: sa.inspect(self.db.engine).has_table(name))
        return self.exists


def _row_of(info: WorkerInfo) -> dict[str, Any]:
    return {
        "id": info.worker_id,
        "hostname": info.hostname[:255],
        "pid": info.pid,
        "queues": json.dumps(list(info.queues)),
        "concurrency": info.concurrency,
        "busy": info.busy,
        "started_at": to_micros(info.started_at),
        "last_heartbeat": to_micros(info.last_heartbeat),
        "heartbeat_seconds": info.heartbeat_seconds,
        "version": info.version[:64],
    }


def _info_of(row: Any) -> WorkerInfo:
    started, last = from_micros(row.started_at), from_micros(row.last_heartbeat)
    assert started is not None and last is not None  # NOT NULL columns
    return WorkerInfo(
        row.id,
        row.hostname,
        row.pid,
        tuple(json.loads(row.queues)),
        row.concurrency,
        started,
        last,
        row.busy,
        float(row.heartbeat_seconds),
        row.version,
    )
