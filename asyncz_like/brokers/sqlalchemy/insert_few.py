"""Enqueue of a few runs: a ``submit``, or the submits of a few threads sent together, the
hottest call of a process that only enqueues. One plain ``VALUES`` statement, run by the
driver itself (:meth:`.Database.driver_alone`): no arrays, no SQLAlchemy Connection.

* PostgreSQL: ``INSERT ... VALUES ... ON CONFLICT DO NOTHING RETURNING id`` with the NOTIFY
  of its queues in the same statement, in autocommit: one round trip;
* MariaDB/MySQL: ``INSERT IGNORE ... VALUES`` in autocommit, on the second engine the broker
  keeps for it (one round trip), or with its COMMIT on an engine given by the user; its row
  count tells whether all rows were added or none, else a read of this enqueue's batch mark;
* SQLite: ``INSERT ... VALUES ... ON CONFLICT DO NOTHING RETURNING id`` in autocommit: one
  statement is one transaction, which takes the write lock as it begins (waiting up to the
  busy timeout, as ``BEGIN IMMEDIATE`` does) and commits as durably as any other.

Measured per one-row insert (CPU, the test machine): PostgreSQL 649 µs through the arrays
(text arrays then, as :class:`.inserts.ArrayInserts` sent them through SQLAlchemy), 332 µs
with a VALUES statement through ``exec_driver_sql`` (dumping nine arrays cost 130-180 µs, a
``text()`` clause 60-75 µs), 226 µs through the driver (bare psycopg: 147 µs); MariaDB 388
µs through SQLAlchemy, 265 µs through the driver with its COMMIT (bare PyMySQL: 171 µs with
the COMMIT, 108 µs and a quarter more inserts per second in autocommit; load 4.6).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.rows import among

#: The most runs an enqueue sends through :class:`FewRowInserts`; more go through
#: :mod:`.inserts` (nine parameters per row: a statement of thousands of rows costs more to
#: build than to run). Sixteen queue names of at most 191 characters stay under a NOTIFY
#: payload's limit of 4,000 (MAX_PAYLOAD).
FEW = 16
#: The columns a new row gives (the others have server defaults); PostgreSQL and SQLite
#: have no use for the batch mark, which tells MariaDB's rows added apart.
_COLUMNS = ("id", "queue", "priority", "due", "created_at", "max_deliveries", "task_id", "name",
            "payload")  # fmt: skip


class FewRowInserts:
    """Inserts of 1 to :data:`FEW` rows into the run table of ``db``, one statement per
    number of rows, built once."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.returns = db.is_postgresql or db.is_sqlite  # the ids added: RETURNING tells
        self.columns = _COLUMNS if self.returns else (*_COLUMNS, "batch")
        self._mark = ":{}" if db.is_sqlite else "%({})s"  # the driver's parameter style
        self._table = db.engine.dialect.identifier_preparer.quote(db.table.name)
        self._statements: dict[int, str] = {}

    def insert(self, rows: list[dict[str, Any]], batch: str, channel: str) -> set[str]:
        """Insert ``rows`` (made by ``row_of`` with the mark ``batch``; distinct ids) unless
        their id exists: the ids added. PostgreSQL notifies ``channel``."""
        statement = self._statements.get(len(rows)) or self._statement(len(rows))
        parameters = {f"{name}_{index}": row[name] for index, row in enumerate(rows)
                      for name in self.columns}  # fmt: skip
        if self.db.is_postgresql:
            parameters["channel"] = channel
        found, count = self.db.driver_alone(statement, parameters)
        if self.returns:
            return {run_id for (run_id,) in found if run_id is not None}  # None: the NOTIFY's
        if count in (0, len(rows)):
            return {row["id"] for row in rows} if count else set()
        t = self.db.table  # some were there already: which are this enqueue's
        mine = sa.select(t.c.id).where(
            among(t.c.id, [row["id"] for row in rows]), t.c.batch == batch
        )
        return set(self.db.run(lambda connection: list(connection.scalars(mine)), write=False))

    def _statement(self, count: int) -> str:
        rows = ", ".join(
            f"({', '.join(self._mark.format(f'{name}_{index}') for name in self.columns)})"
            for index in range(count)
        )
        into = f"INTO {self._table} ({', '.join(self.columns)}) VALUES {rows}"
        if self.db.is_sqlite:
            statement = f"INSERT {into} ON CONFLICT (id) DO NOTHING RETURNING id"
        elif not self.db.is_postgresql:
            statement = f"INSERT IGNORE {into}"
        else:
            statement = (
                f"WITH added AS (INSERT {into} ON CONFLICT (id) DO NOTHING RETURNING id, queue), "
                "told AS (SELECT pg_notify(%(channel)s, string_agg(DISTINCT queue, E'\\n' "
                "ORDER BY queue)) FROM added HAVING count(*) > 0) "
                "SELECT id FROM added UNION ALL SELECT NULL FROM told"
            )
        self._statements[count] = statement
        return statement
