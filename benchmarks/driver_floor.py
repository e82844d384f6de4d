"""The commit floors under a one-run enqueue to the SQL broker, measured in the same run.

A one-run enqueue is one durable committed statement. Here the driver alone (psycopg,
mysqlclient or PyMySQL, sqlite3, on one connection of the broker's engine taken out of its
pool and held, in autocommit) runs ``count`` statements of each of two kinds into a scratch
table of the broker's schema and indexes, each with the row of a run of ``TARGET`` made by
the broker's own code, one statement per row, the two kinds alternating in blocks:

* :data:`FLOOR`, a plain ``INSERT``: no SQLAlchemy, no envelope, no ``ON CONFLICT``, no
  ``RETURNING``, no NOTIFY. Nothing that enqueues one run at a time through this driver and
  server can go faster.
* :data:`STATEMENT_FLOOR`, our own statement, as a ``submit`` sends it
  (``asyncz_like/brokers/sqlalchemy/insert_few.py``: ``ON CONFLICT DO NOTHING RETURNING id``
  and, on PostgreSQL, the NOTIFY of its queue; ``INSERT IGNORE`` on MariaDB), its parameters
  made beforehand and its result rows fetched. The gap from the first to this one is what
  the statement costs (mostly the server); from this one to a ``submit``, our Python.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from asyncz_like.brokers.records import Envelope
from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.insert_few import FewRowInserts
from asyncz_like.brokers.sqlalchemy.rows import NEW_COLUMNS, new_batch, new_values
from asyncz_like.brokers.sqlalchemy.schema import build_table
from asyncz_like.brokers.sqlalchemy.waiting import channel_of

FLOOR = "driver floor"
STATEMENT_FLOOR = "our statement, bare driver"
#: Statements of one kind in a row before the other kind's: both see the same moments.
BLOCK = 50
_WARM = 10  # the first statements of a connection prepare and cache: not timed


def driver_floors(broker: Any, target: str, count: int) -> dict[str, tuple[float, float]]:
    """For :data:`FLOOR` and :data:`STATEMENT_FLOOR`: rows per second and CPU µs per row of
    one-row autocommitted statements through the raw driver of ``broker`` (a
    SQLAlchemyBroker), into a scratch table dropped afterwards."""
    db = broker.db
    table = build_table(f"{db.table.name}_floor", db.dialect)
    table.create(db.engine)
    ours = FewRowInserts(Database(db.engine, table.name, False, db.logger))
    channel = channel_of(table.name)
    raw = db.engine.raw_connection()
    driver = raw.driver_connection
    raw.detach()  # ours now: its autocommit switched on, closed at the end, never pooled
    try:
        _autocommit(driver, db.dialect)
        now, serializer = datetime.now(UTC), broker.serializer
        batch = None if ours.returns else new_batch()
        plain = [
            [*new_values(_envelope(target, index), now, serializer), *([batch] if batch else [])]
            for index in range(-_WARM, count)
        ]
        mine = [ours.parameters([_envelope(target, index)], now, batch, serializer, channel)
                for index in range(-_WARM, count)]  # fmt: skip
        kinds = {
            FLOOR: (_insert_statement(table, db), plain),
            STATEMENT_FLOOR: (ours.statement(1), mine),
        }
        cursor = driver.cursor()
        for statement, rows in kinds.values():
            _run(cursor, statement, rows[:_WARM])
        spent = {kind: [0.0, 0.0] for kind in kinds}  # wall, CPU
        for block, start in enumerate(range(_WARM, _WARM + count, BLOCK)):
            for kind in list(kinds) if block % 2 == 0 else list(kinds)[::-1]:
                statement, rows = kinds[kind]
                cpu, wall = time.process_time(), time.perf_counter()
                _run(cursor, statement, rows[start : start + BLOCK])
                spent[kind][0] += time.perf_counter() - wall
                spent[kind][1] += time.process_time() - cpu
        cursor.close()
    finally:
        driver.close()
        table.drop(db.engine)
    return {kind: (count / wall, cpu / count * 1e6) for kind, (wall, cpu) in spent.items()}


def _run(cursor: Any, statement: str, rows: list[Any]) -> None:
    """Each row's statement, its result rows read as the broker reads them."""
    for row in rows:
        cursor.execute(statement, row)
        if cursor.description is not None:
            cursor.fetchall()


def _autocommit(driver: Any, dialect: str) -> None:
    if dialect == "postgresql":
        driver.autocommit = True
    elif dialect in ("mysql", "mariadb"):
        driver.autocommit(True)
    # sqlite3: the engine's connections are in autocommit already (isolation_level None)


def _insert_statement(table: Any, db: Any) -> str:
    """A plain INSERT of the values of NEW_COLUMNS (and, on MariaDB, the batch mark)."""
    names = [*NEW_COLUMNS, *(["batch"] if not (db.is_postgresql or db.is_sqlite) else [])]
    marks = ", ".join("?" if db.is_sqlite else "%s" for _ in names)
    quoted = db.engine.dialect.identifier_preparer.quote(table.name)
    return f"INSERT INTO {quoted} ({', '.join(names)}) VALUES ({marks})"


def _envelope(target: str, index: int) -> Envelope:
    return Envelope(uuid.uuid4().hex, target, args=(index,), name=target.split(":")[-1])
