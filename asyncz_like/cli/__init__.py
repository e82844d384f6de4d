"""``asyncz-like``: look at and change the tasks of a store, and run a scheduler.

    asyncz-like tasks --store sqlite:///tasks.db
    asyncz-like broken --store redis://localhost:6379/0
    asyncz-like pause|resume|remove TASK_ID --store ...
    asyncz-like run myapp.jobs:scheduler
    asyncz-like worker --broker postgresql+psycopg://... --queues a,b --import myapp.tasks

Uses only the standard library beyond asyncz_like and the store's own driver.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from asyncz_like.cli import commands, worker
from asyncz_like.cli.stores import StoreSpecError, open_store, store_config
from asyncz_like.exceptions import AsynczLikeError
from asyncz_like.stores.base import BaseStore
from asyncz_like.utils import get_local_timezone, to_zone

__all__ = ["main"]


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; the exit status (0 done, 1 failed, 2 bad usage)."""
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return commands.run_scheduler(args.scheduler, args.seconds, out)
        if args.command == "worker":
            return worker.run_worker(args, out)
        config = store_config(args.store, args.tablename, args.tasks_key)
        store, _ = open_store(config)
        try:
            return _on_store(args, store, out)
        finally:
            store.shutdown()
    except StoreSpecError as exc:
        print(f"asyncz-like: {exc}", file=sys.stderr)
        return 2
    except (AsynczLikeError, LookupError, TypeError, ValueError, ImportError) as exc:
        print(f"asyncz-like: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _on_store(args: argparse.Namespace, store: BaseStore, out: TextIO) -> int:
    if args.command == "tasks":
        return commands.list_tasks(store, out, args.json)
    if args.command == "broken":
        return commands.list_broken(store, out)
    if args.command == "pause":
        return commands.pause(store, args.task_id, out)
    if args.command == "resume":
        zone = to_zone(args.timezone) if args.timezone else get_local_timezone()
        return commands.resume(store, args.task_id, zone, out)
    return commands.remove(store, args.task_id, out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asyncz-like",
        description="Look at and change the tasks of a store; run a scheduler or a worker.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    store_options = argparse.ArgumentParser(add_help=False)
    store_options.add_argument(
        "--store",
        required=True,
        help="sqlite:///tasks.db, postgresql+psycopg://..., mysql+pymysql://..., redis://..., "
        "file:///dir (or a directory), or @config.json",
    )
    store_options.add_argument("--tablename", help="SQL table (default: the store's)")
    store_options.add_argument("--tasks-key", help="Redis tasks key (default: the store's)")
    tasks = sub.add_parser("tasks", parents=[store_options], help="list the tasks of a store")
    tasks.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("broken", parents=[store_options], help="list the records that cannot be read")
    for name, text in (
        ("pause", "pause a task"),
        ("resume", "resume a paused task"),
        ("remove", "remove a task (or a broken record)"),
    ):
        command = sub.add_parser(name, parents=[store_options], help=text)
        command.add_argument("task_id")
        if name == "resume":
            command.add_argument("--timezone", help="zone for the trigger (default: local)")
    run = sub.add_parser("run", help="run a scheduler until SIGINT/SIGTERM")
    run.add_argument("scheduler", help="module:attr of a scheduler, or of a function returning one")
    run.add_argument("--seconds", type=float, help="stop after this many seconds")
    worker.add_parser(sub)
    return parser
