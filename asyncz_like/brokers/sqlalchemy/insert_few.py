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

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers.records import Envelope
from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.rows import NEW_COLUMNS, among, new_values
from asyncz_like.serializers.base import BaseSerializer

#: The most runs an enqueue sends through :class:`FewRowInserts`; more go through
#: :mod:`.inserts` (nine parameters per row: a statement of thousands of rows costs more to
#: build than to run). Sixteen queue names of at most 191 characters stay under a NOTIFY
#: payload's limit of 4,000 (MAX_PAYLOAD).
FEW = 16


class FewRowInserts:
    """Inserts of 1 to :data:`FEW` rows into the run table of ``db``, one statement per
    number of rows, built once."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.returns = db.is_postgresql or db.is_sqlite  # the ids added: RETURNING tells
        # PostgreSQL and SQLite have no use for the batch mark, which tells MariaDB's rows
        # added apart
        self.columns = NEW_COLUMNS if self.returns else (*NEW_COLUMNS, "batch")
        # Positional parameters, in the driver's style: the values of a row in a list, no
        # name made per value (a dict of "id_0"...: 3 µs of a submit's CPU, psycopg's
        # reordering of it by name 1 more).
        self._mark = "?" if db.is_sqlite else "%s"
        self._table = db.engine.dialect.identifier_preparer.quote(db.table.name)
        self._statements: dict[int, str] = {}

    def insert(
        self, envelopes: list[Envelope], now: datetime, batch: str | None,
        serializer: BaseSerializer, channel: str,
    ) -> set[str]:  # fmt: skip
        """Insert the rows of ``envelopes`` (distinct ids) unless their id exists: the ids
        added. ``batch``: the mark of this enqueue's rows, needed where nothing is returned
        (MariaDB/MySQL). PostgreSQL notifies ``channel``."""
        statement = self._statements.get(len(envelopes)) or self.statement(len(envelopes))
        parameters = self.parameters(envelopes, now, batch, serializer, channel)
        found, count = self.db.driver_alone(statement, parameters, self.returns)
        if self.returns:
            return {run_id for (run_id,) in found if run_id is not None}  # None: the NOTIFY's
        if count in (0, len(envelopes)):
            return {envelope.run_id for envelope in envelopes} if count else set()
        t = self.db.table  # some were there already: which are this enqueue's
        ids = [envelope.run_id for envelope in envelopes]
        mine = sa.select(t.c.id).where(among(t.c.id, ids), t.c.batch == batch)
        return set(self.db.run(lambda connection: list(connection.scalars(mine)), write=False))

    def parameters(
        self, envelopes: list[Envelope], now: datetime, batch: str | None,
        serializer: BaseSerializer, channel: str,
    ) -> list[Any]:  # fmt: skip
        """The parameters of :meth:`statement` for these rows, in order."""
        values: list[Any] = []
        for envelope in envelopes:
            values += new_values(envelope, now, serializer)
            if not self.returns:
                values.append(batch)
        if self.db.is_postgresql:
            values.append(channel)
        return values

    def statement(self, count: int) -> str:
        """The statement inserting ``count`` rows (made once per count)."""
        marks = f"({', '.join(self._mark for _ in self.columns)})"
        into = f"INTO {self._table} ({', '.join(self.columns)}) VALUES {', '.join([marks] * count)}"
        if self.db.is_sqlite:
            statement = f"INSERT {into} ON CONFLICT (id) DO NOTHING RETURNING id"
        elif not self.db.is_postgresql:
            statement = f"INSERT IGNORE {into}"
        else:
            statement = (
                f"WITH added AS (INSERT {into} ON CONFLICT (id) DO NOTHING RETURNING id, queue), "
                "told AS (SELECT pg_notify(%s, string_agg(DISTINCT queue, E'\\n' "
                "ORDER BY queue)) FROM added HAVING count(*) > 0) "
                "SELECT id FROM added UNION ALL SELECT NULL FROM told"
            )
        self._statements[count] = statement
        return statement
