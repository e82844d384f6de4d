"""Short transactions on one engine, retried when they fail transiently (a lost connection, a
deadlock, a busy SQLite file): what the SQL store and the SQL broker share."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

import sqlalchemy as sa
import tenacity
from sqlalchemy import exc

from asyncz_like.stores.sqlalchemy import engine as engines

T = TypeVar("T")

#: Attempts per operation, and the backoff between them (seconds, exponential, jittered):
#: 0.05, 0.1, 0.2 (at most 1), each plus up to 0.05.
ATTEMPTS = 4
_FIRST_WAIT, _WAIT_CAP, _JITTER = 0.05, 1.0, 0.05
#: The waits after the second attempt and on (the first attempt runs outside tenacity).
_LATER_WAITS = tenacity.wait_exponential(
    multiplier=2 * _FIRST_WAIT, max=_WAIT_CAP
) + tenacity.wait_random(0, _JITTER)


class Transactions:
    """Transactions on ``engine`` for the table ``table_name`` (named in the warnings of
    retries): on SQLite a writing one begins IMMEDIATE (the single writer lock); on an
    in-memory SQLite database, one connection, they take turns (:attr:`serial`)."""

    def __init__(self, engine: sa.Engine, table_name: str, logger: logging.Logger) -> None:
        self.engine = engine
        self.table_name = table_name
        self.logger = logger
        is_sqlite = engine.dialect.name == "sqlite"
        self._writer = (
            engine.execution_options(**{engines.SQLITE_BEGIN: "IMMEDIATE"}) if is_sqlite else engine
        )
        #: Held around each connection's use: a lock on an in-memory SQLite database.
        self.serial: AbstractContextManager[Any] = nullcontext()
        if engines.is_memory_sqlite(engine):
            self.serial = threading.Lock()
        self._retrying = tenacity.Retrying(  # the attempts after the first
            stop=tenacity.stop_after_attempt(ATTEMPTS - 1),
            wait=_LATER_WAITS,
            retry=tenacity.retry_if_exception(engines.is_transient),
            before_sleep=self._log_retry,
            reraise=True,
        )

    def retry(self, operation: Callable[..., T], *args: Any) -> T:
        """Run ``operation(*args)``; again, after a pause, when it fails transiently
        (``ATTEMPTS`` in all). The first attempt runs outside tenacity, whose bookkeeping
        costs some 30 µs a call: more than a statement's own Python work."""
        try:
            return operation(*args)
        except Exception as error:
            if not engines.is_transient(error):
                raise
            self._warn(error, 1)
        time.sleep(_FIRST_WAIT + random.uniform(0, _JITTER))
        return self._retrying.copy()(operation, *args)

    @contextmanager
    def transaction(self, write: bool) -> Iterator[sa.Connection]:
        """A transaction; on SQLite a writing one begins IMMEDIATE (the single writer lock)."""
        with self.serial, (self._writer if write else self.engine).begin() as connection:
            yield connection

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        self._warn(error, state.attempt_number + 1)

    def _warn(self, error: BaseException | None, attempt: int) -> None:
        if isinstance(error, exc.DBAPIError):  # the driver's words, without SQL and parameters
            error = error.orig or error
        lines = str(error).strip().splitlines()
        self.logger.warning(
            "Transient database error on table %s (attempt %d of %d), retrying: %s: %s",
            self.table_name,
            attempt,
            ATTEMPTS,
            type(error).__name__,
            lines[0] if lines else "",
            extra={"table": self.table_name, "attempt": attempt},
        )
