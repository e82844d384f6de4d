"""Enqueue: new rows inserted once, existing ids left alone, the ids added told apart.

* PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING id``
  (with the NOTIFY of its queues) for several rows: nine array parameters, not nine per row
  (a statement of ten thousand rows' parameters costs more to build than to run);
* SQLite: ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``;
* MariaDB/MySQL: ``INSERT IGNORE``, then, unless it inserted every row or none, the ids of
  this batch's mark.

A few rows (submits) go through :mod:`.insert_few` instead.
"""

from __future__ import annotations

import functools
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
    unnest: sa.TextClause | None,
    channel: str,
) -> set[str]:
    """Insert ``rows`` (made by ``row_of`` with the mark ``batch``) unless their id exists;
    the ids added. ``unnest`` is :func:`unnest_insert`'s on PostgreSQL, which notifies
    ``channel``."""
    t = db.table
    if unnest is not None:
        arrays = {name: [row[name] for row in rows] for name, _ in _ARRAYS}
        found = connection.scalars(unnest, {**arrays, "channel": channel})
        return {run_id for run_id in found if run_id is not None}  # None: the NOTIFY's row
    if db.is_sqlite:
        return set(connection.scalars(_sqlite_insert(t), rows))
    ids = [row["id"] for row in rows]
    inserted = connection.execute(_insert_ignore(t), rows).rowcount
    if inserted == len(rows):
        return set(ids)  # all new (the usual case): no round trip to ask which
    if inserted == 0:
        return set()  # none new (a batch enqueued again): no round trip either
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
