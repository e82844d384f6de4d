"""One factory per store backend, so that every contract test runs against each of them.

A backend makes fresh stores that share one storage (two schedulers on one database), can
break a record on purpose, and cleans up after the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asyncz_like.stores.base import BaseStore
from asyncz_like.stores.memory import MemoryStore
from tests.services import MARIADB_URL, POSTGRES_URL, REDIS_HOST, REDIS_PORT, require_service
from tests.store_hooks import drop_sql_table, overwrite_record


class Backend:
    """Makes stores over one shared storage. ``shared`` backends claim across instances."""

    name = "base"
    shared = True
    persistent = True

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.token = uuid.uuid4().hex[:10]

    def make(self, **options: Any) -> BaseStore:
        raise NotImplementedError

    def config(self, **options: Any) -> dict[str, Any]:
        """The ``{"type": ...}`` config of a store on this storage, for another process."""
        raise NotImplementedError

    def corrupt(self, store: BaseStore, task_id: str) -> None:
        """Overwrite the stored record of ``task_id`` with bytes no serializer reads."""
        self.overwrite(store, task_id, b"\x00garbage")

    def overwrite(self, store: BaseStore, task_id: str, record: bytes) -> None:
        """Replace the stored record of ``task_id`` with ``record``, as it is."""
        raise NotImplementedError

    def cleanup(self) -> None:
        """Remove what the test wrote."""


class MemoryBackend(Backend):
    name = "memory"
    shared = False
    persistent = False

    def make(self, **options: Any) -> BaseStore:
        if not hasattr(self, "store"):
            self.store = MemoryStore()
        return self.store


class FileBackend(Backend):
    name = "file"

    def make(self, **options: Any) -> BaseStore:
        from asyncz_like.stores.file import FileStore

        return FileStore(**self._options(options))

    def _options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"directory": str(self.tmp_path / "tasks"), **options}

    def config(self, **options: Any) -> dict[str, Any]:
        return {"type": "file", **self._options(options)}

    def overwrite(self, store: BaseStore, task_id: str, record: bytes) -> None:
        from asyncz_like.stores.file import FileStore

        assert isinstance(store, FileStore)
        store.path_for(task_id).write_bytes(record)


class SQLBackend(Backend):
    url = ""
    service: str | None = None

    def make(self, **options: Any) -> BaseStore:
        from asyncz_like.stores.sqlalchemy import SQLAlchemyStore

        if self.service:
            require_service(self.service)
        self.made = getattr(self, "made", [])
        store = SQLAlchemyStore(database=self.url, tablename=f"t_{self.token}", **options)
        self.made.append(store)
        return store

    def config(self, **options: Any) -> dict[str, Any]:
        return {
            "type": "sqlalchemy",
            "database": self.url,
            "tablename": f"t_{self.token}",
            **options,
        }

    def overwrite(self, store: BaseStore, task_id: str, record: bytes) -> None:
        from asyncz_like.stores.sqlalchemy import SQLAlchemyStore

        assert isinstance(store, SQLAlchemyStore)
        overwrite_record(store, task_id, record)

    def cleanup(self) -> None:
        from asyncz_like.workers.persistent import run_store_for

        for store in getattr(self, "made", [])[:1]:
            runs = run_store_for(store)  # the run history a scheduler on it kept beside it
            if runs is not None:
                runs.drop()
            drop_sql_table(store)


class SQLiteBackend(SQLBackend):
    name = "sqlite"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.url = f"sqlite:///{tmp_path / 'tasks.db'}"


class PostgresBackend(SQLBackend):
    name = "postgresql"
    url = POSTGRES_URL
    service = "postgresql"


class MariaDBBackend(SQLBackend):
    name = "mariadb"
    url = MARIADB_URL
    service = "mariadb"


class RedisBackend(Backend):
    name = "redis"

    def make(self, **options: Any) -> BaseStore:
        from asyncz_like.stores.redis import RedisStore

        require_service("redis")
        options = self.config(**options)
        del options["type"]
        return RedisStore(**options)

    def config(self, **options: Any) -> dict[str, Any]:
        return {
            "type": "redis",
            "host": REDIS_HOST,
            "port": REDIS_PORT,
            "tasks_key": f"test.{self.token}.tasks",
            "run_times_key": f"test.{self.token}.run_times",
            **options,
        }

    def overwrite(self, store: BaseStore, task_id: str, record: bytes) -> None:
        from asyncz_like.stores.redis import RedisStore

        assert isinstance(store, RedisStore)
        overwrite_record(store, task_id, record)

    def cleanup(self) -> None:
        import redis

        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
        keys = list(client.scan_iter(f"test.{self.token}.*"))
        if keys:
            client.delete(*keys)
        client.close()


BACKENDS: dict[str, Callable[[Path], Backend]] = {
    "memory": MemoryBackend,
    "file": FileBackend,
    "sqlite": SQLiteBackend,
    "postgresql": PostgresBackend,
    "mariadb": MariaDBBackend,
    "redis": RedisBackend,
}


@contextmanager
def made_backend(name: str, tmp_path: Path) -> Iterator[Backend]:
    """The backend ``name`` (a key of BACKENDS), cleaned up whatever happens."""
    made = BACKENDS[name](tmp_path)
    try:
        yield made
    finally:
        made.cleanup()
