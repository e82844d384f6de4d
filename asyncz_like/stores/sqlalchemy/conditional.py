"""The SQL store's write of a task only while its row is unchanged and unclaimed."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from asyncz_like.stores.sqlalchemy.statements import SAME_INSTANT

if TYPE_CHECKING:
    from asyncz_like.stores.sqlalchemy.database import Database


@lru_cache(maxsize=64)
def _statement(table: sa.Table) -> sa.Update:
    """``UPDATE ... SET next_run_time, state WHERE id = :task_id AND next_run_time is :seen
    AND lease_owner IS NULL``: the check and the write in one statement, atomic on every
    database (a row a claim holds, or one released or changed since, is not matched)."""
    c = table.c
    seen: sa.BindParameter[float] = sa.bindparam("seen", type_=sa.Double())
    return (
        table.update()
        .where(
            c.id == sa.bindparam("task_id"),
            sa.func.abs(c.next_run_time - seen) < SAME_INSTANT,
            c.lease_owner.is_(None),
        )
        .values(next_run_time=sa.bindparam("next_run_time"), state=sa.bindparam("state"))
    )


def update_if_unchanged(db: Database, rows: list[dict[str, Any]]) -> int:
    """Write each row (``task_id``, ``state``, ``next_run_time``) while its run time is
    ``seen`` and no lease is on it, in one transaction; how many were written."""
    return db.retry(_update, db, rows)


def _update(db: Database, rows: list[dict[str, Any]]) -> int:
    with db.transaction(write=True) as connection:
        return int(connection.execute(_statement(db.table), rows).rowcount)
