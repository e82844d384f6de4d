"""saq on Redis (queue ``--name``) or PostgreSQL (schema ``--name``), for ``anchors.py``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import zlib
from typing import Any
from urllib.parse import quote

from common import BATCH, Recorder, emit, main, paced, ready
from saq import Queue, Worker

recorder = Recorder(0, 0, lambda: None)


async def noop(ctx: dict[str, Any], *, index: int, sent: float) -> None:
    recorder.started(index, sent)
    recorder.ended(index)


def queue(args: argparse.Namespace) -> Queue:
    if args.backend == "postgresql":
        url = f"{args.url}?options={quote(f'-c search_path={args.name}')}"
        # saq migrates under a session advisory lock that a live queue keeps: one key per run
        keyspace = zlib.crc32(args.name.encode()) & 0x7FFF
        return Queue.from_url(url, name=args.name, saq_lock_keyspace=keyspace)
    return Queue.from_url(args.url, name=args.name)


def prepare(args: argparse.Namespace) -> None:
    if args.backend != "postgresql":
        return
    import psycopg

    with psycopg.connect(args.url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{args.name}"')

    async def migrate() -> None:
        made = queue(args)
        await made.connect()
        await made.disconnect()

    asyncio.run(migrate())


def enqueue(args: argparse.Namespace) -> None:
    async def send() -> None:
        made = queue(args)
        await made.connect()
        if args.rate <= 0:
            for start in range(0, args.count, BATCH):
                now = time.time()
                await asyncio.gather(
                    *(made.enqueue("noop", index=index, sent=now)
                      for index in range(start, min(args.count, start + BATCH)))
                )  # fmt: skip
        else:
            begun = time.monotonic()
            for index, due in enumerate(paced(args.count, args.rate)):
                await asyncio.sleep(max(0.0, begun + due - time.monotonic()))
                await made.enqueue("noop", index=index, sent=time.time())
        await made.disconnect()

    asyncio.run(send())


def work(args: argparse.Namespace) -> None:
    async def run() -> None:
        global recorder
        made = queue(args)
        await made.connect()
        worker = Worker(made, functions=[noop], concurrency=args.concurrency)
        worker.SIGNALS = []  # this process stops the worker itself, on SIGTERM or when done
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        recorder = Recorder(args.expect, args.warm, lambda: loop.call_soon_threadsafe(done.set))
        loop.add_signal_handler(signal.SIGTERM, done.set)
        running = asyncio.create_task(worker.start())
        ready()
        await done.wait()
        await worker.stop()
        await running
        await made.disconnect()
        emit(recorder.report())

    asyncio.run(run())


def clean(args: argparse.Namespace) -> None:
    if args.backend == "postgresql":
        import psycopg

        with psycopg.connect(args.url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{args.name}" CASCADE')
        return
    import redis

    client = redis.Redis.from_url(args.url)
    for pattern in (f"saq:{args.name}:*", f"saq:job:{args.name}:*"):
        keys = list(client.scan_iter(pattern, count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    client.close()


if __name__ == "__main__":
    sys.exit(main({"prepare": prepare, "enqueue": enqueue, "work": work, "clean": clean}))
