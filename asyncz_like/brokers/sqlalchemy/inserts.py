"""Enqueue of many runs: new rows inserted once, existing ids left alone, the ids added told
apart; all or nothing.

* PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING id``
  with the NOTIFY of its queues, in autocommit (one round trip), run by the driver with the
  arrays in binary (:class:`ArrayInserts`);
* MariaDB/MySQL through mysqlclient or PyMySQL: one ``INSERT IGNORE ... VALUES`` of literals
  escaped by the driver, in autocommit when one statement holds every row, else a few in one
  transaction (:class:`ValuesInserts`); unless it inserted every row or none, the ids of this
  batch's mark are read;
* SQLite (and MariaDB/MySQL through another driver): SQLAlchemy's ``INSERT ... ON CONFLICT DO
  NOTHING RETURNING id`` or ``INSERT IGNORE`` (:func:`insert_rows`).

A few rows (submits) go through :mod:`.insert_few` instead.
"""

from __future__ import annotations

import functools
from binascii import hexlify
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.rows import NEW_COLUMNS, among
from asyncz_like.brokers.sqlalchemy.waiting import ANY_QUEUE, MAX_PAYLOAD

#: Ids per ``IN (...)``: well under SQLite's oldest limit of 999 bound parameters.
CHUNK = 500
#: The PostgreSQL type of each of NEW_COLUMNS; the last, the payload, is each run's own.
_KINDS = ("text", "text", "bigint", "bigint", "bigint", "integer", "text", "text", "bytea")
_PAYLOAD = len(_KINDS) - 1
#: The most bytes of one MariaDB/MySQL ``INSERT``: well under ``max_allowed_packet`` (1 MiB
#: at the least, 16 MiB by default on MariaDB). A batch of 1,000 small runs takes about 300 KB.
STATEMENT_BYTES = 1 << 20
#: The MySQL drivers whose escaping :class:`ValuesInserts` uses.
VALUES_DRIVERS = ("mysqldb", "pymysql")


class ManyRowInserts:
    """Inserts of many rows into the run table of ``db``, with the statement of its database
    and driver (see above); PostgreSQL notifies ``channel``."""

    def __init__(self, db: Database, channel: str) -> None:
        self.db = db
        self.channel = channel
        self._arrays = ArrayInserts(db, channel) if db.is_postgresql else None
        self._values = None
        if not db.is_sqlite and db.engine.dialect.driver in VALUES_DRIVERS:
            self._values = ValuesInserts(db)

    def insert(self, columns: tuple[list[Any], ...], batch: str) -> set[str]:
        """Insert the rows of ``columns`` (:func:`.rows.new_columns`; distinct ids) with the
        mark ``batch`` unless their id exists: the ids added."""
        if self._arrays is not None:
            return self._arrays.insert(columns)
        if self._values is not None:
            return self._values.insert(columns, batch)
        rows = [{**dict(zip(NEW_COLUMNS, values, strict=True)), "batch": batch}
                for values in zip(*columns, strict=True)]  # fmt: skip
        return self.db.run(lambda connection: insert_rows(self.db, connection, rows, batch))


class ArrayInserts:
    """PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays)`` of the rows, which also sends
    the NOTIFY of the queues it added to (``channel``; none when it added nothing), run by
    the driver alone in autocommit: one round trip instead of four (BEGIN, INSERT,
    ``pg_notify``, COMMIT). The arrays go in binary: psycopg writes text arrays in Python,
    9.4 µs per run of a batch of 1,000 against 1.7. A column whose rows all have one value
    (the queue, times and name of a ``submit_many``, most often) goes as that value, not as
    an array: 0.2 µs per run and column less. One statement per set of such columns, built
    once."""

    def __init__(self, db: Database, channel: str) -> None:
        self.db = db
        self.channel = channel
        self._table = db.engine.dialect.identifier_preparer.quote(db.table.name)
        self._statements: dict[tuple[bool, ...], str] = {}

    def insert(self, columns: tuple[list[Any], ...]) -> set[str]:
        """Insert the rows of ``columns`` (:func:`.rows.new_columns`; distinct ids) unless
        their id exists: the ids added."""
        count = len(columns[0])
        shared = tuple(
            0 < index < _PAYLOAD and column.count(column[0]) == count
            for index, column in enumerate(columns)
        )
        parameters: dict[str, Any] = {"channel": self.channel}
        for name, column, one in zip(NEW_COLUMNS, columns, shared, strict=True):
            parameters[name] = column[0] if one else column
        statement = self._statements.get(shared) or self._statement(shared)
        found, _ = self.db.driver_alone(statement, parameters, True)
        return {run_id for (run_id,) in found if run_id is not None}  # None: the NOTIFY's row

    def _statement(self, shared: tuple[bool, ...]) -> str:
        """The statement taking the columns marked in ``shared`` as one value each (psycopg's
        placeholders); its ``id`` column has the ids added, and one NULL when it notified."""
        kinds = list(zip(NEW_COLUMNS, _KINDS, shared, strict=True))
        names = ", ".join(NEW_COLUMNS)
        values = ", ".join(f"CAST(%({name})b AS {kind})" if one else name
                           for name, kind, one in kinds)  # fmt: skip
        arrays = ", ".join(f"CAST(%({name})b AS {kind}[])"
                           for name, kind, one in kinds if not one)  # fmt: skip
        given = ", ".join(name for name, _, one in kinds if not one)
        statement = (
            f"WITH added AS (INSERT INTO {self._table} ({names}) SELECT {values} "
            f"FROM unnest({arrays}) AS v({given}) "
            "ON CONFLICT (id) DO NOTHING RETURNING id, queue), "
            "told AS (SELECT pg_notify(%(channel)s, CASE WHEN length(queues) <= "
            f"{MAX_PAYLOAD} THEN queues ELSE '{ANY_QUEUE}' END) FROM (SELECT string_agg("
            "DISTINCT queue, E'\\n' ORDER BY queue) AS queues FROM added) AS s "
            "WHERE queues IS NOT NULL) "
            "SELECT id FROM added UNION ALL SELECT NULL FROM told"
        )
        self._statements[shared] = statement
        return statement


class ValuesInserts:
    """MariaDB/MySQL through mysqlclient or PyMySQL: ``INSERT IGNORE ... VALUES`` statements
    of literals the driver escapes, run by the driver itself (:meth:`.Database.driver_batch`).
    A value that rows share (queue, times, name: usually the whole batch) is escaped once;
    a payload is written in hex (``X'...'``), which the server parses in two thirds of the
    time of an escaped string (2.9 against 4.3 ms per 1,000 runs; its insert took 11).
    The broker's CPU per run of a batch of 1,000 (mysqlclient, encoding included): 17 µs
    through SQLAlchemy's executemany, which the driver split into statements of 64 KB (five
    round trips, and the COMMIT); 8.6 µs this way, in one round trip."""

    def __init__(self, db: Database) -> None:
        self.db = db
        table = db.engine.dialect.identifier_preparer.quote(db.table.name)
        names = ("id", "payload", *NEW_COLUMNS[1:-1], "batch")  # the order of a row's values
        self._head = f"INSERT IGNORE INTO {table} ({', '.join(names)}) VALUES ".encode()
        self._pymysql = db.engine.dialect.driver == "pymysql"

    def insert(self, columns: tuple[list[Any], ...], batch: str) -> set[str]:
        """Insert the rows of ``columns`` (:func:`.rows.new_columns`; distinct ids) with the
        mark ``batch`` unless their id exists: the ids added."""
        ids = columns[0]
        count = self.db.driver_batch(lambda driver: list(self._statements(driver, columns, batch)))
        if count == len(ids):
            return set(ids)  # all new (the usual case): no round trip to ask which
        if count == 0:
            return set()  # none new (a batch enqueued again): no round trip either
        return self.db.run(lambda connection: marked(self.db, connection, ids, batch), write=False)

    def _statements(
        self, driver: Any, columns: tuple[list[Any], ...], batch: str
    ) -> Iterator[bytes]:
        literal = self._literal(driver)
        ids, queues, priorities, dues, created, deliveries, task_ids, names, payloads = columns
        mark = literal(batch)
        shared: dict[tuple[Any, ...], bytes] = {}
        values: list[bytes] = []
        size = 0
        rests = zip(queues, priorities, dues, created, deliveries, task_ids, names, strict=True)
        for run_id, payload, rest in zip(ids, payloads, rests, strict=True):
            tail = shared.get(rest)
            if tail is None:
                tail = shared[rest] = b",".join([*map(literal, rest), mark])
            value = b"(%b,X'%b',%b)" % (literal(run_id), hexlify(payload), tail)
            if values and size + len(value) > STATEMENT_BYTES:
                yield self._head + b",".join(values)
                values, size = [], 0
            values.append(value)
            size += len(value) + 1
        yield self._head + b",".join(values)

    def _literal(self, driver: Any) -> Callable[[Any], bytes]:
        """The driver's SQL literal of a value, as bytes: mysqlclient's ``literal``; PyMySQL's
        ``escape`` (a str; bytes as ``X'...'``) encoded as PyMySQL encodes its queries."""
        if not self._pymysql:
            literal: Callable[[Any], bytes] = driver.literal
            return literal
        escape, encoding = driver.escape, driver.encoding
        return lambda value: escape(value).encode(encoding, "surrogateescape")


def insert_rows(
    db: Database, connection: sa.Connection, rows: list[dict[str, Any]], batch: str
) -> set[str]:
    """SQLite, or MariaDB/MySQL through another driver: insert ``rows`` (the values of
    :data:`.rows.NEW_COLUMNS` and the mark ``batch``, by name) unless their id exists; the
    ids added."""
    t = db.table
    if db.is_sqlite:
        return set(connection.scalars(_sqlite_insert(t), rows))
    ids = [row["id"] for row in rows]
    inserted = connection.execute(_insert_ignore(t), rows).rowcount
    if inserted == len(rows):
        return set(ids)
    if inserted == 0:
        return set()
    return marked(db, connection, ids, batch)


def marked(db: Database, connection: sa.Connection, ids: list[str], batch: str) -> set[str]:
    """Which of ``ids`` have the mark ``batch``: the rows an ``INSERT IGNORE`` added."""
    t = db.table
    added: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        mine = sa.select(t.c.id).where(
            among(t.c.id, ids[start : start + CHUNK]), t.c.batch == batch
        )
        added.update(connection.scalars(mine))
    return added


# The statements are built once per table: building one for each enqueue (and its cache key,
# which SQLAlchemy keeps on the statement) took about a tenth of a one-run enqueue's CPU.
@functools.lru_cache(maxsize=64)
def _sqlite_insert(table: sa.Table) -> sa.Insert:
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)


@functools.lru_cache(maxsize=64)
def _insert_ignore(table: sa.Table) -> sa.Insert:
    return sa.insert(table).prefix_with("IGNORE")
