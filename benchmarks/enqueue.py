"""Issue #19's enqueue rates through the public API: runs/s submitted to a scheduler that only
enqueues (``AsyncIOScheduler(broker=..., worker=False)``), per broker.

Run it from the repository with its venv::

    PYTHONPATH=. .venv/bin/python benchmarks/enqueue.py [--only postgresql --only redis]
        [--singles 500] [--batches 10] [--threads 8] [--repetitions 3]

For each broker (memory, SQLite, PostgreSQL, MariaDB, Redis, and RabbitMQ with its runs kept
by Redis) it measures, in runs per second of wall time and in CPU microseconds per run of
this process: ``scheduler.submit`` called ``--singles`` times one after the other (it is
sync: each call returns when the run is stored); the same number of ``submit`` calls spread
over ``--threads`` threads at once; ``scheduler.submit_many`` in ``--batches`` batches of
1,000. Targets (issue #19): 2,000/s one at a time, 20,000/s in batches. Beside each SQL
broker's one-at-a-time rate, its two floors measured in the same run
(``benchmarks/driver_floor.py``), the driver alone on a held connection, one row per
autocommitted statement: a plain ``INSERT`` ("driver floor"), and the statement a ``submit``
sends ("our statement, bare driver"); and the one-at-a-time rate as a share of each. Medians of
``--repetitions``, the brokers alternating within a repetition; the load average is printed
with the figures. It uses the servers and the table or key prefixes of ``benchmarks/drain.py``
(RabbitMQ: ``benchmarks/anchors.py``'s), dropped at the end; MariaDB through mysqlclient when
it is installed, else PyMySQL, as there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from asyncz_like.schedulers import AsyncIOScheduler
from benchmarks.anchors import made_our_rabbitmq
from benchmarks.drain import CONFIGS, TARGET, dropped
from benchmarks.driver_floor import FLOOR, STATEMENT_FLOOR, driver_floors

BATCH = 1000
NAMES = ["memory", "sqlite", "postgresql", "mariadb", "redis", "rabbitmq"]
TARGETS = {"one at a time": 2_000.0, "threads": 2_000.0, "submit_many": 20_000.0}
SQL = ("sqlite", "postgresql", "mariadb")


def config_of(name: str, tmp: str) -> dict[str, Any]:
    if name == "memory":
        return {"type": "memory"}
    made = made_our_rabbitmq if name == "rabbitmq" else CONFIGS[name]
    return dict(made(tmp, uuid.uuid4().hex[:8]))


def timed(work: Callable[[], None]) -> tuple[float, float]:
    """Wall and CPU (this process, all threads) seconds of ``work()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def one_at_a_time(scheduler: AsyncIOScheduler, count: int) -> None:
    for index in range(count):
        scheduler.submit(TARGET, index)


def in_threads(scheduler: AsyncIOScheduler, count: int, threads: int) -> None:
    def caller(first: int) -> None:
        for index in range(first, count, threads):
            scheduler.submit(TARGET, index)

    started = [threading.Thread(target=caller, args=(first,)) for first in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()


def in_batches(scheduler: AsyncIOScheduler, batches: int) -> None:
    for batch in range(batches):
        scheduler.submit_many([(TARGET, (batch * BATCH + index,)) for index in range(BATCH)])


def measure(name: str, args: argparse.Namespace, tmp: str) -> dict[str, tuple[float, float]]:
    """Per case: runs/s and CPU µs per run, on a fresh table, prefix or queue."""
    config = config_of(name, tmp)
    figures: dict[str, tuple[float, float]] = {}

    async def main() -> None:
        scheduler = AsyncIOScheduler(broker=dict(config), worker=False)
        scheduler.start()
        try:
            one_at_a_time(scheduler, 20)  # connections, tables, queues declared
            cases: list[tuple[str, int, Callable[[], None]]] = [
                ("one at a time", args.singles, lambda: one_at_a_time(scheduler, args.singles)),
                ("threads", args.singles,
                 lambda: in_threads(scheduler, args.singles, args.threads)),
                ("submit_many", args.batches * BATCH,
                 lambda: in_batches(scheduler, args.batches)),
            ]  # fmt: skip
            for case, runs, work in cases:
                wall, cpu = timed(work)
                figures[case] = (runs / wall, cpu / runs * 1e6)
            if name in SQL:
                figures.update(driver_floors(scheduler.broker, TARGET, args.singles))
        finally:
            broker = scheduler.broker
            scheduler.shutdown(wait=False)
            if broker is not None and name != "memory":
                cleanup(name, config)

    asyncio.run(main())
    return figures


def cleanup(name: str, config: dict[str, Any]) -> None:
    from asyncz_like.brokers.plugins import make_broker

    if name == "rabbitmq":
        from benchmarks.anchors import drop_our_rabbitmq

        drop_our_rabbitmq()
        return
    broker = make_broker(dict(config))
    broker.start()
    dropped(broker)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--only", action="append", choices=NAMES)
    args = parser.parse_args(argv)
    names = args.only or NAMES
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; {args.singles} "
          f"submits, {args.batches} x {BATCH:,} submit_many", flush=True)  # fmt: skip
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repetition in range(args.repetitions):
            for name in names if repetition % 2 == 0 else names[::-1]:
                for case, figure in measure(name, args, tmp).items():
                    figures.setdefault((name, case), []).append(figure)
                    print(f"  {name:<10} {case:<13} {figure[0]:>9,.0f}/s "
                          f"{figure[1]:>7,.0f} µs CPU/run", flush=True)  # fmt: skip
    print(f"\nenqueue (median of {args.repetitions}; load {os.getloadavg()[0]:.2f}; "
          f"'threads': {args.threads} threads calling submit):")  # fmt: skip
    cases = {**TARGETS, FLOOR: 0.0, STATEMENT_FLOOR: 0.0}
    print(f"| broker | {' | '.join(f'{case} runs/s' for case in cases)} | "
          f"{' | '.join(f'{case} CPU µs/run' for case in cases)} |")  # fmt: skip
    print("|---" * (1 + 2 * len(cases)) + "|")
    for name in names:
        rates, cpus = [], []
        for case, target in cases.items():
            runs = figures.get((name, case))
            if runs is None:  # no driver floor: not a SQL broker
                rates.append("")
                cpus.append("")
                continue
            rate = statistics.median(rate for rate, _ in runs)
            rates.append(f"{rate:,.0f}{'' if rate >= target else ' (miss)'}")
            cpus.append(f"{statistics.median(cpu for _, cpu in runs):,.0f}")
        print(f"| {name} | {' | '.join(rates)} | {' | '.join(cpus)} |")
    shares(figures, [name for name in names if name in SQL])
    return 0


def shares(figures: dict[tuple[str, str], list[tuple[float, float]]], names: list[str]) -> None:
    """The one-at-a-time rate of each SQL broker as a share of its floors (medians)."""
    for name in names:
        rate = statistics.median(rate for rate, _ in figures[(name, "one at a time")])
        floors = [statistics.median(rate for rate, _ in figures[(name, floor)])
                  for floor in (FLOOR, STATEMENT_FLOOR)]  # fmt: skip
        print(f"{name}: one at a time is {rate / floors[0]:.0%} of the {FLOOR}, "
              f"{rate / floors[1]:.0%} of {STATEMENT_FLOOR}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
