"""The SQL broker's engine and transactions: each call one short transaction, retried when it
fails transiently (a lost connection, a deadlock, a busy SQLite file)."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar, cast

import sqlalchemy as sa
import tenacity
from sqlalchemy import exc

from asyncz_like.brokers.sqlalchemy.schema import build_table, build_workers_table
from asyncz_like.stores.sqlalchemy import engine as engines

T = TypeVar("T")
ATTEMPTS = 4
_FIRST_WAIT, _JITTER = 0.05, 0.05
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
        #: MariaDB/MySQL: an engine of autocommit connections for :meth:`driver_alone`, ours
        #: (set by the broker when it made the engine).
        self.autocommit_engine: sa.Engine | None = None
        self._writer = (
            engine.execution_options(**{engines.SQLITE_BEGIN: "IMMEDIATE"})
            if self.is_sqlite
            else engine
        )
        self._serial: AbstractContextManager[Any] = nullcontext()
        if engines.is_memory_sqlite(engine):  # one connection: its transactions take turns
            self._serial = threading.Lock()
        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(ATTEMPTS - 1),
            wait=tenacity.wait_exponential(multiplier=0.1, max=1.0)
            + tenacity.wait_random(0, _JITTER),
            retry=tenacity.retry_if_exception(engines.is_transient),
            reraise=True,
        )

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
        if self.owns_engine:
            self.engine.dispose()
        if self.autocommit_engine is not None:
            self.autocommit_engine.dispose()

    def retry(self, operation: Callable[..., T], *args: Any) -> T:
        """``operation(*args)``, tried again after a pause when it fails transiently."""
        try:
            return operation(*args)
        except Exception as error:
            if not engines.is_transient(error):
                raise
            self._warn(error)
        time.sleep(_FIRST_WAIT + random.uniform(0, _JITTER))
        return self._retrying.copy()(operation, *args)

    def _warn(self, error: BaseException) -> None:
        if isinstance(error, exc.DBAPIError):  # the driver's words, without SQL and parameters
            error = error.orig or error
        lines = str(error).strip().splitlines()
        self.logger.warning(
            "Transient database error on broker table %s, retrying: %s: %s",
            self.table.name,
            type(error).__name__,
            lines[0] if lines else "",
            extra={"table": self.table.name},
        )

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sa.Connection]:
        """A transaction; on SQLite a writing one begins IMMEDIATE (the single writer lock)."""
        with self._serial, (self._writer if write else self.engine).begin() as connection:
            yield connection

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

    def driver_alone(self, statement: str, parameters: Mapping[str, Any]) -> tuple[list[Any], int]:
        """The rows and row count of ``statement`` (the driver's SQL and parameter style), run
        by the driver itself on a connection of the pool as a transaction of its own, retried
        when transient: in autocommit on PostgreSQL (one round trip); on MariaDB/MySQL on a
        connection of :attr:`autocommit_engine` (one round trip), or, on an engine given by
        the user, with its COMMIT (PyMySQL switches autocommit with a round trip each way,
        and SQLAlchemy resets the isolation level with a third). Not on SQLite. For the
        hottest call, a one-run enqueue: SQLAlchemy's Connection around one statement
        (isolation level or transaction, execution context, result) was a third of its CPU
        (see :mod:`.insert_few`). Errors come out as SQLAlchemy's, as from a Connection; a
        connection that failed is dropped from the pool, never handed back in autocommit or
        in a transaction. The engine's statement logging (``echo``) does not see it."""
        return self.retry(self._driver_alone, statement, parameters)

    def _driver_alone(self, statement: str, parameters: Mapping[str, Any]) -> tuple[list[Any], int]:
        dialect = self.engine.dialect
        autocommit = self.autocommit_engine
        try:
            pooled = (autocommit or self.engine).raw_connection()
        except dialect.loaded_dbapi.Error as error:  # could not connect
            lost = dialect.is_disconnect(error, None, None)
            raise self._wrapped(error, statement, parameters, lost) from error
        try:
            driver: Any = pooled.driver_connection
            if self.is_postgresql:
                driver.autocommit = True
            with driver.cursor() as cursor:
                cursor.execute(statement, parameters)
                rows = list(cursor.fetchall()) if cursor.description is not None else []
                count: int = cursor.rowcount
            if self.is_postgresql:
                driver.autocommit = False
            elif autocommit is None:
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
        self, error: Exception, statement: str, parameters: Mapping[str, Any], lost: bool
    ) -> exc.DBAPIError:
        """``error`` of the driver as SQLAlchemy raises it (what :meth:`retry` reads)."""
        wrapped = exc.DBAPIError.instance(  # a DBAPIError: ``error`` is the driver's
            statement,
            dict(parameters),
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
