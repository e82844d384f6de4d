"""The Redis broker's own rates, single process: enqueue and claim+complete.

Run it from the repository with its venv (``PYTHONPATH=. .venv/bin/python
benchmarks/redis_broker.py [--runs N] [--batch B] [--claim C] [--finished F] [--repeat R]``).
It prints medians of ``--repeat`` rounds, for ``--runs`` runs (10,000 by default):

* enqueue/s one at a time, and in batches of ``--batch`` (one script call each);
* claim+complete/s draining them, ``--claim`` runs per claim, each run completed on its own;
* the median time of one enqueue+claim+complete cycle, and of its claim, on a broker with
  ``--finished`` (1,000,000 by default; 0 skips it) finished runs kept in the same queue and
  on one with a few: cycles alternate between the two, so that the machine's load weighs on
  both alike, to show that a claim costs the same.

It uses the Redis of the tests (``ASYNCZ_LIKE_REDIS_HOST``/``_PORT``, else 127.0.0.1:6379)
and keys of its own, deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from asyncz_like.brokers import Envelope
from asyncz_like.brokers.redis import RedisBroker
from asyncz_like.brokers.redis.layout import time_hex

TARGET = "benchmarks.redis_broker:noop"
HOST = os.environ.get("ASYNCZ_LIKE_REDIS_HOST", "127.0.0.1")
PORT = int(os.environ.get("ASYNCZ_LIKE_REDIS_PORT", "6379"))

# ARGV: prefix, queue, finished time, first, count. Writes `count` finished runs as the
# broker keeps them (a hash, the completed set, the finished index), without their work.
_FILL = """
local P, q, at = ARGV[1], ARGV[2], ARGV[3]
for n = tonumber(ARGV[4]), tonumber(ARGV[4]) + tonumber(ARGV[5]) - 1 do
  local id, sq = 'kept-' .. n, string.format('%016x', n)
  redis.call('HSET', P .. ':run:' .. id, 'q', q, 'st', 'completed', 'pr', 0, 'cr', at,
    'sq', sq, 'fa', at, 'tok', 1, 'att', 1)
  redis.call('ZADD', P .. ':status:completed:' .. q, 0, at .. sq .. id)
  redis.call('ZADD', P .. ':finished', 0, at .. id)
end
return 0
"""


def noop() -> None:
    """What the benchmark's runs name."""


def envelopes(count: int, tag: str) -> list[Envelope]:
    return [Envelope(f"{tag}-{n}", TARGET) for n in range(count)]


def rate(count: int, work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def drain(broker: RedisBroker, claim: int) -> None:
    now = datetime.now(UTC)
    while batch := broker.claim("bench", ["default"], claim, now):
        for delivery in batch:
            broker.complete(delivery.run_id, delivery.token, None, now)


def one_round(broker: RedisBroker, runs: int, batch: int, claim: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    single = envelopes(runs, f"{tag}-s")
    figures = {
        "enqueue/s, one at a time": rate(runs, lambda: [broker.enqueue([e]) for e in single])
    }
    figures["claim+complete/s"] = rate(runs, lambda: drain(broker, claim))
    many = envelopes(runs, f"{tag}-b")
    chunks = [many[start : start + batch] for start in range(0, runs, batch)]
    figures[f"enqueue/s, batches of {batch}"] = rate(
        runs, lambda: [broker.enqueue(chunk) for chunk in chunks]
    )
    drain(broker, claim)
    return figures


def cycle(broker: RedisBroker) -> tuple[float, float]:
    """Seconds of one enqueue, claim and complete, and of its claim alone."""
    envelope = Envelope(f"cycle-{uuid.uuid4().hex}", TARGET)
    started = time.perf_counter()
    broker.enqueue([envelope])
    now = datetime.now(UTC)
    claiming = time.perf_counter()
    (delivery,) = broker.claim("bench", ["default"], 1, now)
    claimed = time.perf_counter()
    broker.complete(delivery.run_id, delivery.token, None, now)
    return time.perf_counter() - started, claimed - claiming


def compare(empty: RedisBroker, kept: RedisBroker, cycles: int) -> None:
    """Cycles on both brokers in turn (the machine's load hits both alike); medians."""
    times: dict[str, list[tuple[float, float]]] = {"empty": [], "kept": []}
    for _ in range(cycles):
        times["empty"].append(cycle(empty))
        times["kept"].append(cycle(kept))
    for name, pairs in times.items():
        whole = statistics.median(pair[0] for pair in pairs) * 1e6
        claim = statistics.median(pair[1] for pair in pairs) * 1e6
        print(f"{name:6} enqueue+claim+complete {whole:6.0f} µs, claim {claim:6.0f} µs")


def fill(broker: RedisBroker, count: int) -> None:
    script = broker.client.register_script(_FILL)
    at = time_hex(datetime.now(UTC))
    for first in range(0, count, 10_000):
        script(keys=[], args=[broker.prefix, "default", at, first, min(10_000, count - first)])


def delete_keys(broker: RedisBroker) -> None:
    keys = list(broker.client.scan_iter(f"{broker.prefix}:*", count=10_000))
    for start in range(0, len(keys), 10_000):
        broker.client.unlink(*keys[start : start + 10_000])
    broker.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--claim", type=int, default=20)
    parser.add_argument("--finished", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    broker = RedisBroker(host=HOST, port=PORT, prefix=f"bench.{uuid.uuid4().hex[:8]}")
    broker.start()
    try:
        pings = []
        for _ in range(1_000):
            started = time.perf_counter()
            broker.client.ping()
            pings.append(time.perf_counter() - started)
        print(f"{'PING round trip':32} {statistics.median(pings) * 1e6:>8,.0f} µs")
        rounds = [one_round(broker, options.runs, options.batch, options.claim)
                  for _ in range(options.repeat)]  # fmt: skip
        for name in rounds[0]:
            figures = [round(figures[name]) for figures in rounds]
            print(f"{name:32} {statistics.median(figures):>8,.0f}  ({figures})")
        broker.cleanup(datetime.now(UTC))
        if options.finished:
            started = time.perf_counter()
            fill(broker, options.finished)
            print(f"kept {options.finished:,} finished runs (filled in "
                  f"{time.perf_counter() - started:.1f} s)")  # fmt: skip
            empty = RedisBroker(host=HOST, port=PORT, prefix=f"{broker.prefix}.empty")
            try:
                compare(empty, broker, 3_000)
            finally:
                delete_keys(empty)
    finally:
        delete_keys(broker)


if __name__ == "__main__":
    main()
