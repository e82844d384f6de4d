"""Enqueue of one run, a ``submit``: the hottest call of a process that only enqueues. One
plain statement, run by the driver itself (:meth:`.Database.driver_alone`): no arrays, no
SQLAlchemy Connection around it.

* PostgreSQL: ``INSERT ... VALUES ... ON CONFLICT DO NOTHING RETURNING id`` with the NOTIFY
  of its queue in the same statement, in autocommit: one round trip;
* MariaDB/MySQL: ``INSERT IGNORE ... VALUES`` in autocommit, on the second engine the broker
  keeps for it (one round trip), or with its COMMIT on an engine given by the user; its row
  count tells whether the row was added (no batch mark to read back);
* SQLite: none; its enqueues begin IMMEDIATE through SQLAlchemy (:mod:`.inserts`).

Measured per one-row insert (CPU, the test machine): PostgreSQL 649 µs through the arrays
of :func:`.inserts.unnest_insert` and SQLAlchemy, 332 µs with this statement through
``exec_driver_sql`` (dumping nine arrays cost 130-180 µs, a ``text()`` clause 60-75 µs),
226 µs through the driver (bare psycopg: 147 µs); MariaDB 388 µs through SQLAlchemy, 265 µs
through the driver with its COMMIT (bare PyMySQL: 171 µs with the COMMIT, 108 µs and a
quarter more inserts per second in autocommit; load 4.6).
"""

from __future__ import annotations

from typing import Any

from asyncz_like.brokers.sqlalchemy.database import Database

#: The columns a new row gives (the others have server defaults); PostgreSQL has no use
#: for the batch mark, which tells MariaDB's rows added apart in a batch.
_COLUMNS = ("id", "queue", "priority", "due", "created_at", "max_deliveries", "task_id", "name",
            "payload")  # fmt: skip


def one_row_insert(db: Database) -> str | None:
    """The statement inserting one row (in the driver's ``%(name)s`` style) on PostgreSQL
    (its NOTIFY on ``%(channel)s``, none when the id existed; its ``id`` column has the id
    when added, and a NULL when it notified) or MariaDB/MySQL; None on SQLite."""
    table = db.engine.dialect.identifier_preparer.quote(db.table.name)
    if db.is_postgresql:
        return (
            f"WITH added AS (INSERT INTO {table} {_values(_COLUMNS)} "
            "ON CONFLICT (id) DO NOTHING RETURNING id, queue), "
            "told AS (SELECT pg_notify(%(channel)s, queue) FROM added) "  # a name: < 4,000
            "SELECT id FROM added UNION ALL SELECT NULL FROM told"
        )
    if db.is_sqlite:
        return None
    return f"INSERT IGNORE INTO {table} {_values((*_COLUMNS, 'batch'))}"


def insert_one(db: Database, statement: str, row: dict[str, Any], channel: str) -> set[str]:
    """Insert ``row`` (made by ``row_of``) with ``statement`` (:func:`one_row_insert`'s)
    unless its id exists: its id if added. PostgreSQL notifies ``channel``."""
    found, count = db.driver_alone(statement, {**row, "channel": channel})
    if db.is_postgresql:
        return {run_id for (run_id,) in found if run_id is not None}  # None: the NOTIFY's row
    return {row["id"]} if count == 1 else set()


def _values(columns: tuple[str, ...]) -> str:
    return f"({', '.join(columns)}) VALUES ({', '.join(f'%({name})s' for name in columns)})"
