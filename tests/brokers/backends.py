"""One factory per broker backend, so that every contract test runs against each of them.

A backend makes brokers over one shared storage (two workers on one database), and cleans up
after the test. ``shared`` backends are reached by several broker instances (other
processes); ``encodes`` backends keep arguments and results as bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asyncz_like.brokers import BaseBroker, MemoryBroker
from tests.brokers.cleanup import delete_queues, drop_table
from tests.services import (
    MARIADB_MYSQLCLIENT_URL,
    MARIADB_URL,
    POSTGRES_URL,
    RABBITMQ_URL,
    REDIS_HOST,
    REDIS_PORT,
    require_driver,
    require_service,
)


class BrokerBackend:
    name = "base"
    shared = True
    encodes = True

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.token = uuid.uuid4().hex[:10]
        self.made: list[BaseBroker] = []

    def make(self, **options: Any) -> BaseBroker:
        """A started broker on this backend's storage."""
        broker = self._build(**options)
        broker.start()
        self.made.append(broker)
        return broker

    def _build(self, **options: Any) -> BaseBroker:
        raise NotImplementedError

    def config(self, **options: Any) -> dict[str, Any]:
        """The ``{"type": ...}`` config of a broker on this storage, for another process."""
        raise NotImplementedError

    def cleanup(self) -> None:
        for broker in self.made:
            broker.shutdown()


class MemoryBackend(BrokerBackend):
    name = "memory"
    shared = False
    encodes = False

    def make(self, **options: Any) -> BaseBroker:
        if not self.made:
            self.made.append(MemoryBroker())
        return self.made[0]


class SQLBackend(BrokerBackend):
    url = ""
    service: str | None = None

    @classmethod
    def require(cls) -> None:
        """Skip (locally) or fail (CI=true) unless the server and the driver are there."""
        if cls.service:
            require_service(cls.service)

    def _build(self, **options: Any) -> BaseBroker:
        from asyncz_like.brokers.sqlalchemy import SQLAlchemyBroker

        self.require()
        return SQLAlchemyBroker(database=self.url, tablename=f"b_{self.token}", **options)

    def config(self, **options: Any) -> dict[str, Any]:
        return {"type": "sqlalchemy", "database": self.url, "tablename": f"b_{self.token}",
                **options}  # fmt: skip

    def cleanup(self) -> None:
        if self.made:
            drop_table(self.made[0])
        super().cleanup()


class SQLiteBackend(SQLBackend):
    name = "sqlite"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.url = f"sqlite:///{tmp_path / 'runs.db'}"


class PostgresBackend(SQLBackend):
    name = "postgresql"
    url = POSTGRES_URL
    service = "postgresql"


class MariaDBBackend(SQLBackend):
    name = "mariadb"
    url = MARIADB_URL
    service = "mariadb"


class MySQLClientBackend(SQLBackend):
    """MariaDB through mysqlclient, the C driver, whose statements the broker also runs
    through the driver itself (one-run enqueues)."""

    name = "mariadb-mysqlclient"
    url = MARIADB_MYSQLCLIENT_URL
    service = "mariadb"

    @classmethod
    def require(cls) -> None:
        super().require()
        require_driver("MySQLdb", "mysqlclient")


class RedisBackend(BrokerBackend):
    name = "redis"

    @property
    def prefix(self) -> str:
        return f"test.broker.{self.token}"

    def _build(self, **options: Any) -> BaseBroker:
        from asyncz_like.brokers.redis import RedisBroker

        require_service("redis")
        options = self.config(**options)
        del options["type"]
        return RedisBroker(**options)

    def config(self, **options: Any) -> dict[str, Any]:
        return {"type": "redis", "host": REDIS_HOST, "port": REDIS_PORT, "prefix": self.prefix,
                **options}  # fmt: skip

    def cleanup(self) -> None:
        super().cleanup()
        if self.made:
            self.delete_keys()

    def delete_keys(self) -> None:
        import redis

        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
        keys = list(client.scan_iter(f"{self.prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        client.close()


class RabbitMQBackend(RedisBackend):
    """RabbitMQ for the wake-ups, Redis (a prefix of its own) for the runs."""

    name = "rabbitmq"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.queues: set[str] = set()  # the broker queues whose RabbitMQ queues to delete

    def _build(self, **options: Any) -> BaseBroker:
        from asyncz_like.brokers.rabbitmq import RabbitMQBroker

        require_service("rabbitmq")
        require_service("redis")
        options = self.config(**options)
        del options["type"]
        broker = RabbitMQBroker(**options)
        name_of = broker.wakeups.queue_name

        def recorded(queue: str) -> str:  # every queue it declares or publishes to
            self.queues.add(queue)
            return name_of(queue)

        broker.wakeups.queue_name = recorded  # type: ignore[method-assign]
        return broker

    def config(self, **options: Any) -> dict[str, Any]:
        state = super().config(poll_interval=options.pop("poll_interval", 1.0))
        return {"type": "rabbitmq", "url": RABBITMQ_URL, "state": state, "prefix": self.prefix,
                **options}  # fmt: skip

    def cleanup(self) -> None:
        from asyncz_like.brokers.rabbitmq import RabbitMQBroker

        super().cleanup()
        if self.made:
            last = RabbitMQBroker(RABBITMQ_URL, state=self.config()["state"], prefix=self.prefix)
            delete_queues(last, self.queues)
            last.shutdown()
            self.delete_keys()  # the broker made to delete the queues wrote to its state


BACKENDS: dict[str, Callable[[Path], BrokerBackend]] = {
    "memory": MemoryBackend,
    "sqlite": SQLiteBackend,
    "postgresql": PostgresBackend,
    "mariadb": MariaDBBackend,
    "mariadb-mysqlclient": MySQLClientBackend,
    "redis": RedisBackend,
    "rabbitmq": RabbitMQBackend,
}


@contextmanager
def made_backend(name: str, tmp_path: Path) -> Iterator[BrokerBackend]:
    """The backend ``name`` (a key of BACKENDS), cleaned up whatever happens."""
    made = BACKENDS[name](tmp_path)
    try:
        yield made
    finally:
        made.cleanup()
