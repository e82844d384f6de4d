"""The SQL store (alias ``sqlalchemy``): SQLite, PostgreSQL, MariaDB/MySQL through SQLAlchemy Core.

SQLAlchemy itself is imported when a store is made, not when this package is.
"""

from asyncz_like.stores.sqlalchemy.store import SQLAlchemyStore

__all__ = ["SQLAlchemyStore"]
