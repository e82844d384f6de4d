"""Issue #19's anchors: our brokers beside procrastinate, saq and dramatiq, in one run.

Run it from the repository with its venv::

    PYTHONPATH=. .venv/bin/python benchmarks/anchors.py [--runs 10000] [--repetitions 3]
        [--latency-runs 250] [--idle 30] [--only procrastinate --only ours-postgresql]

Contenders: ours (``asyncz-like worker``, through ``drain.py``'s functions) on PostgreSQL,
Redis and RabbitMQ (runs kept in Redis); procrastinate on PostgreSQL; saq on Redis and on
PostgreSQL; dramatiq on RabbitMQ. Each anchor runs in its own venv (``envs.QUEUE_ANCHORS``,
made on first use) through its side script in ``anchor_queues/``. Per repetition, in
alternating order: the drain of ``--runs`` no-op jobs enqueued beforehand by one worker
process at concurrency 20 (first start to last end), and the enqueue-to-start p50/p99 of
``--latency-runs`` jobs sent one at a time at 50/s to an idle worker. Then every contender's
idle worker side by side: its CPU (utime + stime in /proc) over ``--idle`` seconds. Medians
of ``--repetitions``; a full run (the defaults) replaces ``results/anchors.md`` and ``.json``,
any other writes ``.runs/``. Each run uses schemas, queues and key prefixes of its own,
dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from asyncz_like.brokers.plugins import make_broker
from benchmarks import drain
from benchmarks.anchors_report import Contender, Figures, percentiles, table, write
from benchmarks.envs import QUEUE_ANCHORS, Library, ensure_venv

BENCH = Path(__file__).resolve().parent
SIDES = BENCH / "anchor_queues"
RATE = 50.0
WARM = 5  # jobs sent first at the same rate, left out of the latencies
URLS = {
    "postgresql": drain.CONFIGS["postgresql"]("", "")["database"].replace("+psycopg", ""),
    "redis": f"redis://{drain.REDIS[0]}:{drain.REDIS[1]}/0",
    "rabbitmq": os.environ.get("ASYNCZ_LIKE_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
}
SERVERS = {"postgresql": "PostgreSQL", "redis": "Redis", "rabbitmq": "RabbitMQ"}
#: (anchor, server), each a contender
ANCHORED = (("procrastinate", "postgresql"), ("saq", "postgresql"), ("saq", "redis"),
            ("dramatiq", "rabbitmq"))  # fmt: skip
OUR_RABBITMQ_TOKENS: list[str] = []


def our_rabbitmq(token: str) -> dict[str, Any]:
    """Our RabbitMQ broker, its runs kept by the Redis broker."""
    state = {"type": "redis", "host": drain.REDIS[0], "port": drain.REDIS[1],
             "prefix": f"bench.anchors.{token}"}  # fmt: skip
    return {"type": "rabbitmq", "url": URLS["rabbitmq"], "state": state,
            "prefix": f"bench_anchors_{token}"}  # fmt: skip


def made_our_rabbitmq(tmp: str, token: str) -> dict[str, Any]:
    """``drain.CONFIGS["rabbitmq"]``: remembers each token for ``drop_our_rabbitmq``."""
    OUR_RABBITMQ_TOKENS.append(token)
    return our_rabbitmq(token)


def drop_our_rabbitmq() -> None:
    """What ``drain.dropped`` leaves of our RabbitMQ runs: the queues and the Redis keys."""
    while OUR_RABBITMQ_TOKENS:
        config = our_rabbitmq(OUR_RABBITMQ_TOKENS.pop())
        broker = make_broker(dict(config))
        drain.delete_queues(broker, {"default"})
        broker.shutdown()
        drain.dropped(make_broker(dict(config["state"])))


@dataclass(frozen=True)
class Side:
    """An anchor on one server: its library (venv) and its side script."""

    library: Library
    server: str

    def command(self, action: str, name: str, *extra: str) -> list[str]:
        script = SIDES / f"{self.library.name}_side.py"
        return [str(self.library.python), str(script), action, "--name", name,
                "--backend", self.server, "--url", URLS[self.server], *extra]  # fmt: skip

    def call(self, action: str, name: str, *extra: str, timeout: float = 120) -> None:
        done = subprocess.run(self.command(action, name, *extra), capture_output=True,
                              text=True, timeout=timeout, check=False)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"{self.library.name} {action} failed:\n{done.stderr[-3000:]}")

    @contextmanager
    def own(self) -> Iterator[str]:
        """A fresh schema / queue / prefix name, prepared, and dropped after."""
        name = f"anchors_{uuid.uuid4().hex[:8]}"
        self.call("prepare", name)
        try:
            yield name
        finally:
            self.call("clean", name)

    def worker(self, name: str, expect: int, warm: int, log: IO[str]) -> subprocess.Popen[str]:
        """A worker process of this anchor, returned once it said it is ready."""
        extra = ("--expect", str(expect), "--warm", str(warm))
        process = subprocess.Popen(self.command("work", name, *extra), stdout=subprocess.PIPE,
                                   stderr=log, text=True)  # fmt: skip
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            process.kill()
            raise RuntimeError(f"{self.library.name} worker did not start (see its log)")
        return process


def finished(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The worker's figures once it ended; killed if it did not end in ``timeout``."""
    try:
        out, _ = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode or not out.strip():
        raise RuntimeError(f"worker exited {process.returncode} without figures")
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report


def anchor_drain(side: Side, runs: int, log: IO[str]) -> float:
    with side.own() as name:
        side.call("enqueue", name, "--count", str(runs), timeout=60 + runs / 50)
        # 100 runs/s at worst (procrastinate made 76/s on a slow machine): a worker that
        # stalls (saq on PostgreSQL, now and then) costs 220 s of a full run, not 620.
        report = finished(side.worker(name, runs, 0, log), timeout=120 + runs / 100)
        return float(report["jobs"]) / float(report["drain_s"])


def anchor_latency(side: Side, count: int, log: IO[str]) -> tuple[float, float]:
    with side.own() as name:
        process = side.worker(name, WARM + count, WARM, log)
        try:
            time.sleep(1)
            side.call("enqueue", name, "--count", str(WARM + count), "--rate", str(RATE),
                      timeout=60 + count / RATE)  # fmt: skip
        except BaseException:
            process.kill()
            process.wait()
            raise
        return percentiles(finished(process, timeout=60)["latency_ms"])


@dataclass(frozen=True)
class Entry:
    """A contender and how to measure it: drain(runs) -> runs/s, latency(count) -> ms."""

    contender: Contender
    drain: Callable[[int], float]
    latency: Callable[[int], tuple[float, float]]


def entries(tmp: str, log: IO[str]) -> list[Entry]:
    """Every contender, PostgreSQL first, then Redis, then RabbitMQ; ours first on each."""
    anchors = {library.name: library for library in QUEUE_ANCHORS}
    made = [
        Entry(
            Contender(f"ours-{server}", "asyncz_like", SERVERS[server], ours=True),
            lambda runs, s=server: drain.drain_processes(s, runs, 1, tmp),
            lambda count, s=server: drain.latency(s, count, tmp),
        )
        for server in SERVERS
    ]
    for name, server in ANCHORED:
        side = Side(anchors[name], server)
        made.append(
            Entry(
                Contender(f"{name}-{server}", name, SERVERS[server]),
                lambda runs, side=side: anchor_drain(side, runs, log),
                lambda count, side=side: anchor_latency(side, count, log),
            )
        )
    order = list(SERVERS.values())
    return sorted(made, key=lambda e: (order.index(e.contender.server), not e.contender.ours))


def idle_cpu(chosen: list[Entry], seconds: float, tmp: str, log: IO[str]) -> dict[str, float]:
    """Percent of one CPU each contender's idle worker used over ``seconds``, side by side."""
    anchors = {library.name: library for library in QUEUE_ANCHORS}
    brokers: list[Any] = []
    workers: list[subprocess.Popen[Any]] = []
    with ExitStack() as names:
        try:
            for entry in chosen:
                key = entry.contender.key
                if entry.contender.ours:
                    config = drain.CONFIGS[key.removeprefix("ours-")](tmp, uuid.uuid4().hex[:8])
                    brokers.append(broker := make_broker(dict(config)))
                    broker.start()
                    workers.append(drain.start_workers(config, 1, tmp)[0])
                else:
                    library, server = key.split("-")
                    side = Side(anchors[library], server)
                    workers.append(side.worker(names.enter_context(side.own()), 0, 0, log))
            time.sleep(5)  # imports and connections done
            before = [drain.cpu_seconds(worker.pid) for worker in workers]
            time.sleep(seconds)
            after = [drain.cpu_seconds(worker.pid) for worker in workers]
        finally:
            drain.stop_workers(workers)
            for broker in brokers:
                drain.dropped(broker)
            drop_our_rabbitmq()
    return {
        entry.contender.key: (end - start) / seconds * 100
        for entry, start, end in zip(chosen, before, after, strict=True)
    }


def measured(failures: list[str], what: str, measure: Callable[[], Any]) -> Any:
    """``measure()``, or None with the failure noted: one broken contender stops no run."""
    try:
        return measure()
    except Exception as exc:  # reported with the figures
        failures.append(f"{what}: {type(exc).__name__}: {str(exc)[-300:]}")
        print(f"  FAILED {what}: {exc}", flush=True)
        return None
    finally:
        drop_our_rabbitmq()


def repetitions(chosen: list[Entry], args: argparse.Namespace, figures: Figures,
                failures: list[str]) -> None:  # fmt: skip
    for repetition in range(args.repetitions):
        order = chosen if repetition % 2 == 0 else chosen[::-1]
        for entry in order:
            key = entry.contender.key
            rate = measured(failures, f"{key} drain #{repetition + 1}",
                            lambda e=entry: e.drain(args.runs))  # fmt: skip
            if rate is not None:
                figures.setdefault(key, {}).setdefault("drain", []).append(rate)
                print(f"  {key} drain: {rate:,.0f}/s (load {os.getloadavg()[0]:.2f})", flush=True)
        for entry in order if args.latency_runs else []:
            key = entry.contender.key
            late = measured(failures, f"{key} latency #{repetition + 1}",
                            lambda e=entry: e.latency(args.latency_runs))  # fmt: skip
            if late is not None:
                kept = figures.setdefault(key, {})  # its drains may all have failed
                kept.setdefault("p50", []).append(late[0])
                kept.setdefault("p99", []).append(late[1])
                print(f"  {key} start p50/p99: {late[0]:.1f}/{late[1]:.1f} ms", flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--latency-runs", type=int, default=250)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU (0: none)")
    parser.add_argument("--only", action="append", help="a library or a contender key")
    return parser.parse_args(argv)


def full(args: argparse.Namespace) -> bool:
    defaults = parse([])
    return not args.only and all(
        getattr(args, key) == getattr(defaults, key)
        for key in ("runs", "repetitions", "latency_runs", "idle")
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    for library in QUEUE_ANCHORS:
        ensure_venv(library)
    drain.CONFIGS.setdefault("rabbitmq", made_our_rabbitmq)
    started, load = time.time(), {"before": os.getloadavg()}
    print(f"load average {load['before'][0]:.2f}; {os.cpu_count()} CPUs; {args.runs:,} no-op runs, "
          f"concurrency {drain.CONCURRENCY}", flush=True)  # fmt: skip
    figures: Figures = {}
    failures: list[str] = []
    (BENCH / ".runs").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, open(BENCH / ".runs" / "anchors.log", "w") as log:
        chosen = [
            entry for entry in entries(tmp, log)
            if not args.only or {entry.contender.key, entry.contender.library} & set(args.only)
        ]  # fmt: skip
        repetitions(chosen, args, figures, failures)
        load["after drains and latencies"] = os.getloadavg()
        for repetition in range(args.repetitions if args.idle else 0):
            used = measured(failures, f"idle #{repetition + 1}",
                            lambda: idle_cpu(chosen, args.idle, tmp, log))  # fmt: skip
            for key, percent in (used or {}).items():
                figures.setdefault(key, {}).setdefault("idle_cpu", []).append(percent)
    load["end"] = os.getloadavg()
    text = table([entry.contender for entry in chosen], figures)
    print(text)
    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, shared with other work",
        "load average (1, 5, 15 min)": "; ".join(
            f"{when} {' '.join(f'{v:.2f}' for v in values)}" for when, values in load.items()
        ),
        "runs": f"drain {args.runs:,}, latency {args.latency_runs} at {RATE:.0f}/s, "
        f"idle {args.idle:.0f} s, {args.repetitions} repetitions",
        "anchors": ", ".join(" ".join(library.requirements[:1]) for library in QUEUE_ANCHORS),
        "elapsed_s": round(time.time() - started),
        "failures": "; ".join(failures) or "none",
    }
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M%S")
    directory, stem = (BENCH / "results", "anchors") if full(args) else (
        BENCH / ".runs", f"{stamp}-anchors")  # fmt: skip
    print(f"wrote {write(directory, stem, text, figures, meta)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
