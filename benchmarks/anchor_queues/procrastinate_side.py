"""procrastinate on PostgreSQL, in a schema of its own (``search_path``), for ``anchors.py``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from urllib.parse import quote

import psycopg
from common import BATCH, Recorder, emit, main, paced, ready
from procrastinate import App, PsycopgConnector

recorder = Recorder(0, 0, lambda: None)


async def noop(index: int, sent: float) -> None:
    recorder.started(index, sent)
    recorder.ended(index)


def conninfo(args: argparse.Namespace) -> str:
    return f"{args.url}?options={quote(f'-c search_path={args.name}')}"


def opened(args: argparse.Namespace) -> App:
    # A pool as large as the worker's concurrency (and its listener): the default (4) starves
    # 20 job slots.
    connector = PsycopgConnector(conninfo=conninfo(args), max_size=args.concurrency + 2)
    app = App(connector=connector)
    app.task(name="anchors_noop", queue=args.name)(noop)
    return app


def prepare(args: argparse.Namespace) -> None:
    with psycopg.connect(args.url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{args.name}"')

    async def apply() -> None:
        async with opened(args).open_async() as made:
            await made.schema_manager.apply_schema_async()

    asyncio.run(apply())


def enqueue(args: argparse.Namespace) -> None:
    async def send() -> None:
        async with opened(args).open_async() as made:
            deferrer = made.configure_task("anchors_noop")
            if args.rate <= 0:
                for start in range(0, args.count, BATCH):
                    stop = min(args.count, start + BATCH)
                    now = time.time()
                    await deferrer.batch_defer_async(
                        *({"index": index, "sent": now} for index in range(start, stop))
                    )
                return
            begun = time.monotonic()
            for index, due in enumerate(paced(args.count, args.rate)):
                await asyncio.sleep(max(0.0, begun + due - time.monotonic()))
                await deferrer.defer_async(index=index, sent=time.time())

    asyncio.run(send())


def work(args: argparse.Namespace) -> None:
    async def run() -> None:
        global recorder
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        recorder = Recorder(args.expect, args.warm, lambda: loop.call_soon_threadsafe(done.set))
        loop.add_signal_handler(signal.SIGTERM, done.set)
        async with opened(args).open_async() as made:
            worker = asyncio.create_task(
                made.run_worker_async(
                    queues=[args.name],
                    concurrency=args.concurrency,
                    install_signal_handlers=False,
                    listen_notify=True,
                )
            )
            ready()
            await done.wait()
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        emit(recorder.report())

    asyncio.run(run())


def clean(args: argparse.Namespace) -> None:
    with psycopg.connect(args.url, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{args.name}" CASCADE')


if __name__ == "__main__":
    sys.exit(main({"prepare": prepare, "enqueue": enqueue, "work": work, "clean": clean}))
