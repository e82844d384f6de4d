"""How fast worker processes drain a broker's queue, and how soon an idle one starts new work.

Run it from the repository with its venv::

    PYTHONPATH=. .venv/bin/python benchmarks/drain.py [--runs N] [--processes 1 4]
        [--repetitions 3] [--only postgresql --only redis] [--latency-runs 250]

For each broker (memory in this process; SQLite, PostgreSQL, MariaDB and Redis through
``asyncz-like worker`` subprocesses with ``--concurrency 20``) it enqueues ``--runs`` no-op
coroutine runs in batches of 1,000, starts the workers, and measures the drain from the
first run's start to the last run's end as the broker recorded them (so the workers' start-up
is not counted). Medians of ``--repetitions``, the brokers alternating within a repetition.
Then, for PostgreSQL and Redis, one idle worker and runs enqueued one at a time at 50/s: the
enqueue-to-start latency p50/p99 (``started_at - created_at``, one host, one clock), and
the CPU time an idle worker process uses over ``--idle`` seconds (/proc). The machine's
load average is printed with the figures. It uses the test servers (the
``ASYNCZ_LIKE_*`` variables of tests/services.py, else 127.0.0.1) and a table or key prefix of
its own, dropped at the end. MariaDB goes through mysqlclient (``mysql+mysqldb://``, the
driver docs/brokers.md recommends) when it is installed, else through PyMySQL; the line of
figures names the driver.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncz_like.brokers import BaseBroker, Envelope, MemoryBroker
from asyncz_like.brokers.plugins import make_broker
from asyncz_like.events.constants import RUN_COMPLETED
from asyncz_like.runs.status import RunStatus
from asyncz_like.workers import Worker

TARGET = "benchmarks.drain:noop"
BATCH = 1000
CONCURRENCY = 20
ROOT = Path(__file__).resolve().parent.parent
REDIS = (
    os.environ.get("ASYNCZ_LIKE_REDIS_HOST", "127.0.0.1"),
    int(os.environ.get("ASYNCZ_LIKE_REDIS_PORT", "6379")),
)


def mariadb_url() -> str:
    """``ASYNCZ_LIKE_MARIADB_URL``, else the test server through mysqlclient when it is
    installed (the recommended driver), else through PyMySQL (the ``mysql`` extra)."""
    given = os.environ.get("ASYNCZ_LIKE_MARIADB_URL")
    if given:
        return given
    driver = "mysqldb" if importlib.util.find_spec("MySQLdb") else "pymysql"
    return f"mysql+{driver}://root@127.0.0.1:3306/test"


CONFIGS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "sqlite": lambda tmp, token: {
        "type": "sqlalchemy",
        "database": f"sqlite:///{tmp}/runs.db",
        "tablename": f"drain_{token}",
    },
    "postgresql": lambda tmp, token: {
        "type": "sqlalchemy",
        "tablename": f"drain_{token}",
        "database": os.environ.get(
            "ASYNCZ_LIKE_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    },
    "mariadb": lambda tmp, token: {
        "type": "sqlalchemy",
        "tablename": f"drain_{token}",
        "database": mariadb_url(),
    },
    "redis": lambda tmp, token: {
        "type": "redis",
        "host": REDIS[0],
        "port": REDIS[1],
        "prefix": f"bench.drain.{token}",
    },
}


async def noop(index: int) -> None:
    """What the benchmark's runs name."""


def envelopes(prefix: str, count: int) -> list[Envelope]:
    return [Envelope(f"{prefix}-{index}", TARGET, args=(index,)) for index in range(count)]


def enqueue_batches(broker: BaseBroker, runs: int) -> str:
    """Enqueue ``runs`` runs; the id of the last one (claimed among the last: same priority)."""
    sent = envelopes(uuid.uuid4().hex[:8], runs)
    for start in range(0, runs, BATCH):
        broker.enqueue(sent[start : start + BATCH])
    return sent[-1].run_id


def drain_seconds(broker: BaseBroker, runs: int) -> float:
    """From the first start to the last end, as recorded by the broker."""
    finished = broker.list_runs(status=RunStatus.COMPLETED, limit=runs)
    if len(finished) != runs:
        raise RuntimeError(f"{len(finished)} of {runs} runs completed")
    first = min(run.started_at for run in finished if run.started_at is not None)
    last = max(run.finished_at for run in finished if run.finished_at is not None)
    return (last - first).total_seconds()


def wait_until_done(broker: BaseBroker, runs: int, timeout: float, last: str | None = None) -> None:
    """Until ``runs`` runs have completed. With ``last`` (the run claimed among the last),
    ``stats`` is polled only once that run has finished: on a backlog it is no light call
    (10,000 pending runs: 30-100 ms of the Redis server's one thread, 12 ms of MariaDB's),
    and polling it every 50 ms slowed the very drain it timed, by a varying amount."""
    deadline = time.monotonic() + timeout
    while last is not None and time.monotonic() < deadline:
        run = broker.get_run(last)
        if run is not None and run.finished_at is not None:
            break
        time.sleep(0.05)
    while time.monotonic() < deadline:
        stats = broker.stats(datetime.now(UTC))
        if sum(queue.completed for queue in stats.values()) >= runs:
            return
        time.sleep(0.05)
    raise RuntimeError(f"the workers did not drain {runs} runs within {timeout} s")


def start_workers(config: dict[str, Any], count: int, tmp: str) -> list[subprocess.Popen[bytes]]:
    path = Path(tmp) / f"broker-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(config))
    command = [sys.executable, "-m", "asyncz_like.cli", "worker", "--broker", f"@{path}",
               "--concurrency", str(CONCURRENCY), "--log-level", "WARNING",
               "--import", "benchmarks.drain"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return [subprocess.Popen(command, cwd=ROOT, env=env) for _ in range(count)]


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def drop_table(broker: BaseBroker) -> None:
    """Drop a SQL broker's run and worker tables."""
    db = broker.db  # type: ignore[attr-defined]
    db.table.drop(db.engine, checkfirst=True)
    db.workers_table.drop(db.engine, checkfirst=True)


def delete_queues(broker: BaseBroker, queues: set[str]) -> None:
    """Delete a RabbitMQ broker's queues of these broker queues, and its dead letters."""
    wakeups = broker.wakeups  # type: ignore[attr-defined]

    def delete(channel: Any) -> None:
        for queue in queues:
            channel.queue_delete(wakeups.queue_name(queue))
        channel.queue_delete(wakeups.dead_letters)
        channel.exchange_delete(wakeups.dead_letters)

    wakeups.connection.call(delete)


def dropped(broker: BaseBroker) -> None:
    if hasattr(broker, "db"):
        drop_table(broker)
    elif hasattr(broker, "client"):
        keys = list(broker.client.scan_iter(f"{broker.prefix}:*", count=1000))  # type: ignore[attr-defined]
        for start in range(0, len(keys), 1000):
            broker.client.delete(*keys[start : start + 1000])  # type: ignore[attr-defined]
    broker.shutdown()


def drain_processes(name: str, runs: int, processes: int, tmp: str) -> float:
    """Runs per second drained by ``processes`` worker processes."""
    config = CONFIGS[name](tmp, uuid.uuid4().hex[:8])
    broker = make_broker(dict(config))
    broker.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        last = enqueue_batches(broker, runs)
        workers = start_workers(config, processes, tmp)
        wait_until_done(broker, runs, timeout=30 + runs / 50, last=last)
        return runs / drain_seconds(broker, runs)
    finally:
        stop_workers(workers)
        dropped(broker)


def completions(worker: Worker, runs: int) -> asyncio.Event:
    """An event set once ``worker`` has completed ``runs`` runs (made on the running loop)."""
    done = asyncio.Event()
    counted = [0]

    def count(event: Any) -> None:
        counted[0] += 1
        if counted[0] >= runs:
            done.set()

    worker.add_listener(count, RUN_COMPLETED)
    return done


def drain_memory(runs: int) -> float:
    """Runs per second drained by one in-process Worker on a MemoryBroker."""
    broker = MemoryBroker()
    broker.start()
    enqueue_batches(broker, runs)
    worker = Worker(broker, concurrency=CONCURRENCY)

    async def main() -> None:
        done = completions(worker, runs)
        task = asyncio.create_task(worker.run())
        await done.wait()
        worker.stop()
        await task

    asyncio.run(main())
    return runs / drain_seconds(broker, runs)


def latency(name: str, count: int, tmp: str) -> tuple[float, float]:
    """Enqueue-to-start p50 and p99 in ms, one run at a time at 50/s to one idle worker."""
    config = CONFIGS[name](tmp, uuid.uuid4().hex[:8])
    broker = make_broker(dict(config))
    broker.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        workers = start_workers(config, 1, tmp)
        broker.enqueue(envelopes("warm", 1))
        wait_until_done(broker, 1, timeout=30)
        prefix = uuid.uuid4().hex[:8]
        started = time.monotonic()
        for index in range(count):
            time.sleep(max(0.0, started + index / 50 - time.monotonic()))
            broker.enqueue([Envelope(f"{prefix}-{index}", TARGET, args=(index,))])
        wait_until_done(broker, count + 1, timeout=30)
        late = sorted(
            (run.started_at - run.created_at).total_seconds() * 1000
            for run in broker.list_runs(status=RunStatus.COMPLETED, limit=count + 1)
            if run.id.startswith(prefix) and run.started_at and run.created_at
        )
        return statistics.median(late), late[min(len(late) - 1, int(len(late) * 0.99))]
    finally:
        stop_workers(workers)
        dropped(broker)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(names: list[str], seconds: float, tmp: str) -> dict[str, float]:
    """CPU seconds an idle worker process of each broker uses over ``seconds`` (all side by
    side), after its start-up."""
    brokers, workers = [], []
    try:
        for name in names:
            broker = make_broker(dict(config := CONFIGS[name](tmp, uuid.uuid4().hex[:8])))
            broker.start()
            brokers.append(broker)
            workers.append(start_workers(config, 1, tmp)[0])
        time.sleep(5)  # imports and connections done
        before = [cpu_seconds(worker.pid) for worker in workers]
        time.sleep(seconds)
        after = [cpu_seconds(worker.pid) for worker in workers]
        return {name: b - a for name, a, b in zip(names, before, after, strict=True)}
    finally:
        stop_workers(workers)
        for broker in brokers:
            dropped(broker)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--only", action="append", choices=["memory", *CONFIGS])
    parser.add_argument("--latency-runs", type=int, default=250)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU (0: none)")
    args = parser.parse_args(argv)
    names = args.only or ["memory", *CONFIGS]
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; "
          f"{args.runs:,} no-op runs, concurrency {CONCURRENCY}", flush=True)  # fmt: skip
    if "mariadb" in names:
        print(f"MariaDB through {mariadb_url().split(':', 1)[0]}", flush=True)
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repetition in range(args.repetitions):
            order = names if repetition % 2 == 0 else names[::-1]
            for name in order:
                for processes in [1] if name == "memory" else args.processes:
                    rate = (drain_memory(args.runs) if name == "memory"
                            else drain_processes(name, args.runs, processes, tmp))  # fmt: skip
                    figures.setdefault(f"{name} x{processes}", []).append(rate)
                    print(f"  {name} x{processes}: {rate:,.0f}/s", flush=True)
        print(f"drain (runs/s, median of {args.repetitions}; load {os.getloadavg()[0]:.2f}):")
        for key, rates in figures.items():
            print(f"  {key:<16} {statistics.median(rates):>9,.0f}/s   {rates!r}")
        for name in ("postgresql", "redis"):
            if name in names and args.latency_runs:
                p50, p99 = latency(name, args.latency_runs, tmp)
                print(f"enqueue-to-start at 50/s, {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
                      f"(load {os.getloadavg()[0]:.2f})")  # fmt: skip
        idle = [name for name in ("postgresql", "redis") if name in names]
        if idle and args.idle:
            for name, used in idle_cpu(idle, args.idle, tmp).items():
                print(f"idle worker CPU, {name}: {used:.2f} s in {args.idle:.0f} s "
                      f"({used / args.idle:.2%})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
