"""Run history in the scheduler's persistent store (SQL or Redis), so that runs survive a
restart and pending work is kept for the next start.

:func:`history_for_store` builds the history for a store, or returns None for a store that
does not keep runs (memory, file).
"""

from __future__ import annotations

from typing import Any

from asyncz_like.workers.persistent.backend import RunRow, RunStore
from asyncz_like.workers.persistent.codec import KeptWork, UnstoredResult
from asyncz_like.workers.persistent.history import StoredRunHistory

__all__ = [
    "KeptWork",
    "RunRow",
    "RunStore",
    "StoredRunHistory",
    "UnstoredResult",
    "history_for_store",
    "run_store_for",
]


def run_store_for(store: Any) -> RunStore | None:
    """The run records beside a SQLAlchemyStore's table or a RedisStore's keys; None for
    any other store. (The store modules import their libraries only when a store is made.)"""
    from asyncz_like.stores.redis.store import RedisStore
    from asyncz_like.stores.sqlalchemy.store import SQLAlchemyStore

    if isinstance(store, SQLAlchemyStore):
        from asyncz_like.workers.persistent.sql import SQLRunStore

        db = store.database
        return SQLRunStore(db, db.table.name, store.serializer)
    if isinstance(store, RedisStore):
        from asyncz_like.workers.persistent.redis import RedisRunStore

        return RedisRunStore(store.client, f"{store.tasks_key}.runs", store.serializer,
                             store.logger)  # fmt: skip
    return None


def history_for_store(store: Any, **limits: Any) -> StoredRunHistory | None:
    """A :class:`StoredRunHistory` in ``store`` with these limits (``max_run_history``,
    ``run_result_ttl``, ``flush_interval``), or None when ``store`` does not keep runs."""
    backend = run_store_for(store)
    return None if backend is None else StoredRunHistory(backend, **limits)
