"""How an idle worker of the SQL broker learns of new work.

PostgreSQL: every enqueue sends ``NOTIFY`` with its queue names in its transaction, and a
waiting worker ``LISTEN``s on a connection of its own: it wakes within milliseconds of the
commit, whichever process enqueued. Elsewhere (MariaDB, SQLite): an enqueue through the same
broker object wakes it at once; one from another process is found by polling for due work
every ``poll_interval`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers.waiting import ConnectionWaiter

#: A NOTIFY payload naming more queues than this many characters says "any queue".
MAX_PAYLOAD = 4000
ANY_QUEUE = "*"


def channel_of(tablename: str) -> str:
    """The NOTIFY channel of a run table (an identifier: at most 63 characters)."""
    return f"asyncz_like_{tablename}"[:63]


def notify_payload(queues: set[str]) -> str:
    payload = "\n".join(sorted(queues))
    return payload if len(payload) <= MAX_PAYLOAD else ANY_QUEUE


def notify(connection: sa.Connection, channel: str, queues: set[str]) -> None:
    """Send the NOTIFY of an enqueue to ``queues`` (delivered when the transaction commits)."""
    connection.execute(sa.select(sa.func.pg_notify(channel, notify_payload(queues))))


class Waiter:
    """Polls for due work; wakes at once on an enqueue made through the same broker."""

    def __init__(self, has_work: Callable[[tuple[str, ...]], bool], poll_interval: float) -> None:
        self.has_work = has_work
        self.poll_interval = poll_interval
        self._condition = threading.Condition()
        self._generation = 0

    def wake(self, queues: set[str]) -> None:
        """Work was added to ``queues`` in this process."""
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, queues: tuple[str, ...], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._condition:
            seen = self._generation
        while True:
            if self.has_work(queues):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._condition:
                if self._condition.wait_for(
                    lambda: self._generation != seen, min(remaining, self.poll_interval)
                ):
                    return True

    def close(self) -> None:
        """Nothing to close."""


class ListenWaiter(ConnectionWaiter, Waiter):
    """LISTENs on a PostgreSQL connection of its own (opened on the first wait)."""

    def __init__(
        self,
        has_work: Callable[[tuple[str, ...]], bool],
        poll_interval: float,
        engine: sa.Engine,
        channel: str,
        logger: logging.Logger,
    ) -> None:
        Waiter.__init__(self, has_work, poll_interval)
        ConnectionWaiter.__init__(self)
        self.engine = engine
        self.channel = channel
        self.logger = logger
        self._connection: Any = None

    failure_message = "Lost the LISTEN connection of channel %s: %s"

    def _wait_connected(self, queues: tuple[str, ...], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if self._connection is None:
            self._connection = self._connect()
            if self.has_work(queues):  # enqueued before we listened
                return True
        wanted = set(queues)
        while (remaining := deadline - time.monotonic()) > 0:
            for note in self._connection.notifies(timeout=remaining, stop_after=1):
                names = note.payload.split("\n")
                if note.payload == ANY_QUEUE or wanted.intersection(names):
                    return True
        return False

    def _connect(self) -> Any:
        dialect = self.engine.dialect
        args, kwargs = dialect.create_connect_args(self.engine.url)
        connection = dialect.connect(*args, **kwargs)
        connection.autocommit = True
        connection.execute(f'LISTEN "{self.channel}"')
        return connection

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken
                self.logger.debug("Closing a broken LISTEN connection failed", exc_info=True)
