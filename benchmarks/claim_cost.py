"""What a SQL broker's claim costs with 1,000,000 finished runs kept, against a few.

Run it from the repository with its venv::

    PYTHONPATH=. .venv/bin/python benchmarks/claim_cost.py [--finished 1000000]
        [--cycles 200] [--only postgresql --only mariadb --only sqlite]

For each backend (PostgreSQL, MariaDB, SQLite) it makes two run tables of its own: one with
``--finished`` completed runs, inserted on the server (``INSERT ... SELECT`` from
``generate_series`` on PostgreSQL, from the ``seq_1_to_N`` sequence table on MariaDB, from a
recursive CTE on SQLite), and one with 100. Then ``--cycles`` times per table, in ten
alternating rounds (the machine's load changes over a run: both tables see it): a run is
enqueued (untimed), claimed and completed; it prints the median claim and the median
claim+complete in ms, and the EXPLAIN of the claim's statement on the big table, with
whether it reads the ``<table>_claim`` index. The tables are dropped at the end. The
load average is printed with the figures. Redis has the same figure in
``benchmarks/redis_broker.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers import Envelope
from asyncz_like.brokers.sqlalchemy import SQLAlchemyBroker
from asyncz_like.brokers.sqlalchemy.schema import to_micros
from benchmarks.brokers import TARGET, URLS
from benchmarks.drain import drop_table

FEW = 100
ROUNDS = 10
#: What a finished row holds besides its id (the same on every backend).
_COLUMNS = ("id, queue, priority, status, due, created_at, finished_at, token, attempt, lost, "
            "max_deliveries, cancel_requested, progress, payload")  # fmt: skip
_VALUES = "'default', 0, 'completed', :m, :m, :m, 1, 1, 0, 3, false, 100, :payload"


def fill(broker: SQLAlchemyBroker, count: int) -> float:
    """Insert ``count`` completed runs on the server; the seconds it took."""
    table, db = broker.db.table.name, broker.db
    params: dict[str, Any] = {"m": to_micros(datetime.now(UTC)), "payload": b"J1{}"}
    started = time.perf_counter()
    with db.engine.begin() as connection:
        if db.is_postgresql:
            connection.execute(sa.text(
                f"INSERT INTO {table} ({_COLUMNS}) SELECT 'done-' || g, {_VALUES} "
                f"FROM generate_series(1, :n) AS g"
            ), {**params, "n": count})  # fmt: skip
        elif db.is_sqlite:
            connection.execute(sa.text(
                f"INSERT INTO {table} ({_COLUMNS}) WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL "
                f"SELECT n + 1 FROM g WHERE n < :n) SELECT 'done-' || n, {_VALUES} FROM g"
            ), {**params, "n": count})  # fmt: skip
        else:  # MariaDB's Sequence engine: the table seq_1_to_N exists for any N
            for start in range(0, count, 200_000):
                size = min(200_000, count - start)
                connection.execute(sa.text(
                    f"INSERT INTO {table} ({_COLUMNS}) SELECT CONCAT('done-', seq + :base), "
                    f"{_VALUES} FROM seq_1_to_{size}"
                ), {**params, "base": start})  # fmt: skip
    with db.engine.begin() as connection:
        if db.is_postgresql:
            connection.execute(sa.text(f"ANALYZE {table}"))
        elif db.is_sqlite:
            connection.execute(sa.text("ANALYZE"))
        else:
            connection.execute(sa.text(f"ANALYZE TABLE {table}"))
    return time.perf_counter() - started


def cycles(broker: SQLAlchemyBroker, count: int) -> tuple[list[float], list[float]]:
    """Seconds of each claim, and of each claim+complete, of one run enqueued just before."""
    claims, rounds = [], []
    for index in range(count):
        broker.enqueue([Envelope(f"cycle-{uuid.uuid4().hex}-{index}", TARGET)])
        now = datetime.now(UTC)
        started = time.perf_counter()
        (delivery,) = broker.claim("bench", ["default"], 1, now)
        claimed = time.perf_counter()
        broker.complete(delivery.run_id, delivery.token, None, now)
        claims.append(claimed - started)
        rounds.append(time.perf_counter() - started)
    return claims, rounds


def explain(broker: SQLAlchemyBroker) -> list[str]:
    """The plan of the claim's statement (the one that orders the line), as the database
    gives it, made by a real claim of a run enqueued for it."""
    seen: list[tuple[str, Any]] = []

    def capture(connection: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "ORDER BY" in statement and not seen:
            seen.append((statement, parameters))

    engine = broker.db.engine
    broker.enqueue([Envelope(f"explained-{uuid.uuid4().hex}", TARGET)])
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        (delivery,) = broker.claim("bench", ["default"], 1, datetime.now(UTC))
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    broker.complete(delivery.run_id, delivery.token, None, datetime.now(UTC))
    statement, parameters = seen[0]
    prefix = "EXPLAIN QUERY PLAN " if broker.db.is_sqlite else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + statement, parameters).fetchall()
        connection.rollback()
    return [" | ".join(str(value) for value in row) for row in rows]


def measure(name: str, url: str, args: argparse.Namespace) -> None:
    full = SQLAlchemyBroker(url, tablename=f"bench_{uuid.uuid4().hex[:8]}")
    few = SQLAlchemyBroker(url, tablename=f"bench_{uuid.uuid4().hex[:8]}")
    made = []
    try:
        for broker in (full, few):
            broker.start()
            made.append(broker)
        seconds = fill(full, args.finished)
        fill(few, FEW)
        print(f"{name}: {args.finished:,} finished runs inserted in {seconds:.1f} s", flush=True)
        times: dict[str, tuple[list[float], list[float]]] = {"few": ([], []), "full": ([], [])}
        for _ in range(ROUNDS):
            for key, broker in (("few", few), ("full", full)):
                claims, rounds = cycles(broker, args.cycles // ROUNDS)
                times[key][0].extend(claims)
                times[key][1].extend(rounds)
        for key, count in (("few", FEW), ("full", args.finished)):
            claims, rounds = times[key]
            print(f"  {count:>9,} finished: claim {statistics.median(claims) * 1000:.3f} ms, "
                  f"claim+complete {statistics.median(rounds) * 1000:.3f} ms "
                  f"(medians of {len(claims)}; load {os.getloadavg()[0]:.2f})")  # fmt: skip
        plan = explain(full)
        index = f"{full.db.table.name}_claim"
        print(f"  EXPLAIN of the claim with {args.finished:,} finished (reads {index}: "
              f"{'yes' if any(index in line for line in plan) else 'NO'}):")  # fmt: skip
        for line in plan:
            print(f"    {line}")
    finally:
        for broker in made:
            drop_table(broker)
            broker.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--finished", type=int, default=1_000_000)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--only", action="append", choices=list(URLS))
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or ["postgresql", "mariadb", "sqlite"]:
            measure(name, URLS[name](tmp), args)
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
