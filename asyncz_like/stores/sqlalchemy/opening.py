"""A SQL store's options checked, and its Database opened (SQLAlchemy imported only here, when
a store is made, so that the store class can be named without it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asyncz_like.exceptions import MissingDependencyError
from asyncz_like.limits import check_count
from asyncz_like.stores.base import check_lease_options

if TYPE_CHECKING:
    import sqlalchemy as sa

    from asyncz_like.stores.sqlalchemy.database import Database


def check_options(
    tablename: str, lease_seconds: float, poll_interval: float | None, batch_size: int
) -> None:
    if not isinstance(tablename, str) or not 0 < len(tablename) <= 48:
        raise ValueError(f"tablename must be a name of 1 to 48 characters, got {tablename!r}")
    check_lease_options(lease_seconds, poll_interval)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    check_count(batch_size, "batch_size")


def open_database(
    database: str | None,
    engine: sa.Engine | None,
    tablename: str,
    engine_options: dict[str, Any],
    logger: Any,
) -> Database:
    """The Database over a new engine for ``database``, or over the given ``engine``."""
    try:
        import sqlalchemy  # noqa: F401
        import tenacity  # noqa: F401
    except ImportError as error:
        raise MissingDependencyError(error.name or "sqlalchemy", "sqlalchemy") from error
    from asyncz_like.stores.sqlalchemy import engine as engines
    from asyncz_like.stores.sqlalchemy.database import Database

    if (database is None) == (engine is None):
        raise ValueError("SQLAlchemyStore needs either database (a URL) or engine, not both")
    if engine is None:
        assert database is not None
        return Database(engines.make_engine(database, engine_options), tablename, True, logger)
    if engine.dialect.name not in engines.SUPPORTED:
        raise ValueError(
            f"SQLAlchemyStore: the {engine.dialect.name!r} dialect is not supported; use "
            "SQLite, PostgreSQL (psycopg) or MariaDB/MySQL (pymysql, mysqldb)"
        )
    engines.prepare(engine)
    return Database(engine, tablename, False, logger)
