"""The SQL broker's own rates, single process: enqueue and claim+complete, per backend.

Run it from the repository with its venv (``PYTHONPATH=. .venv/bin/python benchmarks/brokers.py
[--runs N] [--batch B] [--claim C] [--finished F] [--only sqlite|postgresql|mariadb]``).
For each backend it prints, for ``--runs`` runs (10,000 by default):

* enqueue/s one at a time, and in batches of ``--batch`` (one round trip each);
* claim+complete/s draining them, ``--claim`` runs per claim, each run completed on its own;
* with ``--finished F`` > 0: the median time of a claim of one run with an empty table and
  with F finished runs kept, to show that a claim costs the same.

It uses the test servers (``ASYNCZ_LIKE_POSTGRES_URL``, ``ASYNCZ_LIKE_MARIADB_URL``, else
PostgreSQL and MariaDB on 127.0.0.1; MariaDB through mysqlclient when it is installed, else
PyMySQL: ``drain.mariadb_url``) and a table of its own, dropped at the end. No target is
enforced: see docs/brokers.md for the figures of the latest run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers import Envelope
from asyncz_like.brokers.sqlalchemy import SQLAlchemyBroker
from asyncz_like.brokers.sqlalchemy.schema import to_micros
from benchmarks.drain import drop_table, mariadb_url

TARGET = "benchmarks.brokers:noop"
URLS: dict[str, Callable[[str], str]] = {
    "sqlite": lambda tmp: f"sqlite:///{tmp}/runs.db",
    "postgresql": lambda tmp: os.environ.get(
        "ASYNCZ_LIKE_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": lambda tmp: mariadb_url(),
}


def noop() -> None:
    """What the benchmark's runs name."""


def envelopes(prefix: str, count: int) -> list[Envelope]:
    return [Envelope(f"{prefix}-{index}", TARGET, args=(index,)) for index in range(count)]


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>9,.0f}/s"


def enqueue_rates(broker: SQLAlchemyBroker, runs: int, batch: int) -> tuple[float, float]:
    singles = envelopes("one", runs)
    started = time.perf_counter()
    for envelope in singles:
        broker.enqueue([envelope])
    one = time.perf_counter() - started
    many = envelopes("many", runs)
    started = time.perf_counter()
    for start in range(0, runs, batch):
        broker.enqueue(many[start : start + batch])
    return one, time.perf_counter() - started


def drain(broker: SQLAlchemyBroker, per_claim: int) -> tuple[int, float]:
    done = 0
    started = time.perf_counter()
    while True:
        now = datetime.now(UTC)
        deliveries = broker.claim("bench", ["default"], per_claim, now)
        if not deliveries:
            return done, time.perf_counter() - started
        for delivery in deliveries:
            broker.complete(delivery.run_id, delivery.token, None, now)
        done += len(deliveries)


def claim_ms(broker: SQLAlchemyBroker, cycles: int) -> float:
    """The median ms of a claim of one run (enqueued before, completed after, untimed)."""
    times = []
    for index in range(cycles):
        broker.enqueue([Envelope(f"cycle-{uuid.uuid4().hex}-{index}", TARGET)])
        now = datetime.now(UTC)
        started = time.perf_counter()
        (delivery,) = broker.claim("bench", ["default"], 1, now)
        times.append(time.perf_counter() - started)
        broker.complete(delivery.run_id, delivery.token, None, now)
    return statistics.median(times) * 1000


def add_finished(broker: SQLAlchemyBroker, count: int) -> None:
    """``count`` completed runs, inserted straight into the table in big batches."""
    table = broker.db.table
    moment = to_micros(datetime.now(UTC))
    payload = b"J1{}"
    for start in range(0, count, 10_000):
        rows: list[dict[str, Any]] = [
            {"id": f"done-{index}", "queue": "default", "priority": 0, "status": "completed",
             "due": moment, "created_at": moment, "finished_at": moment, "token": 1,
             "attempt": 1, "lost": 0, "max_deliveries": 3, "cancel_requested": False,
             "progress": 100.0, "payload": payload}
            for index in range(start, min(start + 10_000, count))
        ]  # fmt: skip
        with broker.db.engine.begin() as connection:
            connection.execute(sa.insert(table), rows)
    if broker.db.is_postgresql:
        with broker.db.engine.connect() as connection:
            connection.execute(sa.text(f"ANALYZE {table.name}"))
            connection.commit()


def compare_claims(name: str, url: str, empty: SQLAlchemyBroker, args: argparse.Namespace) -> None:
    """Claims on a table without finished runs and on one with ``--finished`` of them, in
    alternating rounds (the machine's load changes over a run: both tables see it)."""
    full = SQLAlchemyBroker(url, tablename=f"bench_{uuid.uuid4().hex[:8]}")
    full.start()
    try:
        empty.cleanup(datetime.now(UTC))
        add_finished(full, args.finished)
        times: dict[str, list[float]] = {"empty": [], "full": []}
        for _ in range(10):
            times["empty"].append(claim_ms(empty, args.cycles // 10))
            times["full"].append(claim_ms(full, args.cycles // 10))
        print(f"{'':<11} a claim of one run, median of medians: "
              f"{statistics.median(times['empty']):.2f} ms with no finished run, "
              f"{statistics.median(times['full']):.2f} ms with {args.finished:,} kept")  # fmt: skip
    finally:
        drop_table(full)
        full.shutdown()


def bench(name: str, url: str, args: argparse.Namespace) -> None:
    broker = SQLAlchemyBroker(url, tablename=f"bench_{uuid.uuid4().hex[:8]}")
    broker.start()
    try:
        one, many = enqueue_rates(broker, args.runs, args.batch)
        drained, seconds = drain(broker, args.claim)
        print(f"{name:<11} enqueue one at a time {rate(args.runs, one)}   "
              f"batches of {args.batch} {rate(args.runs, many)}   "
              f"claim+complete ({args.claim}/claim) {rate(drained, seconds)}")  # fmt: skip
        if args.finished:
            compare_claims(name, url, broker, args)
    finally:
        drop_table(broker)
        broker.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--claim", type=int, default=20)
    parser.add_argument("--finished", type=int, default=0)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--only", action="append", choices=sorted(URLS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in URLS.items():
            if not args.only or name in args.only:
                bench(name, url(tmp), args)


if __name__ == "__main__":
    main()
