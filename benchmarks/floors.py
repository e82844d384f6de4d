"""The floor under an add to a persistent store, measured in the same process and minute as
the adds (scenario 1 on each store, asyncz_like's column).

An add to a persistent store is one committed write. What the database, its driver and the
round trip cost for that write, with none of the scheduler's work, bounds how fast any add
can be on this machine at that moment; the table shows it next to the add itself, so that a
missed target can be told apart from a slow machine. Each floor writes ``count`` rows of the
size and shape of the adds' records, one write each, as an add does:

- SQL: ``insert_driver_ms``, one ``INSERT`` and its commit through the raw DB-API
  connection of the store's engine (SQLite: one autocommitted statement); and
  ``insert_sqlalchemy_ms``, the same through SQLAlchemy Core (``engine.begin()``, an insert,
  the commit), the library the SQL store is built on. Both write into a table of the store's
  schema (its indexes included) of their own, ``<table>_floor``, dropped with the run.
- Redis: ``ping_ms``, a ``PING`` through the client's pool: the bare round trip; and
  ``add_script_ms``, the store's own add script on its held connection with a record made
  beforehand: the add without building, checking and encoding the task.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from asyncz_like.stores.sqlalchemy.statements import build_table


def add_floors(store: Any, record: bytes, count: int) -> dict[str, float]:
    """The floors (ms per write) under an add to ``store`` (a SQLAlchemy or Redis store of
    asyncz_like), writing ``record``-sized rows."""
    if hasattr(store, "_db"):
        return _sql_floors(store, record, count)
    return _redis_floors(store, record, count)


def _ms_per_call(call: Callable[[int], Any], count: int) -> float:
    started = time.perf_counter()
    for index in range(count):
        call(index)
    return (time.perf_counter() - started) / count * 1e3


def _sql_floors(store: Any, record: bytes, count: int) -> dict[str, float]:
    engine = store._db.engine  # bench-only: the store keeps its engine private
    table = build_table(f"{store._db.table.name}_floor")
    table.create(engine)
    insert = table.insert()
    score = time.time() + 3600.0

    def through_sqlalchemy(index: int) -> None:
        with engine.begin() as connection:
            connection.execute(
                insert, {"id": f"sa-{index}", "next_run_time": score, "state": record}
            )

    marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {engine.dialect.identifier_preparer.quote(table.name)} "
        f"(id, next_run_time, state) VALUES ({marker}, {marker}, {marker})"
    )
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        autocommit = engine.dialect.name == "sqlite"  # the store's engine set it so

        def through_driver(index: int) -> None:
            cursor = driver.cursor()
            try:
                cursor.execute(statement, (f"db-{index}", score, record))
            finally:
                cursor.close()
            if not autocommit:
                driver.commit()

        through_driver(-1)  # the first statement of a connection prepares and caches
        through_sqlalchemy(-1)
        return {
            "insert_driver_ms": _ms_per_call(through_driver, count),
            "insert_sqlalchemy_ms": _ms_per_call(through_sqlalchemy, count),
        }
    finally:
        raw.close()


def _redis_floors(store: Any, record: bytes, count: int) -> dict[str, float]:
    keys = [f"{store.tasks_key}_floor", f"{store.run_times_key}_floor"]
    score = repr(time.time() + 3600.0)
    client, add = store.client, store._scripts.add  # bench-only: the store's own script

    def add_script(index: int) -> None:
        if not add(keys=keys, args=[f"floor-{index}", record, score, "0"]):
            raise RuntimeError("floor: the add script refused a new id")

    add_script(-1)
    try:
        return {
            "ping_ms": _ms_per_call(lambda _: client.ping(), count),
            "add_script_ms": _ms_per_call(add_script, count),
        }
    finally:
        client.delete(*keys)
