"""Enqueue: new rows inserted once, existing ids left alone, the ids added told apart.

* PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING id``
  (with the NOTIFY of its queues) for several rows: nine array parameters, not nine per row
  (a statement of ten thousand rows' parameters costs more to build than to run); one row,
  the usual ``submit``, with an ``INSERT ... VALUES`` of nine plain parameters instead;
* SQLite: ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``;
* MariaDB/MySQL: ``INSERT IGNORE``, then, unless it inserted every row, the ids of this
  batch's mark.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.rows import among
from asyncz_like.brokers.sqlalchemy.waiting import ANY_QUEUE, MAX_PAYLOAD

#: Ids per ``IN (...)``: well under SQLite's oldest limit of 999 bound parameters.
CHUNK = 500
#: The columns given per row, with their PostgreSQL array types.
_ARRAYS = (
    ("id", "text"), ("queue", "text"), ("priority", "bigint"), ("due", "bigint"),
    ("created_at", "bigint"), ("max_deliveries", "integer"), ("task_id", "text"),
    ("name", "text"), ("payload", "bytea"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PostgresInserts:
    """The two PostgreSQL statements of a run table: :func:`values_insert` for one row,
    :func:`unnest_insert` for more."""

    one: str
    many: sa.TextClause

    @classmethod
    def of(cls, tablename: str, quote: Any) -> PostgresInserts:
        return cls(values_insert(tablename, quote), unnest_insert(tablename, quote))


def values_insert(tablename: str, quote: Any) -> str:
    """The PostgreSQL statement inserting one row given as nine plain parameters (psycopg's
    ``%(name)s``, run by the driver itself) and sending the NOTIFY of its queue on
    ``%(channel)s`` (none when the id existed): :func:`unnest_insert` for one row without its
    arrays. Measured on one-row enqueues (CPU of the insert on the test machine): dumping the
    nine arrays took 130-180 µs of 650; a ``text()`` clause instead of the driver's SQL
    another 60-75 µs (SQLAlchemy's cache key and parameter processing). Its ``id`` column
    has the id when added, and a NULL when it notified."""
    names = ", ".join(name for name, _ in _ARRAYS)
    values = ", ".join(f"%({name})s" for name, _ in _ARRAYS)
    return (
        f"WITH added AS (INSERT INTO {quote(tablename)} ({names}) VALUES ({values}) "
        "ON CONFLICT (id) DO NOTHING RETURNING id, queue), "
        "told AS (SELECT pg_notify(%(channel)s, queue) FROM added) "  # a name < MAX_PAYLOAD
        "SELECT id FROM added UNION ALL SELECT NULL FROM told"
    )


def unnest_insert(tablename: str, quote: Any) -> sa.TextClause:
    """The PostgreSQL statement inserting the rows given as arrays, and sending the NOTIFY of
    the queues it added to (``:channel``; none when it added nothing): one statement, so an
    enqueue runs alone in autocommit, one round trip instead of four (BEGIN, INSERT,
    ``pg_notify``, COMMIT). Its ``id`` column has the ids added, and one NULL when it
    notified."""
    names = ", ".join(name for name, _ in _ARRAYS)
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _ARRAYS)
    return sa.text(
        f"WITH added AS (INSERT INTO {quote(tablename)} ({names}) SELECT {names} "
        f"FROM unnest({arrays}) AS v({names}) "
        "ON CONFLICT (id) DO NOTHING RETURNING id, queue), "
        "told AS (SELECT pg_notify(:channel, CASE WHEN length(queues) <= "
        f"{MAX_PAYLOAD} THEN queues ELSE '{ANY_QUEUE}' END) FROM (SELECT string_agg("
        "DISTINCT queue, E'\\n' ORDER BY queue) AS queues FROM added) AS s "
        "WHERE queues IS NOT NULL) "
        "SELECT id FROM added UNION ALL SELECT NULL FROM told"
    )


def insert_rows(
    db: Database,
    connection: sa.Connection,
    rows: list[dict[str, Any]],
    batch: str,
    postgres: PostgresInserts | None,
    channel: str,
) -> set[str]:
    """Insert ``rows`` (made by ``row_of`` with the mark ``batch``) unless their id exists;
    the ids added. ``postgres``: the table's statements on PostgreSQL, whose arrays' one
    notifies ``channel`` (one row: :func:`insert_one_postgresql`)."""
    t = db.table
    if postgres is not None:
        arrays = {name: [row[name] for row in rows] for name, _ in _ARRAYS}
        found = connection.scalars(postgres.many, {**arrays, "channel": channel})
        return {run_id for run_id in found if run_id is not None}  # None: the NOTIFY's row
    if db.is_sqlite:
        return set(connection.scalars(_sqlite_insert(t), rows))
    ids = [row["id"] for row in rows]
    inserted = connection.execute(_insert_ignore(t), rows).rowcount
    if inserted == len(rows):
        return set(ids)  # all new (the usual case): no round trip to ask which
    if inserted == 0:
        return set()  # none new (a one-run enqueue of an existing id): nor here
    added: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        mine = sa.select(t.c.id).where(
            among(t.c.id, ids[start : start + CHUNK]), t.c.batch == batch
        )
        added.update(connection.scalars(mine))
    return added


def insert_one_postgresql(
    db: Database, postgres: PostgresInserts, row: dict[str, Any], channel: str
) -> set[str]:
    """Insert ``row`` (made by ``row_of``) on PostgreSQL unless its id exists, notifying
    ``channel``, in autocommit (one round trip); its id if added."""
    found = db.driver_alone(postgres.one, {**row, "channel": channel})
    return {run_id for (run_id,) in found if run_id is not None}  # None: the NOTIFY's row


# The statements are built once per table: building one for each enqueue (and its cache key,
# which SQLAlchemy keeps on the statement) took about a tenth of a one-run enqueue's CPU.
@functools.lru_cache(maxsize=64)
def _sqlite_insert(table: sa.Table) -> sa.Insert:
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)


@functools.lru_cache(maxsize=64)
def _insert_ignore(table: sa.Table) -> sa.Insert:
    return sa.insert(table).prefix_with("IGNORE")
