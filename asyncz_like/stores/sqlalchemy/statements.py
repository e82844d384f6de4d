"""Every SQL statement of the SQL store, built with SQLAlchemy Core for one table.

The table holds one row per task: ``id``, ``next_run_time`` (a UTC epoch float, indexed: the
due queries walk that index; NULL while paused), ``state`` (the serialized task, written
without its run time: the column is the one place that holds it, so a release writes only the
column and the record stays the same from fire to fire) and the lease (``lease_owner``,
``lease_until``) that a claim sets and a release clears.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

#: The longest task id the table keeps (191 characters fit a utf8mb4 index on MariaDB/MySQL).
ID_LENGTH = 191

_ID = sa.String(ID_LENGTH).with_variant(
    mysql.VARCHAR(ID_LENGTH, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)  # binary collation on MariaDB: ids "A" and "a" are two tasks, as everywhere else
_STATE = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def build_table(name: str) -> sa.Table:
    """The task table ``name``, with its indexes, in a metadata of its own."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", _ID, primary_key=True),
        sa.Column("next_run_time", sa.Double(), nullable=True),
        sa.Column("state", _STATE, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Double(), nullable=True),
        sa.Index(f"{name}_next_run_time", "next_run_time"),
        sa.Index(f"{name}_lease_until", "lease_until"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def build_slots_table(name: str) -> sa.Table:
    """The run slots of the tasks of table ``name``: one row per running instance (its
    ``token``), with the ``task_id`` and the end of its lease (``until``, UTC epoch)."""
    return sa.Table(
        f"{name}_slots",
        sa.MetaData(),
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("until", sa.Double(), nullable=False),
        sa.Index(f"{name}_slots_task_id", "task_id"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def _among(column: sa.Column[str], name: str, arrays: bool) -> sa.ColumnElement[bool]:
    """``column IN (:name...)``, or on PostgreSQL ``column = ANY(:name)``: one array
    parameter, so that the statement is the same whatever the count (compiled once, and
    prepared by the server) instead of one placeholder per value."""
    if arrays:
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(name, expanding=True))


#: Run times closer than this are one instant: a run time goes through a float and back.
SAME_INSTANT = 1e-6


def _same_instant(column: Any, claimed: Any) -> sa.ColumnElement[bool]:
    """``column`` holds the run time ``claimed`` (false when it is NULL: paused)."""
    return sa.func.abs(column - claimed) < SAME_INSTANT


class SlotStatements:
    """The statements over one run slots table, and the task row lock they take."""

    def __init__(
        self, table: sa.Table, slots: sa.Table, lock_rows: bool, arrays: bool = False
    ) -> None:
        s = slots.c
        now: sa.BindParameter[float] = sa.bindparam("now", type_=sa.Double())
        self.table = slots
        #: PostgreSQL: lists travel as arrays, and ``insert`` takes columns (see insert_params)
        self.arrays = arrays
        self.lock_tasks = (
            sa.select(table.c.id).where(_among(table.c.id, "ids", arrays)).order_by(table.c.id)
        )
        if lock_rows:
            self.lock_tasks = self.lock_tasks.with_for_update()
        self.expire_many = slots.delete().where(_among(s.task_id, "ids", arrays), s.until <= now)
        self.expire_all = slots.delete().where(s.until <= now)
        self.count_many = (
            sa.select(s.task_id, sa.func.count())
            .where(_among(s.task_id, "ids", arrays))
            .group_by(s.task_id)
        )
        self.tokens_present = sa.select(s.token).where(_among(s.token, "tokens", arrays))
        self.insert: sa.Insert = slots.insert()
        if arrays:  # every row in one statement: INSERT ... SELECT * FROM unnest(...)
            rows = (
                sa.func.unnest(
                    sa.bindparam("tokens", type_=postgresql.ARRAY(s.token.type)),
                    sa.bindparam("task_ids", type_=postgresql.ARRAY(s.task_id.type)),
                    sa.bindparam("untils", type_=postgresql.ARRAY(sa.Double())),
                )
                .table_valued("token", "task_id", "until")
                .render_derived(name="given")
            )
            self.insert = slots.insert().from_select(
                ["token", "task_id", "until"], sa.select(rows.c.token, rows.c.task_id, rows.c.until)
            )
        self.release = slots.delete().where(s.token == sa.bindparam("token"))
        self.release_many = slots.delete().where(_among(s.token, "tokens", arrays))
        self.renew = (
            slots.update()
            .where(_among(s.token, "tokens", arrays))
            .values(until=sa.bindparam("until"))
        )

    def insert_params(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | dict[str, Any]:
        """The parameters of ``insert`` for slot rows (token, task_id, until)."""
        if not self.arrays:
            return rows  # executemany
        return {
            "tokens": [row["token"] for row in rows],
            "task_ids": [row["task_id"] for row in rows],
            "untils": [row["until"] for row in rows],
        }


class Statements:
    """The statements over one task table. Parameters are bound by name at execution."""

    def __init__(
        self, table: sa.Table, skip_locked: bool, lock_rows: bool, arrays: bool = False
    ) -> None:
        self.table = table
        c = table.c
        self._skip_locked = skip_locked
        self._lock_rows = lock_rows  # False on SQLite: its transaction locks the whole file
        #: PostgreSQL: lists travel as arrays (see release_many_params)
        self.arrays = arrays
        by_id = c.id == sa.bindparam("task_id")
        state: sa.BindParameter[bytes] = sa.bindparam("state")
        self.insert = table.insert()
        self.existing_ids = sa.select(c.id).where(c.id.in_(sa.bindparam("ids", expanding=True)))
        self.update = (
            table.update()
            .where(by_id)
            .values(next_run_time=sa.bindparam("next_run_time"), state=state)
        )
        self.overwrite_state = table.update().where(by_id).values(state=state)
        self.delete = table.delete().where(by_id)
        self.select_one = sa.select(c.state, c.next_run_time).where(by_id)
        self.select_leases = sa.select(c.id, c.lease_owner).where(
            c.id.in_(sa.bindparam("ids", expanding=True))
        )
        self.select_all = sa.select(c.id, c.state, c.next_run_time).order_by(
            sa.case((c.next_run_time.is_(None), 1), else_=0), c.next_run_time, c.id
        )  # paused (NULL) last on every database: MariaDB and SQLite sort NULL first
        self.select_paused = (
            sa.select(c.id, c.state, c.next_run_time)
            .where(c.next_run_time.is_(None))
            .order_by(c.id)
        )  # select_all's order among paused tasks
        # A release applies while the lease is ours and the run time is still the one claimed
        # (``claimed``): a pause or a reschedule made while the fire ran wins over it.
        claimed: sa.BindParameter[float] = sa.bindparam("claimed", type_=sa.Double())
        owned = sa.and_(
            c.id == sa.bindparam("task_id"),
            c.lease_owner == sa.bindparam("owner"),
            _same_instant(c.next_run_time, claimed),
        )
        self.release = (
            table.update()
            .where(owned)
            .values(next_run_time=sa.bindparam("next_run_time"), lease_owner=None, lease_until=None)
        )
        self.release_delete = table.delete().where(owned)
        # A slice's releases: executemany of the single-row forms, or on PostgreSQL one
        # statement each over arrays (UPDATE ... FROM unnest(...)).
        self.release_updates: sa.Update = self.release
        self.release_deletes: sa.Delete = self.release_delete
        if arrays:
            ids = sa.bindparam("ids", type_=postgresql.ARRAY(c.id.type))
            claims: sa.BindParameter[Any] = sa.bindparam(
                "claims", type_=postgresql.ARRAY(sa.Double())
            )
            moved = (
                sa.func.unnest(
                    ids, sa.bindparam("next_run_times", type_=postgresql.ARRAY(sa.Double())), claims
                )
                .table_valued("id", "next_run_time", "claimed")
                .render_derived(name="given")
            )
            self.release_updates = (
                table.update()
                .where(
                    c.id == moved.c.id,
                    c.lease_owner == sa.bindparam("owner"),
                    _same_instant(c.next_run_time, moved.c.claimed),
                )
                .values(next_run_time=moved.c.next_run_time, lease_owner=None, lease_until=None)
            )
            ended = (
                sa.func.unnest(ids, claims)
                .table_valued("id", "claimed")
                .render_derived(name="given")
            )
            self.release_deletes = table.delete().where(
                c.id == ended.c.id,
                c.lease_owner == sa.bindparam("owner"),
                _same_instant(c.next_run_time, ended.c.claimed),
            )
        #: Our leases on ``ids`` dropped, the rows left as they are (changed while claimed).
        self.drop_leases = (
            table.update()
            .where(_among(c.id, "ids", arrays), c.lease_owner == sa.bindparam("owner"))
            .values(lease_owner=None, lease_until=None)
        )
        #: Our leases on ``ids`` extended to ``until`` (a claim still held, see renew_claims).
        self.renew_leases = (
            table.update()
            .where(_among(c.id, "ids", arrays), c.lease_owner == sa.bindparam("owner"))
            .values(lease_until=sa.bindparam("until"))
        )
        self.lease = (
            table.update()
            .where(_among(c.id, "ids", arrays))
            .values(lease_owner=sa.bindparam("owner"), lease_until=sa.bindparam("until"))
        )

    def release_many_params(
        self, rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]] | dict[str, Any]:
        """The parameters of ``release_updates`` (rows with ``task_id``, ``owner``,
        ``claimed`` and, for updates, ``next_run_time``) or ``release_deletes``."""
        if not self.arrays:
            return rows  # executemany of the single-row statements
        params: dict[str, Any] = {
            "ids": [row["task_id"] for row in rows],
            "owner": rows[0]["owner"],
            "claims": [row["claimed"] for row in rows],
        }
        if rows and "next_run_time" in rows[0]:
            params["next_run_times"] = [row["next_run_time"] for row in rows]
        return params

    def delete_all_but(self, kept: Collection[str]) -> sa.Delete:
        """Delete every row but the ``kept`` ids."""
        table = self.table
        return table.delete().where(table.c.id.not_in(kept)) if kept else table.delete()

    def _unclaimed_due(
        self, exclude: Collection[str], with_own_leases: bool = False
    ) -> sa.ColumnElement[bool]:
        """Due rows without a live lease; with ``with_own_leases``, also those whose lease
        is the ``owner``'s from a claim old enough (ending by ``retake_before``): a claim of
        ours whose pass failed (its commit went through but the answer was lost, or a release
        failed) before its fires were handed over. A younger lease of ours may hold fires
        claimed ahead of their run time, released once they start."""
        c = self.table.c
        now: sa.BindParameter[float] = sa.bindparam("now", type_=sa.Double())
        expired: sa.BindParameter[float] = sa.bindparam("expired_before", type_=sa.Double())
        free = [c.lease_until.is_(None), c.lease_until <= expired]
        if with_own_leases:
            before: sa.BindParameter[float] = sa.bindparam("retake_before", type_=sa.Double())
            free.append(sa.and_(c.lease_owner == sa.bindparam("owner"), c.lease_until <= before))
        clause = sa.and_(c.next_run_time <= now, sa.or_(*free))
        return sa.and_(clause, c.id.not_in(exclude)) if exclude else clause

    def due(self, exclude: Collection[str]) -> sa.Select[str, bytes, float | None]:
        """Unclaimed due rows (``now``), earliest first, without the ``exclude`` ids."""
        c = self.table.c
        where = self._unclaimed_due(exclude)
        select = sa.select(c.id, c.state, c.next_run_time)
        return select.where(where).order_by(c.next_run_time, c.id)

    def claimable(
        self, exclude: Collection[str], limit: int
    ) -> sa.Select[str, bytes, float | None, float | None]:
        """The next ``limit`` due rows, locked for this transaction (skipping rows another
        transaction holds) on PostgreSQL and MariaDB/MySQL.

        The rows are read in the order of the ``next_run_time`` index, so that the scan stops
        after ``limit`` rows and locks no more. MariaDB, when many rows are due, prefers a full
        scan and a sort, which locks every due row: other schedulers would then skip them all
        and find nothing. ``FORCE INDEX`` keeps it on the index.
        """
        c = self.table.c
        where = self._unclaimed_due(exclude, with_own_leases=True)
        select = (
            sa.select(c.id, c.state, c.next_run_time, c.lease_until)
            .where(where)
            .order_by(c.next_run_time)
            .limit(limit)
        )
        hint = f"FORCE INDEX ({self.table.name}_next_run_time)"
        select = select.with_hint(self.table, hint, "mysql").with_hint(self.table, hint, "mariadb")
        if self._lock_rows:
            select = select.with_for_update(skip_locked=self._skip_locked)
        return select

    def next_times(self, exclude: Collection[str]) -> sa.Select[float | None, float | None]:
        """The earliest run time of unleased rows, and the earliest moment a leased row can be
        claimed again (the later of its run time and its lease's end), in one round trip.

        Both walk an index: ``next_run_time`` for the first, ``lease_until`` for the second
        (only rows that are claimed right now, or whose holder died, have a lease). The first
        tests ``lease_until + 0``, which no index answers, so that SQLite does not pick the
        ``lease_until`` index (every row has a NULL there) and sort the whole table. The second
        asks for a range (a lease ends after the epoch), which SQLite answers from the index,
        where ``IS NOT NULL`` makes it scan the table.
        """
        c = self.table.c
        kept = c.id.not_in(exclude) if exclude else sa.true()
        free = (
            sa.select(c.next_run_time)
            .where(c.next_run_time.is_not(None), (c.lease_until + 0).is_(None), kept)
            .order_by(c.next_run_time)
            .limit(1)
            .scalar_subquery()
        )
        # a NULL next_run_time (paused) makes this NULL, which MIN skips
        later = sa.case((c.lease_until > c.next_run_time, c.lease_until), else_=c.next_run_time)
        leased = sa.select(sa.func.min(later)).where(c.lease_until >= 0, kept).scalar_subquery()
        return sa.select(free, leased)
