"""The run table of the SQL broker: one row per run, times in UTC microseconds.

Waiting and running rows are few and finished ones may be millions, so every claim walks an
index that holds only the unfinished rows: a partial index on PostgreSQL and SQLite, an index
led by ``status`` on MariaDB/MySQL (the claim reads the ``pending``/``retrying`` ranges only).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from asyncz_like.brokers.records import MAX_ID_LENGTH

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_KEY = sa.String(MAX_ID_LENGTH).with_variant(
    mysql.VARCHAR(MAX_ID_LENGTH, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)  # binary collation on MariaDB: ids "A" and "a" are two runs, as everywhere else
_BYTES = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
_WAITING = "status IN ('pending', 'retrying')"
_RUNNING = "status = 'running'"


def to_micros(moment: datetime) -> int:
    """An aware datetime as exact microseconds since the epoch."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + value * _MICROSECOND


def is_waiting() -> sa.TextClause:
    """The condition of the claim index, written as the index is: a database uses a partial
    index only where it can prove the query's condition implies the index's, which it cannot
    with bound parameters (SQLite never; PostgreSQL not in a generic plan)."""
    return sa.text(_WAITING)


def is_running() -> sa.TextClause:
    """The condition of the lease index (see :func:`is_waiting`)."""
    return sa.text(_RUNNING)


def build_table(name: str, dialect: str) -> sa.Table:
    """The run table ``name`` with its indexes for ``dialect``, in a metadata of its own."""
    # A new row gives only what differs per run; the rest are server defaults (fewer
    # parameters per row: the MariaDB driver escapes each one in Python).
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", _KEY, primary_key=True),
        sa.Column("queue", _KEY, nullable=False),
        sa.Column("priority", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("due", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("worker_id", _KEY, nullable=True),
        sa.Column("token", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lost", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("max_deliveries", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("progress", sa.Double(), nullable=False, server_default="0"),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("task_id", _KEY, nullable=True),
        sa.Column("name", _KEY, nullable=True),
        sa.Column("batch", sa.String(32), nullable=True),
        sa.Column("payload", _BYTES, nullable=False),
        sa.Column("result", _BYTES, nullable=True),
        sa.Column("error_type", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_traceback", sa.Text(), nullable=True),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    c = table.c
    # "_claim", not the first version's "_ready": a table made before the claim's whole order
    # was indexed gets the new index at its next start (the old one is left in place)
    if dialect in ("mysql", "mariadb"):  # no partial indexes: status leads
        sa.Index(f"{name}_claim", c.status, c.queue, c.priority.desc(), c.due, c.created_at, c.id)
        sa.Index(f"{name}_lease", c.status, c.lease_until)
    else:
        # the claim's whole order: read in index order, its LIMIT stops the scan; with due
        # alone, ties (a batch enqueued together shares its due) were all read and sorted:
        # 27 ms a claim with 10,000 runs waiting, 0.2 ms in index order (PostgreSQL 15)
        line = (c.queue, c.priority.desc(), c.due, c.created_at, c.id)
        sa.Index(f"{name}_claim", *line, **_partial(_WAITING))
        sa.Index(f"{name}_lease", c.lease_until, **_partial(_RUNNING))
    sa.Index(f"{name}_finished", c.finished_at)
    sa.Index(f"{name}_created", c.created_at)
    return table


def build_workers_table(name: str) -> sa.Table:
    """The table ``name`` of the workers known (a few rows: no index but its key)."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", _KEY, primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.BigInteger(), nullable=False),
        sa.Column("queues", sa.Text(), nullable=False),  # a JSON list of names
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("busy", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("last_heartbeat", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_seconds", sa.Double(), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def _partial(where: str) -> dict[str, Any]:
    return {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}
