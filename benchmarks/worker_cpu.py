"""The worker's own cost: CPU time per run of one in-process ``Worker`` draining a queue.

Run it from the repository with its venv::

    PYTHONPATH=. .venv/bin/python benchmarks/worker_cpu.py [--only memory --only redis]
        [--runs N] [--repetitions 3] [--sync] [--profile FILE]

For each broker (memory, redis, postgresql, mariadb, rabbitmq) it enqueues ``--runs`` no-op runs
(coroutines, or plain functions with ``--sync``), then drains them with one ``Worker`` of
concurrency 20 in this process, and prints the process's CPU time (user + system, all its
threads: the worker's loop, its broker threads and the driver) per run, the part of it spent
in the event loop's thread, and the runs per
second from the worker's start to the last RUN_COMPLETED. Unlike the wall-clock rates of
``drain.py``, the CPU per run barely moves with the machine's load: compare two commits with
it, alternating them (``PYTHONPATH=<other checkout>``). The load average is printed beside.
MariaDB goes through the driver of ``drain.py`` (mysqlclient when it is installed; set
``ASYNCZ_LIKE_MARIADB_URL`` to compare ``mysql+pymysql://`` and ``mysql+mysqldb://``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import resource
import sys
import tempfile
import time
import uuid
from typing import Any

from asyncz_like.brokers import BaseBroker, Envelope
from asyncz_like.brokers.plugins import make_broker
from asyncz_like.workers import Worker
from benchmarks.drain import BATCH, CONCURRENCY, CONFIGS, completions, dropped

NAMES = ("memory", "redis", "postgresql", "mariadb", "rabbitmq")


def sync_noop(index: int) -> None:
    """What the ``--sync`` runs name."""


def config_of(name: str, tmp: str, token: str) -> dict[str, Any]:
    if name == "memory":
        return {"type": "memory"}
    if name == "rabbitmq":
        from benchmarks.anchors import our_rabbitmq

        return our_rabbitmq(token)
    return CONFIGS[name](tmp, token)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drain(
    broker: BaseBroker, runs: int, target: str, profiler: cProfile.Profile | None
) -> tuple[float, float, float]:
    """CPU µs per run (the process; the event loop's thread), runs per second: one Worker
    draining ``runs`` runs."""
    prefix = uuid.uuid4().hex[:8]
    sent = [Envelope(f"{prefix}-{index}", target, args=(index,)) for index in range(runs)]
    for start in range(0, runs, BATCH):
        broker.enqueue(sent[start : start + BATCH])
    worker = Worker(broker, concurrency=CONCURRENCY)

    async def main() -> tuple[float, float, float]:
        done = completions(worker, runs)
        cpu, wall, loop = cpu_seconds(), time.monotonic(), time.thread_time()
        if profiler is not None:
            profiler.enable()
        task = asyncio.create_task(worker.run())
        await done.wait()
        if profiler is not None:
            profiler.disable()
        loop, cpu = time.thread_time() - loop, cpu_seconds() - cpu
        wall = time.monotonic() - wall
        worker.stop()
        await task
        return cpu / runs * 1e6, loop / runs * 1e6, runs / wall

    return asyncio.run(main())


def measure(
    name: str, runs: int, target: str, tmp: str, profiler: cProfile.Profile | None
) -> tuple[float, float, float]:
    config = config_of(name, tmp, uuid.uuid4().hex[:8])
    broker = make_broker(dict(config))
    broker.start()
    try:
        return drain(broker, runs, target, profiler)
    finally:
        if name == "rabbitmq":
            from benchmarks.anchors import drop_our_rabbitmq

            broker.shutdown()
            drop_our_rabbitmq()
        elif name != "memory":
            dropped(broker)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--only", action="append", choices=NAMES)
    parser.add_argument("--sync", action="store_true", help="plain functions, not coroutines")
    parser.add_argument("--profile", help="write a cProfile dump of the drains (one thread)")
    args = parser.parse_args(argv)
    target = "benchmarks.worker_cpu:sync_noop" if args.sync else "benchmarks.drain:noop"
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or NAMES:
            for _ in range(args.repetitions):
                load = os.getloadavg()[0]
                cpu, loop, rate = measure(name, args.runs, target, tmp, profiler)
                print(f"{name:<10} {cpu:5.0f} µs CPU/run ({loop:3.0f} in the loop) "
                      f"{rate:7,.0f} runs/s (load {load:.2f})", flush=True)  # fmt: skip
    if profiler is not None:
        profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
