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

from asyncz_like.brokers.sqlalchemy.database import Database
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
    """Polls for due work; wakes at once on an enqueue made through the same broker, and
    ends at once (False) when interrupted."""

    def __init__(self, has_work: Callable[[tuple[str, ...]], bool], poll_interval: float) -> None:
        self.has_work = has_work
        self.poll_interval = poll_interval
        self._condition = threading.Condition()
        self._generation = 0
        self._stop_wait = False  # interrupt: the wait going on (or the next) ends

    def wake(self, queues: set[str]) -> None:
        """Work was added to ``queues`` in this process."""
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def interrupt(self) -> None:
        """End the wait going on (or the next) at once: it returns False."""
        with self._condition:
            self._stop_wait = True
            self._condition.notify_all()

    def _take_stop(self) -> bool:
        with self._condition:
            stop, self._stop_wait = self._stop_wait, False
        return stop

    def wait(self, queues: tuple[str, ...], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._condition:
            seen = self._generation
        while True:
            if self._take_stop():
                return False
            if self.has_work(queues):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._condition:
                self._condition.wait_for(
                    lambda: self._generation != seen or self._stop_wait,
                    min(remaining, self.poll_interval),
                )
                if self._generation != seen and not self._stop_wait:
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
            if self.take_interrupt():
                return False
            if self.has_work(queues):  # enqueued before we listened
                return True
        wanted = set(queues)
        while (remaining := deadline - time.monotonic()) > 0:
            for note in self._connection.notifies(timeout=remaining, stop_after=1):
                if self.take_interrupt():  # its NOTIFY has an empty payload: no queue
                    return False
                names = note.payload.split("\n")
                if note.payload == ANY_QUEUE or wanted.intersection(names):
                    return True
        return False

    def _send_interrupt(self) -> None:
        with self.engine.begin() as connection:
            notify(connection, self.channel, set())

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


def make_waiter(
    has_work: Callable[[tuple[str, ...]], bool], poll_interval: float, db: Database, channel: str
) -> Waiter:
    """On PostgreSQL a waiter LISTENing on ``channel``, elsewhere one that polls."""
    if not db.is_postgresql:
        return Waiter(has_work, poll_interval)
    return ListenWaiter(has_work, poll_interval, db.engine, channel, db.logger)
