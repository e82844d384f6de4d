"""Run records in a table beside the SQL store's task table (SQLite, PostgreSQL, MariaDB).

Writes and claims go through the store's Database: its transactions (``BEGIN IMMEDIATE`` on
SQLite, one connection at a time for an in-memory SQLite) and its retries of transient errors.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from asyncz_like.runs.persistent.backend import RunRow
from asyncz_like.stores.sqlalchemy import engine as engines

if TYPE_CHECKING:
    from asyncz_like.serializers.base import BaseSerializer
    from asyncz_like.stores.sqlalchemy.database import Database

_ID = sa.String(191).with_variant(
    mysql.VARCHAR(191, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)
#: Ids per ``IN (...)`` query: well under SQLite's oldest limit of 999 bound parameters.
_IDS_PER_QUERY = 500
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
        self._update = (
            self.table.update()
            .where(c.id == sa.bindparam("b_id"))
            .values(status=sa.bindparam("b_status"), finished_at=sa.bindparam("b_finished"),
                    record=sa.bindparam("b_record"), kept=sa.bindparam("b_kept"))
        )  # fmt: skip
        self._existing = sa.select(c.id).where(c.id.in_(sa.bindparam("ids", expanding=True)))
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
        """Update the rows that exist, insert the others, in one transaction. Each run is
        written by the one scheduler that holds it, so no other writer races for its row."""
        with self.db.transaction(write=True) as connection:
            existing = self._existing_ids(connection, [row.id for row, _ in rows])
            updates = [
                {"b_id": row.id, "b_status": row.status, "b_finished": row.finished,
                 "b_record": row.record, "b_kept": kept}
                for row, kept in rows if row.id in existing
            ]  # fmt: skip
            missing = [_values(row, kept) for row, kept in rows if row.id not in existing]
            if updates:  # one statement for all (executemany), not a round trip per run
                connection.execute(self._update, updates)
            if missing:
                connection.execute(self.table.insert(), missing)

    def _existing_ids(self, connection: sa.Connection, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            found.update(connection.execute(self._existing, {"ids": chunk}).scalars())
        return found

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
        self, statuses: Collection[str] | None, task_id: str | None, limit: int | None,
        alive_after: float | None,
    ) -> Iterable[bytes]:  # fmt: skip
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
                sa.select(c.finished_at, c.seq).where(c.finished_at.is_not(None))
                .order_by(c.finished_at.desc(), c.seq.desc()).offset(max_finished).limit(1)
            ).first()  # fmt: skip
            if edge is not None:
                finished, seq = edge
                older = sa.or_(c.finished_at < finished,
                               sa.and_(c.finished_at == finished, c.seq <= seq))  # fmt: skip
                dropped += connection.execute(
                    table.delete().where(c.finished_at.is_not(None), older)
                ).rowcount
        return dropped

    def drop(self) -> None:
        self.db.retry(self._drop)

    def _drop(self) -> None:
        self.table.drop(self.db.engine, checkfirst=True)


def _values(row: RunRow, kept: bytes | None) -> dict[str, Any]:
    return {"id": row.id, "task_id": row.task_id, "status": row.status,
            "created_at": row.created, "finished_at": row.finished, "record": row.record,
            "kept": kept}  # fmt: skip
