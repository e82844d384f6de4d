"""Test-only writes into a store's storage: what no store offers (on purpose) as API."""

from __future__ import annotations

from typing import Any


def overwrite_record(store: Any, task_id: str, raw: bytes) -> None:
    """Store ``raw`` as the record of ``task_id`` (to break it on purpose): a SQL or a Redis
    store."""
    if hasattr(store, "tasks_key"):  # Redis: the hash of records
        store.client.hset(store.tasks_key, task_id, raw)
        return
    database = store.database
    database.write(database.sql.overwrite_state, task_id=task_id, state=raw)


def drop_sql_table(store: Any) -> None:
    """Drop a SQL store's table and close its connections."""
    database = store.database

    def drop() -> None:
        database.table.drop(database.engine, checkfirst=True)
        database.slots.table.drop(database.engine, checkfirst=True)

    database.retry(drop)
    database.dispose()
