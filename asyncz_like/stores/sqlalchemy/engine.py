"""The engine of the SQL store: built from a URL (with clear errors), SQLite set up for several
processes, the table created once however many processes start together."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from asyncz_like.exceptions import MissingDependencyError, StoreNotFoundError

#: Dialects the store knows how to claim rows on.
SUPPORTED = ("sqlite", "postgresql", "mysql", "mariadb")
#: Execution option naming how a SQLite transaction begins (DEFERRED or IMMEDIATE).
SQLITE_BEGIN = "asyncz_like_sqlite_begin"
SQLITE_BUSY_TIMEOUT_MS = 10_000
_EXAMPLES = (
    "sqlite:///tasks.db, postgresql+psycopg://user:password@host/db, "
    "mysql+pymysql://user:password@host/db"
)
_DRIVER_EXTRAS = {
    "psycopg": ("psycopg", "postgres"),
    "pymysql": ("pymysql", "mysql"),
    "mysqldb": ("mysqlclient", "mysqlclient"),
}


def parse_url(database: str | URL, owner: str = "SQLAlchemyStore") -> URL:
    """The URL, or ValueError naming the examples that work; ``owner`` (the class the URL was
    given to) begins the message."""
    try:
        url = make_url(database)
    except (exc.ArgumentError, ValueError) as error:
        raise ValueError(
            f"{owner}: database={str(database)!r} is not a SQLAlchemy URL ({error}); "
            f"expected e.g. {_EXAMPLES}"
        ) from None
    if url.get_backend_name() not in SUPPORTED:
        raise ValueError(
            f"{owner}: the {url.get_backend_name()!r} dialect of "
            f"{url.render_as_string(hide_password=True)!r} is not supported; use SQLite, "
            f"PostgreSQL (psycopg) or MariaDB/MySQL (pymysql, mysqldb), e.g. {_EXAMPLES}"
        )
    return url


def make_engine(
    database: str | URL, options: dict[str, Any], owner: str = "SQLAlchemyStore"
) -> sa.Engine:
    """An engine for ``database``: a server's pooled connections pinged when they were idle
    (:func:`ping_idle_connections`, unless ``pool_pre_ping`` is given); SQLite set up by
    :func:`prepare`. Errors name ``owner``, the class ``database`` was given to."""
    url = parse_url(database, owner)
    backend = url.get_backend_name()
    ping_idle = backend != "sqlite" and "pool_pre_ping" not in options
    if backend in ("mysql", "mariadb"):
        options.setdefault("isolation_level", "READ COMMITTED")  # no gap locks on claims
    if backend == "sqlite" and is_memory_url(url):
        options.setdefault("poolclass", StaticPool)  # one connection: one database
        options.setdefault("connect_args", {"check_same_thread": False})
    try:
        engine = sa.create_engine(url, **options)
    except (ModuleNotFoundError, exc.NoSuchModuleError) as error:
        raise _missing_driver(url, error, owner) from error
    except TypeError as error:
        raise TypeError(f"{owner} got unexpected option(s): {error}") from None
    if engine.dialect.is_async:
        engine.dispose()
        raise ValueError(
            f"{owner}: {url.drivername!r} is an asyncio driver; it runs in a thread and "
            f"needs a blocking one, e.g. {_EXAMPLES}"
        )
    prepare(engine)
    if ping_idle:
        ping_idle_connections(engine)
    return engine


#: A pooled connection idle for longer than this (seconds) is pinged when it is checked out.
PING_IDLE_AFTER = 1.0
_CHECKED_IN = "asyncz_like_checked_in"


def ping_idle_connections(engine: sa.Engine) -> None:
    """Ping a pooled connection at checkout only when it sat idle for ``PING_IDLE_AFTER``:
    that is when servers and firewalls drop connections. ``pool_pre_ping`` pings at every
    checkout, one more round trip for every statement of a busy scheduler. A connection that
    died while in recent use fails its statement instead, and the store's retry replaces it
    (the pool invalidates connections that report a disconnect)."""

    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since <= PING_IDLE_AFTER:
            return  # new, or in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"idle connection lost: {error}") from error
        if alive is False:
            raise exc.DisconnectionError("idle connection lost")

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


def _missing_driver(url: URL, error: Exception, owner: str) -> Exception:
    driver = url.get_driver_name()
    if isinstance(error, ModuleNotFoundError) and driver in _DRIVER_EXTRAS:
        return MissingDependencyError(*_DRIVER_EXTRAS[driver])
    problem = f"is not installed ({error})" if isinstance(error, ImportError) else "is unknown"
    return ValueError(
        f"{owner}: the driver {driver!r} of {url.drivername!r} {problem}; "
        f"the supported drivers are those of these URLs: {_EXAMPLES}"
    )


def is_memory_url(url: URL) -> bool:
    """Whether ``url``, a SQLite one, names a database in memory (not a file)."""
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def is_memory_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite" and is_memory_url(engine.url)


def prepare(engine: sa.Engine) -> None:
    """On SQLite: WAL and a busy timeout on each connection (several processes share the file),
    and transactions begun by SQLAlchemy (``BEGIN`` or ``BEGIN IMMEDIATE``), not by the driver,
    whose implicit transactions would let two claims read the same rows. This is the recipe of
    the SQLAlchemy docs ("Serializable isolation / Savepoints / Transactional DDL")."""
    if engine.dialect.name != "sqlite" or event.contains(engine, "begin", _sqlite_begin):
        return
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    driver = connection.connection.driver_connection
    if getattr(driver, "isolation_level", None) is not None:  # pooled before we set it up
        driver.isolation_level = None  # type: ignore[union-attr]
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def skip_locked_supported(engine: sa.Engine) -> bool:
    """Whether ``FOR UPDATE SKIP LOCKED`` works: PostgreSQL 9.5, MariaDB 10.6, MySQL 8. It
    connects: the dialect reads the server's version on its first connection."""
    with engine.connect():
        version = engine.dialect.server_version_info or ()
    if engine.dialect.name == "postgresql":
        return version >= (9, 5)
    if getattr(engine.dialect, "is_mariadb", False):
        return version >= (10, 6)
    return version >= (8, 0)


def warn_without_skip_locked(logger: logging.Logger, tablename: str, claimants: str) -> None:
    """Warn that this server's claims of several ``claimants`` wait for each other."""
    logger.warning(
        "This server has no FOR UPDATE SKIP LOCKED (MariaDB < 10.6, MySQL < 8); "
        "claims of several %s will wait for each other",
        claimants,
        extra={"table": tablename},
    )


def check_table(engine: sa.Engine, tablename: str, what: str) -> None:
    """StoreNotFoundError unless the table exists, creating nothing: on SQLite the file is
    looked for first, as connecting would create it."""
    url = engine.url
    where = f"{what} at {url.render_as_string(hide_password=True)}"
    on_disk = engine.dialect.name == "sqlite" and not is_memory_sqlite(engine)
    if on_disk and url.database and not os.path.exists(url.database):
        raise StoreNotFoundError(where, f"no SQLite file {url.database}")
    if not sa.inspect(engine).has_table(tablename):
        raise StoreNotFoundError(where, f"no table {tablename!r}")


def ensure_table(engine: sa.Engine, table: sa.Table) -> None:
    """Create the table and its indexes unless they exist. Several processes may run this at
    once: a duplicate error from the loser is caught, then the objects are checked again."""
    _create_once(engine, lambda: table.create(engine, checkfirst=True))
    if not sa.inspect(engine).has_table(table.name):
        raise RuntimeError(f"table {table.name!r} could not be created in {engine.url!r}")
    for index in table.indexes:  # MariaDB commits each DDL: the creator may not be done yet
        _create_once(engine, lambda index=index: index.create(engine, checkfirst=True))


def _create_once(engine: sa.Engine, create: Any) -> None:
    try:
        create()
    except exc.DBAPIError as error:
        if not is_duplicate_object(error):
            raise


def is_duplicate_object(error: exc.DBAPIError) -> bool:
    """The table or index already exists (created by another process meanwhile)."""
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in ("42P07", "42710", "23505"):  # PostgreSQL: duplicate table/object/catalog row
        return True
    if _mysql_code(orig) in (1050, 1061):  # table exists, duplicate key name
        return True
    return isinstance(orig, sqlite3.OperationalError) and "already exists" in str(orig)


# PostgreSQL SQLSTATEs that a later attempt may not meet: connection lost, server shutting
# down or starting, serialization failure, deadlock, lock not available.
_PG_TRANSIENT = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}
# MariaDB/MySQL: lock wait timeout, deadlock, connection killed, server shutdown, cannot
# connect, server gone away, lost connection, disconnected for inactivity.
_MYSQL_TRANSIENT = {1205, 1213, 1927, 1053, 2002, 2003, 2006, 2013, 2055, 4031}
_SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is worth another try: a lost connection, a lock timeout, a deadlock."""
    if not isinstance(error, exc.DBAPIError):
        return isinstance(error, exc.DisconnectionError)
    if error.connection_invalidated:
        return True
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", 0) & 0xFF
        return code in _SQLITE_BUSY or "database is locked" in str(orig)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_TRANSIENT or sqlstate.startswith("08")
    if type(orig).__module__.startswith("psycopg"):  # no SQLSTATE: failed to connect
        return isinstance(error, exc.OperationalError)
    return _mysql_code(orig) in _MYSQL_TRANSIENT


def _mysql_code(orig: BaseException | None) -> int | None:
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None
