"""Where a Redis call's time goes on this machine: the round trip, redis-py, our held connection.

Run it in the asyncz_like venv (``benchmarks/.venvs/asyncz_like/bin/python
benchmarks/redis_round_trip.py [--calls N] [--rounds R]``). It prints µs per call of ``PING``
and of the Redis store's add script, through redis-py's client (a pooled connection per call)
and through the store's ``ScriptRunner`` (one held connection), with the server's own time
per call from ``INFO commandstats``. It uses the benchmarks' Redis (``adapters.stores``) and
keys of its own (``bench_<random>:*``), deleted at the end.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import redis
from adapters.stores import REDIS_DB, REDIS_HOST, REDIS_PORT, new_name

from asyncz_like.stores.redis.held_connection import ScriptRunner
from asyncz_like.stores.redis.scripts import ADD

PREFIX = new_name()
KEYS = [f"{PREFIX}:tasks", f"{PREFIX}:run_times"]
RECORD = b"J1" + b"x" * 480  # about the size of an interval task's record


def per_call_us(call: Callable[[], Any], calls: int) -> float:
    for _ in range(calls // 10):
        call()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


def server_us(client: redis.Redis, command: str) -> float:
    stats = client.info("commandstats").get(f"cmdstat_{command}", {})
    return float(stats.get("usec_per_call", 0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    script = client.register_script(ADD)
    runner = ScriptRunner(client, hold=True)
    counter = iter(range(10**9))

    def add_through(call: Callable[..., Any]) -> Callable[[], Any]:
        def add() -> Any:
            task_id = f"t{next(counter)}"
            return call(keys=KEYS, args=[task_id, RECORD, "1.5", "0"])

        return add

    def held(keys: list[str], args: list[Any]) -> Any:
        return runner(script, keys, args)

    cases = {
        "PING, pooled": client.ping,
        "add script, pooled (redis-py Script)": add_through(script),
        "add script, held connection (ScriptRunner)": add_through(held),
    }
    try:
        client.config_resetstat()
        for round_number in range(1, options.rounds + 1):
            figures = [
                f"{name} {per_call_us(call, options.calls):.1f} µs" for name, call in cases.items()
            ]
            print(f"round {round_number}: " + "; ".join(figures))
        print(f"server time per call: PING {server_us(client, 'ping'):.2f} µs, "
              f"EVALSHA {server_us(client, 'evalsha'):.2f} µs")  # fmt: skip
    finally:
        runner.close()
        client.delete(*KEYS)
        client.close()


if __name__ == "__main__":
    main()
