"""Round trips to the server per run, counted in the drivers: a figure the machine's load
does not move, to compare two commits where the rates are too noisy to.

Run it from the repository with its venv::

    PYTHONPATH=. .venv/bin/python benchmarks/round_trips.py [--only postgresql] [--runs N]

For each broker (PostgreSQL through psycopg, MariaDB through PyMySQL even where mysqlclient is
installed, Redis through redis-py)
it counts what the driver sends and waits for (a statement, a ``BEGIN``/``COMMIT``/
``ROLLBACK``, a Redis command or pipeline) over: 200 enqueues one at a time; ``--runs``
enqueued in batches of 1,000; ``--runs`` drained by one in-process ``Worker`` with
concurrency 20. It prints round trips per run, and what they were. It uses the servers and
the table or key prefixes of ``benchmarks/drain.py``, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from asyncz_like.brokers import BaseBroker, Envelope
from asyncz_like.brokers.plugins import make_broker
from asyncz_like.events.constants import RUN_COMPLETED
from asyncz_like.workers import Worker
from benchmarks.drain import CONCURRENCY, CONFIGS, TARGET, dropped, enqueue_batches

SINGLES = 200


def _patch(owner: Any, name: str, counts: Counter[str], what: Callable[..., str]) -> Any:
    original = getattr(owner, name)

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts[what(*args)] += 1
        return original(self, *args, **kwargs)

    setattr(owner, name, counted)
    return original


def _first_word(query: Any, *_: Any) -> str:
    text = query.decode() if isinstance(query, bytes | bytearray) else str(query)
    return text.split(None, 1)[0].upper() if text.strip() else "?"


@contextmanager
def counting(name: str) -> Iterator[Counter[str]]:
    """Count the driver's round trips of broker ``name`` meanwhile."""
    counts: Counter[str] = Counter()
    if name == "postgresql":
        import psycopg

        # BEGIN, COMMIT and ROLLBACK go through _exec_command; statements through execute
        patched: list[tuple[Any, str]] = [(psycopg.Connection, "_exec_command"),
                                          (psycopg.Cursor, "execute")]  # fmt: skip
    elif name == "mariadb":
        import pymysql

        patched = [(pymysql.connections.Connection, "_execute_command")]
    else:
        import redis

        patched = [(redis.connection.AbstractConnection, "send_packed_command")]
    originals = [_patch(owner, attribute, counts, _what(name)) for owner, attribute in patched]
    try:
        yield counts
    finally:
        for (owner, attribute), original in zip(patched, originals, strict=True):
            setattr(owner, attribute, original)


def _what(name: str) -> Callable[..., str]:
    if name == "mariadb":  # (command byte, the SQL)
        return lambda command, sql=b"", *_: _first_word(sql) if sql else str(command)
    if name == "redis":  # a packed command or a pipeline's list of them
        return lambda command, *_: "pipeline" if isinstance(command, list) else "command"
    return _first_word


def drain(broker: BaseBroker, runs: int) -> None:
    """``runs`` drained by one in-process worker (they are enqueued already)."""
    worker = Worker(broker, concurrency=CONCURRENCY)

    async def main() -> None:
        done, counted = asyncio.Event(), [0]

        def count(event: Any) -> None:
            counted[0] += 1
            if counted[0] >= runs:
                done.set()

        worker.add_listener(count, RUN_COMPLETED)
        task = asyncio.create_task(worker.run())
        await done.wait()
        worker.stop()
        await task

    asyncio.run(main())


def measure(name: str, runs: int) -> None:
    config = dict(CONFIGS[name]("/tmp", uuid.uuid4().hex[:8]))
    if name == "mariadb":  # counted in PyMySQL, whatever driver drain.py would take
        config["database"] = config["database"].replace("+mysqldb://", "+pymysql://", 1)
    broker = make_broker(config)
    broker.start()
    try:
        prefix = uuid.uuid4().hex[:8]
        cases: list[tuple[str, int, Callable[[], Any]]] = [
            (f"enqueue one at a time ({SINGLES})", SINGLES, lambda: [
                broker.enqueue([Envelope(f"{prefix}-{index}", TARGET, args=(index,))])
                for index in range(SINGLES)
            ]),
            (f"enqueue in batches of 1,000 ({runs:,})", runs,
             lambda: enqueue_batches(broker, runs)),
            (f"drain ({runs + SINGLES:,}, concurrency {CONCURRENCY})", runs + SINGLES,
             lambda: drain(broker, runs + SINGLES)),
        ]  # fmt: skip
        for label, count, case in cases:
            with counting(name) as counts:
                case()
            what = ", ".join(f"{key} {value}" for key, value in counts.most_common())
            print(f"  {name:<10} {label:<36} {sum(counts.values()) / count:7.3f} per run "
                  f"({what})", flush=True)  # fmt: skip
    finally:
        dropped(broker)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2_000)
    parser.add_argument("--only", action="append", choices=["postgresql", "mariadb", "redis"])
    args = parser.parse_args(argv)
    for name in args.only or ["postgresql", "mariadb", "redis"]:
        measure(name, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
