"""``asyncz-like worker``: a worker process that claims runs from a broker until SIGTERM."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from importlib import import_module
from pathlib import Path
from typing import Any, TextIO

from asyncz_like.brokers.base import DEFAULT_LEASE_SECONDS
from asyncz_like.workers import Worker
from asyncz_like.workers.settings import DEFAULT_GRACE_SECONDS, DEFAULT_POLLING_INTERVAL

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def add_parser(sub: Any) -> None:
    """The ``worker`` command's arguments."""
    worker = sub.add_parser("worker", help="claim and run the runs of a broker's queues")
    worker.add_argument(
        "--broker",
        required=True,
        help="sqlite:///runs.db, postgresql+psycopg://..., mysql+pymysql://..., redis://..., "
        "an alias, or @config.json (a JSON object with 'type' and the broker's options)",
    )
    worker.add_argument("--tablename", help="SQL table of the runs (default: the broker's)")
    worker.add_argument("--queues", default="default", help="queues to claim from: a,b,c")
    worker.add_argument(
        "--concurrency", "--concurrent", type=int, default=10, help="runs at a time (default 10)"
    )
    worker.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_POLLING_INTERVAL,
        help="longest wait between claims when idle, in seconds",
    )
    worker.add_argument(
        "--lease",
        type=float,
        default=DEFAULT_LEASE_SECONDS,
        help="seconds a claim holds (renewed as a run goes on)",
    )
    worker.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE_SECONDS,
        help="seconds running runs get to finish after SIGTERM",
    )
    worker.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import these modules first (repeat, or a,b)",
    )
    worker.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")


def broker_config(spec: str, tablename: str | None) -> str | dict[str, Any]:
    """What ``--broker`` names: a JSON config file, or a URL/alias (with ``--tablename``)."""
    if spec.startswith("@"):
        try:
            config = json.loads(Path(spec[1:]).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"--broker {spec}: cannot read a JSON config: {exc}") from exc
        if not isinstance(config, dict) or "type" not in config:
            raise ValueError(f"--broker {spec}: the JSON must be an object with a 'type'")
        return config
    if tablename:
        return {"type": "sqlalchemy", "database": spec, "tablename": tablename}
    return spec


def run_worker(args: argparse.Namespace, out: TextIO) -> int:
    """Import the modules named, then work until SIGTERM/SIGINT (a second one: at once)."""
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # `--import myapp.tasks` from the project directory
    _configure_logging(args.log_level)
    for name in (part.strip() for value in args.imports for part in value.split(",")):
        if name:
            import_module(name)
    worker = Worker(
        broker_config(args.broker, args.tablename),
        queues=args.queues,
        concurrency=args.concurrency,
        polling_interval=args.interval,
        lease_seconds=args.lease,
        grace_seconds=args.grace,
    )
    worker.run_sync()
    if worker.stranded_threads:
        # Threads cannot be stopped, and the interpreter would wait for them at exit; their
        # runs were given back (or ended), so leaving now loses nothing.
        out.write(f"worker stopped; {worker.stranded_threads} thread(s) still busy: exiting\n")
        out.flush()
        logging.shutdown()
        os._exit(0)
    out.write("worker stopped\n")
    return 0


def _configure_logging(level: str) -> None:
    """Log to stderr, unless the process configured logging itself."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level.upper(), format=_FORMAT)
