"""The persistent stores the scenarios run on: where each lives, and how a run cleans up.

Every run uses tables / keys of its own (``bench_<random>``), so that runs, tests and other
people's work on the same servers never meet. Runs inside a library's venv, which has
SQLAlchemy, redis-py and the drivers (``envs.STORE_DRIVERS``).
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: The persistent store kinds, and the SQL ones' URLs (SQLite: a temp file per run).
PERSISTENT = ("sqlite", "postgresql", "mariadb", "redis")
SQL_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
#: A Redis database number that the tests and the demo do not use.
REDIS_DB = 9


def new_name() -> str:
    """A table name / key prefix of a run's own."""
    return f"bench_{secrets.token_hex(5)}"


@dataclass(frozen=True)
class StoreSpec:
    """One run's store: its kind and its name (table name, Redis key prefix, SQLite file)."""

    kind: str
    name: str

    @property
    def is_sql(self) -> bool:
        return self.kind != "redis"

    @property
    def sqlite_path(self) -> Path:
        return Path(tempfile.gettempdir()) / f"{self.name}.sqlite"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of a SQL kind."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return SQL_URLS[self.kind]

    @property
    def table(self) -> str:
        return self.name

    def key(self, suffix: str) -> str:
        """A Redis key under this run's prefix."""
        return f"{self.name}:{suffix}"


def drop(spec: StoreSpec) -> None:
    """Remove everything the run stored: its tables (any whose name starts with the run's
    name: the libraries add tables of their own), its Redis keys, its SQLite file."""
    if spec.kind == "redis":
        import redis

        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
        try:
            keys = list(client.scan_iter(match=f"{spec.name}*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
        finally:
            client.close()
    elif spec.kind == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{spec.sqlite_path}{suffix}").unlink()
    else:
        _drop_tables(spec)


def _drop_tables(spec: StoreSpec) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(spec.url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            if spec.kind == "postgresql":  # never hang on a lock a dying scheduler holds
                connection.exec_driver_sql("SET lock_timeout = '10s'")
            names = [n for n in sa.inspect(connection).get_table_names() if n.startswith(spec.name)]
            # dependent tables first (names that extend another's)
            quote = engine.dialect.identifier_preparer.quote
            for name in sorted(names, key=len, reverse=True):
                connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)}")
    finally:
        engine.dispose()
