"""The SQL broker (PostgreSQL, MariaDB/MySQL, SQLite), on SQLAlchemy Core."""

from asyncz_like.brokers.sqlalchemy.broker import SQLAlchemyBroker

__all__ = ["SQLAlchemyBroker"]
