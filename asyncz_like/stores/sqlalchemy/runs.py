"""Run records in a table beside the SQL store's task table (SQLite, PostgreSQL, MariaDB).

Writes and claims go through the store's Database: its transactions (``BEGIN IMMEDIATE`` on
SQLite, one connection at a time for an in-memory SQLite) and its retries of transient errors.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from asyncz_like.stores.runs import RunRow
from asyncz_like.stores.sqlalchemy import engine as engines

if TYPE_CHECKING:
    from asyncz_like.serializers.base import BaseSerializer
    from asyncz_like.stores.sqlalchemy.database import Database

_ID = sa.String(191).with_variant(
    mysql.VARCHAR(191, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)
_BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid


def build_runs_table(name: str) -> sa.Table:
    """The run table ``name``: one row per run, ``kept`` holding the work of a kept run."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", _ID, nullable=False, unique=True),
        sa.Column("task_id", _ID, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("finished_at", sa.Double(), nullable=True),
        sa.Column("record", _BLOB, nullable=False),
        sa.Column("kept", _BLOB, nullable=True),
        sa.Index(f"{name}_created", "created_at"),
        sa.Index(f"{name}_finished", "finished_at"),
        sa.Index(f"{name}_task", "task_id"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


class SQLRunStore:
    """Run records in the table ``<tablename>_runs`` of a SQL store's database."""

    def __init__(self, db: Database, tablename: str, serializer: BaseSerializer) -> None:
        self.db = db
        self.serializer = serializer
        self.table = build_runs_table(f"{tablename}_runs")
        self.name = f"table {self.table.name}"
        c = self.table.c
        self._upsert_rows = _upsert_statement(self.table, db.engine.dialect.name)
        self._take = (
            self.table.update().where(c.id == sa.bindparam("b_id"), c.kept.is_not(None))
        ).values(kept=None)

    def start(self) -> None:
        self.db.retry(engines.ensure_table, self.db.engine, self.table)

    def write(self, rows: Sequence[RunRow]) -> None:
        if rows:
            self.db.retry(self._upsert, [(row, None) for row in rows])

    def keep(self, rows: Sequence[tuple[RunRow, bytes]]) -> None:
        if rows:
            self.db.retry(self._upsert, rows)

    def _upsert(self, rows: Sequence[tuple[RunRow, bytes | None]]) -> None:
        """Insert each run, or update its row when it exists: one statement for all
        (``INSERT ... ON CONFLICT`` / ``ON DUPLICATE KEY UPDATE``, executemany), in one
        transaction. Each run is written by the one scheduler that holds it."""
        with self.db.transaction(write=True) as connection:
            connection.execute(self._upsert_rows, [_values(row, kept) for row, kept in rows])

    def claim(self) -> list[tuple[bytes, bytes]]:
        """Each kept row is taken by one conditional UPDATE (``kept IS NOT NULL`` -> NULL):
        of several schedulers claiming at once, exactly one matches it."""
        c = self.table.c
        found = self.db.read(sa.select(c.id, c.record, c.kept).where(c.kept.is_not(None)))
        taken = []
        for run_id, record, kept in found:
            if self.db.write(self._take, b_id=run_id):
                taken.append((bytes(record), bytes(kept)))
        return taken

    def get(self, run_id: str) -> bytes | None:
        c = self.table.c
        rows = self.db.read(sa.select(c.record).where(c.id == run_id))
        return bytes(rows[0][0]) if rows else None

    def select(
        self,
        statuses: Collection[str] | None,
        task_id: str | None,
        limit: int | None,
        alive_after: float | None,
    ) -> Iterable[bytes]:
        c = self.table.c
        query = sa.select(c.record).order_by(c.created_at.desc(), c.seq.desc())
        if statuses is not None:
            query = query.where(c.status.in_(sorted(statuses)))
        if task_id is not None:
            query = query.where(c.task_id == task_id)
        if alive_after is not None:
            query = query.where(sa.or_(c.finished_at.is_(None), c.finished_at > alive_after))
        if limit is not None:
            query = query.limit(limit)
        return [bytes(record) for (record,) in self.db.read(query)]

    def trim(self, max_finished: int, expired_before: float | None) -> int:
        return self.db.retry(self._trim, max_finished, expired_before)

    def _trim(self, max_finished: int, expired_before: float | None) -> int:
        c, table = self.table.c, self.table
        dropped = 0
        with self.db.transaction(write=True) as connection:
            if expired_before is not None:
                dropped += connection.execute(
                    table.delete().where(c.finished_at <= expired_before)
                ).rowcount
            # The newest finished row that is kept; the older ones go.
            edge = connection.execute(
                sa.select(c.finished_at, c.seq)
                .where(c.finished_at.is_not(None))
                .order_by(c.finished_at.desc(), c.seq.desc())
                .offset(max_finished)
                .limit(1)
            ).first()
            if edge is not None:
                finished, seq = edge
                older = sa.or_(
                    c.finished_at < finished, sa.and_(c.finished_at == finished, c.seq <= seq)
                )
                dropped += connection.execute(
                    table.delete().where(c.finished_at.is_not(None), older)
                ).rowcount
        return dropped

    def drop(self) -> None:
        self.db.retry(self._drop)

    def _drop(self) -> None:
        self.table.drop(self.db.engine, checkfirst=True)


#: The columns a write of a run that exists changes (its id, task and creation stay).
_CHANGING = ("status", "finished_at", "record", "kept")


def _upsert_statement(table: sa.Table, dialect: str) -> sa.Insert:
    """``INSERT`` that updates ``_CHANGING`` of a row whose ``id`` exists, in the dialect's
    own form (the three the SQL store supports)."""
    if dialect in ("mysql", "mariadb"):
        inserting = mysql.insert(table)
        return inserting.on_duplicate_key_update(
            {name: inserting.inserted[name] for name in _CHANGING}
        )
    if dialect == "postgresql":
        pg_inserting = postgresql.insert(table)
        return pg_inserting.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={name: pg_inserting.excluded[name] for name in _CHANGING},
        )
    if dialect == "sqlite":
        lite_inserting = sqlite.insert(table)
        return lite_inserting.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={name: lite_inserting.excluded[name] for name in _CHANGING},
        )
    raise ValueError(f"No run history for the SQL dialect {dialect!r}")


def _values(row: RunRow, kept: bytes | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "task_id": row.task_id,
        "status": row.status,
        "created_at": row.created,
        "finished_at": row.finished,
        "record": row.record,
        "kept": kept,
    }
