"""One connection held between the driver's own statements of one-run enqueues.

A ``submit`` is one statement in autocommit (:meth:`.Database.driver_alone`). Checking a
connection out of SQLAlchemy's pool and back around it (the pool's events, its reset on
return, a new cursor, psycopg's autocommit switched on and off) cost about 50 µs of CPU on
PostgreSQL and 25 on MariaDB per call, against 70 and 55 for the statement itself through
the driver (the test machine). So the broker holds one connection of an engine of its own
for these statements, with its cursor:

- Only one thread uses it at a time; a call while it is busy takes a pooled connection.
- One idle for more than ``PING_IDLE_AFTER`` seconds is pinged before use, as the pool pings
  one it hands out (see :func:`asyncz_like.stores.sqlalchemy.engine.ping_idle_connections`);
  one that does not answer is dropped and another taken, without an error.
- A statement that fails drops it (invalidated: never used again); the next call takes
  another. Retrying is the caller's job.
- In a forked child the parent's connection is left alone and another taken.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import sqlalchemy as sa

from asyncz_like.stores.sqlalchemy import engine as engines


class HeldConnection:
    """A connection of ``engine`` (in autocommit: each statement commits alone) and its
    cursor, taken at first use and held until :meth:`close` or a failure."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        #: Held by the thread using the connection; :meth:`acquire` does not wait for it.
        self.lock = threading.Lock()
        self._pooled: Any = None
        self._cursor: Any = None
        self._pid = 0
        self._used = 0.0
        self._parents: Any = None  # a forked child's: the parent's, never finalized here

    def acquire(self) -> bool:
        """Take the lock unless another thread holds it (False: use a pooled connection)."""
        return self.lock.acquire(blocking=False)

    def cursor(self) -> Any:
        """The held connection's cursor, taken or pinged as needed (the lock held). A driver
        error taking a connection is raised as it is (nothing is held then)."""
        now = time.monotonic()
        if self._pooled is None or self._pid != os.getpid():
            self._take()
        elif now - self._used > engines.PING_IDLE_AFTER and not self._answers():
            self.drop(None)
            self._take()
        self._used = now
        return self._cursor

    @property
    def dbapi_connection(self) -> Any:
        """The held DBAPI connection (None when none is held)."""
        return None if self._pooled is None else self._pooled.dbapi_connection

    def drop(self, error: BaseException | None) -> None:
        """Invalidate the held connection after ``error``: it is closed, never used again."""
        pooled, self._pooled, self._cursor = self._pooled, None, None
        if pooled is not None and self._pid == os.getpid():
            pooled.invalidate(error)

    def close(self) -> None:
        """Give the held connection back to the pool (the broker is shutting down)."""
        with self.lock:
            pooled, cursor, self._pooled, self._cursor = self._pooled, self._cursor, None, None
            if pooled is None or self._pid != os.getpid():
                return
            try:
                cursor.close()
            finally:
                pooled.close()

    def _take(self) -> None:
        if self._pooled is not None and self._pid != os.getpid():
            self._parents, self._pooled = self._pooled, None
        pooled = self.engine.raw_connection()
        driver: Any = pooled.driver_connection
        try:
            cursor = driver.cursor()
        except BaseException:
            pooled.invalidate()
            raise
        self._pooled, self._cursor, self._pid = pooled, cursor, os.getpid()

    def _answers(self) -> bool:
        try:
            self.engine.dialect.do_ping(self._pooled.dbapi_connection)
        except Exception:  # closed while idle: dropped, another taken
            return False
        return True
