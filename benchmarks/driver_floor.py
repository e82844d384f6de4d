"""The commit floor under a one-run enqueue to the SQL broker, measured in the same run.

A one-run enqueue is one durable committed INSERT. Here the driver alone (psycopg, PyMySQL or
sqlite3, on a connection of the broker's engine taken out of its pool) inserts ``count`` rows
like the broker's (the row of a run of ``TARGET``, made by the broker's own code) into a
scratch table of the broker's schema and indexes, one autocommitted ``INSERT`` each: no
SQLAlchemy, no envelope, no ``ON CONFLICT``, no NOTIFY. Nothing that enqueues one run at a
time through this driver and server can go faster; the gap to it is our own CPU.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from asyncz_like.brokers.records import Envelope
from asyncz_like.brokers.sqlalchemy.rows import new_batch, row_of
from asyncz_like.brokers.sqlalchemy.schema import build_table


def driver_floor(broker: Any, target: str, count: int) -> tuple[float, float]:
    """Rows per second and CPU µs per row of one-row autocommitted INSERTs through the raw
    driver of ``broker`` (a SQLAlchemyBroker), into a scratch table dropped afterwards."""
    db = broker.db
    table = build_table(f"{db.table.name}_floor", db.dialect)
    table.create(db.engine)
    raw = db.engine.raw_connection()
    driver = raw.driver_connection
    raw.detach()  # ours now: its autocommit switched on, closed at the end, never pooled
    try:
        _autocommit(driver, db.dialect)
        insert = _insert_statement(table, db)
        now = datetime.now(UTC)
        rows = [_row(broker, target, index, now) for index in range(-10, count)]
        cursor = driver.cursor()
        for row in rows[:10]:  # the first statements of a connection prepare and cache
            cursor.execute(insert, row)
        cpu, wall = time.process_time(), time.perf_counter()
        for row in rows[10:]:
            cursor.execute(insert, row)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        cursor.close()
    finally:
        driver.close()
        table.drop(db.engine)
    return count / wall, cpu / count * 1e6


def _autocommit(driver: Any, dialect: str) -> None:
    if dialect == "postgresql":
        driver.autocommit = True
    elif dialect in ("mysql", "mariadb"):
        driver.autocommit(True)
    # sqlite3: the engine's connections are in autocommit already (isolation_level None)


def _insert_statement(table: Any, db: Any) -> str:
    names = ["id", "queue", "priority", "due", "created_at", "max_deliveries", "task_id"]
    names += ["name", "payload"] if db.is_postgresql else ["name", "payload", "batch"]
    marks = ", ".join(f":{name}" if db.is_sqlite else f"%({name})s" for name in names)
    quoted = db.engine.dialect.identifier_preparer.quote(table.name)
    return f"INSERT INTO {quoted} ({', '.join(names)}) VALUES ({marks})"


def _row(broker: Any, target: str, index: int, now: datetime) -> dict[str, Any]:
    envelope = Envelope(uuid.uuid4().hex, target, args=(index,), name=target.split(":")[-1])
    return row_of(envelope, now, new_batch(), broker.serializer)
