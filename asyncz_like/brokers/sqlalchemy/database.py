"""The SQL broker's engine and transactions: each call one short transaction, retried when it
fails transiently (a lost connection, a deadlock, a busy SQLite file)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import exc

from asyncz_like.brokers.sqlalchemy.held import HeldConnection
from asyncz_like.brokers.sqlalchemy.schema import build_table, build_workers_table
from asyncz_like.stores.sqlalchemy import engine as engines
from asyncz_like.stores.sqlalchemy.transactions import Transactions

T = TypeVar("T")
#: A statement's parameters in the driver's style: by name or by position.
Parameters = Mapping[str, Any] | Sequence[Any]
_RELAXED = "(SELECT set_config('synchronous_commit', 'off', true)) = 'off'"


class Database:
    """One run table on one engine."""

    def __init__(
        self, engine: sa.Engine, tablename: str, owns_engine: bool, logger: logging.Logger
    ) -> None:
        self.engine = engine
        self.owns_engine = owns_engine
        self.logger = logger
        self.dialect = engine.dialect.name
        self.table = build_table(tablename, self.dialect)
        self.workers_table = build_workers_table(f"{tablename}_workers")
        self.is_sqlite = self.dialect == "sqlite"
        self.is_postgresql = self.dialect == "postgresql"
        self.skip_locked = not self.is_sqlite
        self.fast_commits = False  # set by the broker (PostgreSQL only)
        #: An engine of autocommit connections for :meth:`driver_alone`, the broker's own,
        #: and the connection held on it (see :meth:`hold_for_statements`).
        self.autocommit_engine: sa.Engine | None = None
        self.held: HeldConnection | None = None
        self._transactions = Transactions(engine, tablename, logger)

    def start(self) -> None:
        """Create the tables and their indexes unless they exist (a database made before
        the workers' table gets it here); learn about SKIP LOCKED."""
        self.retry(engines.ensure_table, self.engine, self.table)
        self.retry(engines.ensure_table, self.engine, self.workers_table)
        if not self.is_sqlite:
            self.skip_locked = self.retry(engines.skip_locked_supported, self.engine)
            if not self.skip_locked:
                engines.warn_without_skip_locked(self.logger, self.table.name, "workers")

    def dispose(self) -> None:
        if self.held is not None:
            self.held.close()
        if self.owns_engine:
            self.engine.dispose()
        if self.autocommit_engine is not None:
            self.autocommit_engine.dispose()

    def retry(self, operation: Callable[..., T], *args: Any) -> T:
        """``operation(*args)``, tried again after a pause when it fails transiently (see
        :meth:`.Transactions.retry`)."""
        return self._transactions.retry(operation, *args)

    def transaction(self, write: bool = True) -> AbstractContextManager[sa.Connection]:
        """A transaction; on SQLite a writing one begins IMMEDIATE (the single writer lock)."""
        return self._transactions.transaction(write)

    def run(
        self, operation: Callable[[sa.Connection], T], write: bool = True, relaxed: bool = False
    ) -> T:
        """``operation(connection)`` in a transaction of its own, retried when transient.
        ``relaxed``: on PostgreSQL with ``fast_commits``, the commit does not wait for the
        WAL flush (a server crash may lose it: only for writes whose loss at-least-once
        delivery repeats)."""
        relax = relaxed and self.fast_commits

        def attempt() -> T:
            with self.transaction(write) as connection:
                if relax:
                    connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
                return operation(connection)

        return self.retry(attempt)

    def run_alone(self, operation: Callable[[sa.Connection], T]) -> T:
        """``operation(connection)`` in autocommit, retried when transient: each statement
        is a transaction of its own (PostgreSQL only). For calls whose statements are each
        whole alone: psycopg sends BEGIN and COMMIT as round trips of their own, so a
        one-statement transaction costs three; on the test machine a claim of 20 went from
        five round trips (BEGIN, SET LOCAL, sweep, UPDATE, COMMIT) to one."""

        def attempt() -> T:
            with self.engine.connect() as connection:
                # Set on the connection, not on an engine of ``execution_options``: that
                # engine sets it from an event listener, and one listener makes every
                # connection of that engine dispatch all its events (begin, execute,
                # rollback...): 60-130 µs more CPU per call (one-run enqueues measured).
                connection.execution_options(isolation_level="AUTOCOMMIT")
                return operation(connection)

        return self.retry(attempt)

    def hold_for_statements(self, engine: sa.Engine) -> None:
        """Run :meth:`driver_alone`'s statements on a connection of ``engine`` (the broker's
        own, in autocommit) held between calls (see :mod:`.held`)."""
        self.autocommit_engine = engine
        self.held = HeldConnection(engine)

    def driver_alone(
        self, statement: str, parameters: Parameters, returns: bool
    ) -> tuple[list[Any], int]:
        """The rows (``returns``: it has a result) and row count of ``statement`` (the
        driver's SQL and parameter style), run by the driver itself as a transaction of its
        own, retried when transient: on the connection held for these statements
        (:meth:`hold_for_statements`, in autocommit: one round trip), else (an engine given
        by the user, the held one busy, SQLite in memory) on a connection of the pool, in
        autocommit on PostgreSQL, with its COMMIT on MariaDB/MySQL (PyMySQL switches
        autocommit with a round trip each way, and SQLAlchemy resets the isolation level
        with a third) and on SQLite when the driver began a transaction (a pool not set up
        by the broker). For the hottest call, a one-run enqueue: SQLAlchemy's Connection
        around one statement (isolation level or transaction, execution context, result) was
        a third of its CPU (see :mod:`.insert_few`). Errors come out as SQLAlchemy's, as
        from a Connection; a connection that failed is dropped, never used again or handed
        back in autocommit or in a transaction. The engine's statement logging (``echo``)
        does not see it."""
        return self.retry(self._driver_alone, statement, parameters, returns)

    def _driver_alone(
        self, statement: str, parameters: Parameters, returns: bool
    ) -> tuple[list[Any], int]:
        held = self.held
        if held is None or not held.acquire():
            with self._transactions.serial:  # SQLite in memory: one connection, in turn
                return self._on_pooled(statement, parameters, returns)
        try:
            return self._on_held(held, statement, parameters, returns)
        finally:
            held.lock.release()

    def _on_held(
        self, held: HeldConnection, statement: str, parameters: Parameters, returns: bool
    ) -> tuple[list[Any], int]:
        dialect = self.engine.dialect
        try:
            cursor = held.cursor()
        except dialect.loaded_dbapi.Error as error:  # could not connect
            lost = dialect.is_disconnect(error, None, None)
            raise self._wrapped(error, statement, parameters, lost) from error
        try:
            return _executed(cursor, statement, parameters, returns)
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, held.dbapi_connection, None)
            held.drop(error)
            raise self._wrapped(error, statement, parameters, lost) from error
        except BaseException:
            held.drop(None)
            raise

    def _on_pooled(
        self, statement: str, parameters: Parameters, returns: bool
    ) -> tuple[list[Any], int]:
        dialect = self.engine.dialect
        try:
            pooled = self.engine.raw_connection()
        except dialect.loaded_dbapi.Error as error:  # could not connect
            lost = dialect.is_disconnect(error, None, None)
            raise self._wrapped(error, statement, parameters, lost) from error
        try:
            driver: Any = pooled.driver_connection
            if self.is_postgresql:
                driver.autocommit = True
            cursor = driver.cursor()
            try:
                rows, count = _executed(cursor, statement, parameters, returns)
            finally:
                cursor.close()
            if self.is_postgresql:
                driver.autocommit = False
            elif not self.is_sqlite or driver.in_transaction:  # SQLite: in autocommit if ours
                driver.commit()
            return rows, count
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, pooled.dbapi_connection, None)
            pooled.invalidate(error)
            raise self._wrapped(error, statement, parameters, lost) from error
        except BaseException:
            pooled.invalidate()
            raise
        finally:
            pooled.close()

    def driver_batch(self, statements: Callable[[Any], list[bytes]]) -> int:
        """MariaDB/MySQL: the rows changed by ``statements(driver_connection)``, statements
        with no parameters run by the driver as one transaction, retried when transient. One
        statement on :attr:`autocommit_engine` runs alone (one round trip); several run
        between ``START TRANSACTION`` and ``COMMIT`` there, or, on an engine given by the
        user, before its COMMIT. For enqueues of many runs (see :mod:`.inserts`); errors as
        :meth:`driver_alone`'s."""
        return self.retry(self._driver_batch, statements)

    def _driver_batch(self, statements: Callable[[Any], list[bytes]]) -> int:
        dialect = self.engine.dialect
        autocommit = self.autocommit_engine
        shown = f"INSERT INTO {self.table.name} (a batch of rows)"  # not the whole statement
        try:
            pooled = (autocommit or self.engine).raw_connection()
        except dialect.loaded_dbapi.Error as error:  # could not connect
            lost = dialect.is_disconnect(error, None, None)
            raise self._wrapped(error, shown, {}, lost) from error
        try:
            driver: Any = pooled.driver_connection
            made = statements(driver)
            explicit = autocommit is not None and len(made) > 1
            count = 0
            with driver.cursor() as cursor:
                if explicit:
                    cursor.execute("START TRANSACTION")
                for statement in made:
                    cursor.execute(statement)
                    count += cursor.rowcount
                if explicit:
                    cursor.execute("COMMIT")
            if autocommit is None:
                driver.commit()
            return count
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, pooled.dbapi_connection, None)
            pooled.invalidate(error)  # a transaction left open goes with its connection
            raise self._wrapped(error, shown, {}, lost) from error
        except BaseException:
            pooled.invalidate()
            raise
        finally:
            pooled.close()

    def _wrapped(
        self, error: Exception, statement: str, parameters: Parameters, lost: bool
    ) -> exc.DBAPIError:
        """``error`` of the driver as SQLAlchemy raises it (what :meth:`retry` reads)."""
        wrapped = exc.DBAPIError.instance(  # a DBAPIError: ``error`` is the driver's
            statement,
            dict(parameters) if isinstance(parameters, Mapping) else list(parameters),
            error,
            self.engine.dialect.loaded_dbapi.Error,
            hide_parameters=self.engine.hide_parameters,
            connection_invalidated=lost,
            dialect=self.engine.dialect,
        )
        return cast(exc.DBAPIError, wrapped)

    def update_one(self, statement: sa.Update) -> bool:
        """Whether ``statement``, an UPDATE of at most one row whose commit may be relaxed
        (see :meth:`run`), changed a row; on PostgreSQL it runs alone: one round trip."""
        if self.is_postgresql:
            alone = statement.where(sa.text(self.relaxed()))
            return self.run_alone(lambda connection: connection.execute(alone).rowcount == 1)
        return self.run(
            lambda connection: connection.execute(statement).rowcount == 1, relaxed=True
        )

    def relaxed(self) -> str:
        """A condition, true, to AND into the WHERE of a statement run alone whose commit
        need not wait for the disk (``fast_commits``; see :meth:`run`): it sets
        ``synchronous_commit`` for its own transaction, evaluated once (an InitPlan), without
        the round trip of a ``SET LOCAL``. Measured: 1,000 autocommit UPDATEs made 835 WAL
        flushes without it, 4 with it, and took 0.42 ms each against 3.8 ms."""
        return _RELAXED if self.fast_commits else "TRUE"


def _executed(
    cursor: Any, statement: str, parameters: Parameters, returns: bool
) -> tuple[list[Any], int]:
    """The rows (``returns``: it has a result) and row count of ``statement``. Told, not
    asked: psycopg makes the Column objects of ``description`` on each read (1.4-2.4 µs)."""
    cursor.execute(statement, parameters)
    rows = list(cursor.fetchall()) if returns else []
    return rows, cursor.rowcount
