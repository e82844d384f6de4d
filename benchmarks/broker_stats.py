"""What a broker's ``stats(now)`` costs with many runs waiting.

Run it from the repository with its venv::

    PYTHONPATH=. .venv/bin/python benchmarks/broker_stats.py [--runs 10000 100000]
        [--calls 20] [--only redis --only postgresql --only mariadb --only sqlite]

For each number of ``--runs`` and each broker, it enqueues that many runs (batches of 1,000)
on one queue of a fresh key prefix or table: three priorities, one run in ten delayed by a
day; then calls ``stats(now)`` ``--calls`` times and prints the median and the fastest wall
time in ms, and the median CPU time of this process (the rest is the server's: on Redis the
server runs nothing else meanwhile). It checks the counts. The keys or table are deleted at
the end; the load average is printed with the figures. It uses the test servers, as
``drain.py`` does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from asyncz_like.brokers import BaseBroker, Envelope
from asyncz_like.brokers.plugins import make_broker
from benchmarks.drain import CONFIGS, drop_table

TARGET = "benchmarks.drain:noop"
BATCH = 1000
QUEUE = "stats"


def fill(broker: BaseBroker, count: int, now: datetime) -> None:
    """``count`` runs waiting: priorities 0, 1 and 2, every tenth due a day later."""
    later = now + timedelta(days=1)
    for start in range(0, count, BATCH):
        broker.enqueue([
            Envelope(f"s{index}", TARGET, queue=QUEUE, priority=index % 3,
                     due=later if index % 10 == 0 else None, created_at=now)
            for index in range(start, min(count, start + BATCH))
        ], now=now)  # fmt: skip


def measure(broker: BaseBroker, count: int, calls: int) -> tuple[float, float, float]:
    """Median and fastest wall ms, median CPU ms of ``calls`` stats()."""
    walls, cpus = [], []
    for _ in range(calls):
        wall, cpu = time.perf_counter(), time.process_time()
        stats = broker.stats(datetime.now(UTC))[QUEUE]
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        assert stats.waiting == count and stats.scheduled == (count + 9) // 10, stats
    return statistics.median(walls), min(walls), statistics.median(cpus)


def delete(broker: BaseBroker, name: str) -> None:
    if name == "redis":
        client, prefix = broker.client, broker.prefix  # type: ignore[attr-defined]
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    else:
        drop_table(broker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--only", action="append", choices=sorted(CONFIGS), default=None)
    args = parser.parse_args()
    names = args.only or ["redis", "postgresql", "mariadb", "sqlite"]
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.runs:
            for name in names:
                config = CONFIGS[name](tmp, f"stats{uuid.uuid4().hex[:8]}")
                broker = make_broker(config)
                broker.start()
                try:
                    fill(broker, count, datetime.now(UTC))
                    median, fastest, cpu = measure(broker, count, args.calls)
                finally:
                    delete(broker, name)
                    broker.shutdown()
                print(f"{name:<10} {count:>7,} waiting: stats() {median:8.2f} ms median, "
                      f"{fastest:8.2f} fastest, {cpu:6.2f} ms CPU here "
                      f"(load {os.getloadavg()[0]:.2f})", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
