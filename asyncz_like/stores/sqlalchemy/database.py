"""The SQL store's round trips: each one a short transaction, retried on transient errors.

Nothing here knows about tasks beyond ids, run times and bytes; decoding is the store's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc

from asyncz_like.stores.base import RETAKE_OWN_CLAIMS_AFTER
from asyncz_like.stores.sqlalchemy import engine as engines
from asyncz_like.stores.sqlalchemy.statements import (
    ID_LENGTH,
    SlotStatements,
    Statements,
    build_slots_table,
    build_table,
)
from asyncz_like.stores.sqlalchemy.transactions import Transactions

T = TypeVar("T")

#: Ids per ``IN (...)`` query: well under SQLite's oldest limit of 999 bound parameters.
_IDS_PER_QUERY = 500


@dataclass(slots=True)
class Claimed(Generic[T]):
    """What one claim transaction got: rows seen, what they decoded to, the ends of the
    expired leases it took over (by task id: their holder died before releasing them), and
    the run slots taken with it."""

    seen: int
    items: list[T]
    expired_leases: dict[str, float]
    slots: dict[str, str | None]  # task id -> the run slot taken with the claim, or None


class Database:
    """One task table on one engine."""

    id_length = ID_LENGTH

    def __init__(
        self, engine: sa.Engine, tablename: str, owns_engine: bool, logger: logging.Logger
    ) -> None:
        self.engine = engine
        self.owns_engine = owns_engine
        self.logger = logger
        self.table = build_table(tablename)
        arrays = self.engine.dialect.name == "postgresql"
        self.sql = Statements(
            self.table, skip_locked=True, lock_rows=not self.is_sqlite, arrays=arrays
        )
        self.slots = SlotStatements(
            self.table, build_slots_table(tablename), lock_rows=not self.is_sqlite, arrays=arrays
        )
        self._transactions = Transactions(engine, self.table.name, logger)
        # On PostgreSQL a statement alone runs in autocommit: one round trip, not three
        # (BEGIN, the statement, COMMIT); psycopg switches it on the client, for free.
        self._autocommit = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if arrays else None
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def retry(self, operation: Callable[..., T], *args: Any) -> T:
        """Run ``operation(*args)``; again, after a pause, when it fails transiently
        (see :meth:`.Transactions.retry`)."""
        return self._transactions.retry(operation, *args)

    def transaction(self, write: bool) -> AbstractContextManager[sa.Connection]:
        """A transaction; on SQLite a writing one begins IMMEDIATE (the single writer lock)."""
        return self._transactions.transaction(write)

    @contextmanager
    def statement(self, write: bool) -> Iterator[sa.Connection]:
        """A connection for one statement: a transaction of its own where autocommit would
        cost more (SQLite, MariaDB: switching it is a round trip there)."""
        if self._autocommit is None:
            with self.transaction(write) as connection:
                yield connection
        else:
            with self._transactions.serial, self._autocommit.connect() as connection:
                yield connection

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Create the table if missing; learn whether the server skips locked rows."""
        self.retry(engines.ensure_table, self.engine, self.table)
        self.retry(engines.ensure_table, self.engine, self.slots.table)
        if not self.is_sqlite:
            skip = self.retry(engines.skip_locked_supported, self.engine)
            self.sql = Statements(
                self.table, skip_locked=skip, lock_rows=True, arrays=self.sql.arrays
            )
            if not skip:
                engines.warn_without_skip_locked(self.logger, self.table.name, "schedulers")

    def check_exists(self, store: str) -> None:
        """StoreNotFoundError unless the task table exists (creating nothing)."""
        engines.check_table(self.engine, self.table.name, store)

    def dispose(self) -> None:
        if self.owns_engine:
            self.engine.dispose()

    # -- single rows ----------------------------------------------------------------------

    def insert(self, task_id: str, next_run_time: float | None, state: bytes) -> bool:
        """False when a row with this id exists."""
        return self.retry(self._insert, task_id, next_run_time, state)

    def _insert(self, task_id: str, next_run_time: float | None, state: bytes) -> bool:
        values = {"id": task_id, "next_run_time": next_run_time, "state": state}
        try:
            with self.statement(write=True) as connection:
                connection.execute(self.sql.insert, values)
        except exc.IntegrityError:
            return False
        return True

    def insert_many(self, rows: list[dict[str, Any]]) -> str | None:
        """Insert every row in one transaction, or none: then the id of a row that exists."""
        return self.retry(self._insert_many, rows)

    def _insert_many(self, rows: list[dict[str, Any]]) -> str | None:
        ids = [row["id"] for row in rows]
        try:
            with self.transaction(write=True) as connection:
                if (held := self._first_existing(connection, ids)) is not None:
                    return held
                connection.execute(self.sql.insert, rows)
        except exc.IntegrityError:  # another writer added one of them meanwhile
            with self.transaction(write=False) as connection:
                return self._first_existing(connection, ids) or ids[0]
        return None

    def _first_existing(self, connection: sa.Connection, ids: list[str]) -> str | None:
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            found = connection.execute(self.sql.existing_ids, {"ids": chunk}).scalars().first()
            if found is not None:
                return str(found)
        return None

    def write(self, statement: sa.Executable, **params: Any) -> int:
        """Execute one writing statement; the number of rows it matched."""
        return self.retry(self._write, statement, params)

    def _write(self, statement: sa.Executable, params: dict[str, Any]) -> int:
        with self.statement(write=True) as connection:
            return connection.execute(statement, params).rowcount

    def read(self, statement: sa.Executable, **params: Any) -> list[Any]:
        """The rows of one query."""
        return self.retry(self._read, statement, params)

    def _read(self, statement: sa.Executable, params: dict[str, Any]) -> list[Any]:
        with self.statement(write=False) as connection:
            return [tuple(row) for row in connection.execute(statement, params)]

    # -- claims ---------------------------------------------------------------------------

    def claim(
        self,
        now: float,
        until: float,
        owner: str,
        limit: int,
        exclude: Collection[str],
        decode: Callable[[str, bytes, float | None], T | None],
        slot_for: Callable[[T], tuple[str, int, str]] | None = None,
        expired_before: float | None = None,
    ) -> Claimed[T]:
        """Lease up to ``limit`` due rows to ``owner`` in one transaction: select them (locked,
        skipping rows other claims hold) and lease those that ``decode`` (given the id, the
        record and the run time) turns into something
        (a broken record is not leased). With ``slot_for`` (``(task_id, limit, token)`` of an
        item), take a run slot for each in the same transaction. Another owner's lease is
        taken over when it ended by ``expired_before`` (default: ``now``)."""
        expired = now if expired_before is None else expired_before
        return self.retry(self._claim, now, until, owner, limit, exclude, decode, slot_for, expired)

    def _claim(
        self,
        now: float,
        until: float,
        owner: str,
        limit: int,
        exclude: Collection[str],
        decode: Callable[[str, bytes, float | None], T | None],
        slot_for: Callable[[T], tuple[str, int, str]] | None,
        expired_before: float,
    ) -> Claimed[T]:
        claimed = Claimed[T](0, [], {}, {})
        ids: list[str] = []
        with self.transaction(write=True) as connection:
            params = {
                "now": now,
                "owner": owner,
                "until": until,
                "retake_before": until - RETAKE_OWN_CLAIMS_AFTER,
                "expired_before": expired_before,
            }
            rows = connection.execute(self.sql.claimable(exclude, limit), params).all()
            claimed.seen = len(rows)
            for task_id, state, next_run_time, expired_lease in rows:
                if (decoded := decode(task_id, state, next_run_time)) is not None:
                    claimed.items.append(decoded)
                    ids.append(task_id)
                    if expired_lease is not None:
                        claimed.expired_leases[task_id] = expired_lease
            if ids:
                params = {"ids": ids, "owner": owner, "until": until}
                connection.execute(self.sql.lease, params)
                if slot_for is not None:
                    wanted = [slot_for(item) for item in claimed.items]
                    taken = self._take_slots(connection, wanted, now, until)
                    claimed.slots = {t: token if token in taken else None for t, _, token in wanted}
        return claimed

    # -- run slots --------------------------------------------------------------------------

    def release_many(self, updates: list[dict[str, Any]], deletes: list[dict[str, Any]]) -> int:
        """Release (update, or delete) rows still leased to their owner, in one transaction;
        the number of rows changed."""
        return self.retry(self._release_many, updates, deletes)

    def _release_many(self, updates: list[dict[str, Any]], deletes: list[dict[str, Any]]) -> int:
        changed = 0
        sql = self.sql
        begin = self.statement if not (updates and deletes) else self.transaction
        with begin(write=True) as connection:
            if updates:
                params = sql.release_many_params(updates)
                changed += connection.execute(sql.release_updates, params).rowcount
            if deletes:
                params = sql.release_many_params(deletes)
                changed += connection.execute(sql.release_deletes, params).rowcount
        return changed

    def acquire_slots(
        self, wanted: list[tuple[str, int, str]], now: float, until: float
    ) -> set[str]:
        """For each ``(task_id, limit, token)`` in order, insert the slot ``token`` unless its
        task has ``limit`` live slots, all in one transaction; the tokens taken. The tasks'
        rows are locked first (in id order), so that acquirers take turns."""
        return self.retry(self._acquire_slots, wanted, now, until)

    def _acquire_slots(
        self, wanted: list[tuple[str, int, str]], now: float, until: float
    ) -> set[str]:
        slots = self.slots
        with self.transaction(write=True) as connection:
            ids = sorted({task_id for task_id, _, _ in wanted})
            connection.execute(slots.lock_tasks, {"ids": ids}).all()
            tokens = [token for _, _, token in wanted]
            present = connection.execute(slots.tokens_present, {"tokens": tokens}).scalars()
            if found := set(present):
                return found  # an attempt whose answer was lost went through
            return self._take_slots(connection, wanted, now, until)

    def _take_slots(
        self,
        connection: sa.Connection,
        wanted: list[tuple[str, int, str]],
        now: float,
        until: float,
    ) -> set[str]:
        """Within a transaction that holds the tasks' rows: insert the slots that fit."""
        slots = self.slots
        ids = sorted({task_id for task_id, _, _ in wanted})
        connection.execute(slots.expire_many, {"ids": ids, "now": now})
        counts: dict[str, int] = dict(connection.execute(slots.count_many, {"ids": ids}).all())
        rows, taken = [], set()
        for task_id, limit, token in wanted:
            if counts.get(task_id, 0) < limit:
                counts[task_id] = counts.get(task_id, 0) + 1
                rows.append({"token": token, "task_id": task_id, "until": until})
                taken.add(token)
        if rows:
            connection.execute(slots.insert, slots.insert_params(rows))
        return taken

    def next_times(self, exclude: Collection[str]) -> tuple[float | None, float | None]:
        row = self.read(self.sql.next_times(exclude))[0]
        return row[0], row[1]
