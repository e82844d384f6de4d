"""``asyncz-like worker``: a worker process that claims runs from a broker until SIGTERM."""

from __future__ import annotations

import logging
import os
from importlib import import_module
from typing import Any

import click

from asyncz_like.brokers.base import DEFAULT_LEASE_SECONDS
from asyncz_like.cli.observing import observe, observing_options
from asyncz_like.cli.options import (
    app_option,
    common_options,
    configure_logging,
    importable_here,
    option,
)
from asyncz_like.cli.targets import json_config, load_app
from asyncz_like.workers import Worker
from asyncz_like.workers.settings import DEFAULT_GRACE_SECONDS, DEFAULT_POLLING_INTERVAL

__all__ = ["broker_config", "worker"]

BROKER_HELP = (
    "sqlite:///runs.db, postgresql+psycopg://..., mysql+pymysql://..., redis://..., "
    "amqp://..., an alias, or @config.json (a JSON object with 'type' and the broker's options)"
)


def broker_config(spec: str, tablename: str | None = None) -> str | dict[str, Any]:
    """What ``--broker`` names: a JSON config file, or a URL/alias (with ``--tablename``)."""
    if spec.startswith("@"):
        return json_config(spec, "--broker")
    if tablename:
        return {"type": "sqlalchemy", "database": spec, "tablename": tablename}
    return spec


def app_broker(ctx: click.Context, broker: str | None, tablename: str | None) -> Any:
    """``--broker``, or the broker of ``--app``'s scheduler."""
    if broker:
        return broker_config(broker, tablename)
    reference = option(ctx, "app")
    if not reference:
        raise click.UsageError("give --broker URL, or --app module:scheduler with a broker")
    found = load_app(reference).broker
    if found is None:
        raise click.UsageError(f"the scheduler of --app {reference} has no broker")
    return found


@click.command()
@click.option("--broker", help=BROKER_HELP)
@app_option
@click.option("--tablename", help="SQL table of the runs (default: the broker's)")
@click.option("--queues", default="default", show_default=True, help="Queues to claim from: a,b,c")
@click.option(
    "--concurrency", "--concurrent", type=int, default=10, show_default=True, help="Runs at a time."
)
@click.option(
    "--interval",
    type=float,
    default=DEFAULT_POLLING_INTERVAL,
    show_default=True,
    help="Longest wait between claims when idle, in seconds.",
)
@click.option(
    "--lease",
    type=float,
    default=DEFAULT_LEASE_SECONDS,
    show_default=True,
    help="Seconds a claim holds (renewed as a run goes on).",
)
@click.option(
    "--grace",
    type=float,
    default=DEFAULT_GRACE_SECONDS,
    show_default=True,
    help="Seconds running runs get to finish after SIGTERM.",
)
@click.option(
    "--import",
    "imports",
    multiple=True,
    metavar="MODULE",
    help="Import these modules first (repeat, or a,b).",
)
@observing_options
@common_options
@click.pass_context
def worker(
    ctx: click.Context,
    broker: str | None,
    tablename: str | None,
    queues: str,
    concurrency: int,
    interval: float,
    lease: float,
    grace: float,
    imports: tuple[str, ...],
    metrics_port: int | None,
    metrics_host: str,
    otel: bool,
) -> None:
    """Claim and run the runs of a broker's queues until SIGTERM (a second one: at once)."""
    importable_here()  # `--import myapp.tasks` from the project directory
    configure_logging(ctx, "info")
    for name in (part.strip() for value in imports for part in value.split(",")):
        if name:
            import_module(name)
    running = Worker(
        app_broker(ctx, broker, tablename),
        queues=queues,
        concurrency=concurrency,
        polling_interval=interval,
        lease_seconds=lease,
        grace_seconds=grace,
    )
    observing = observe(running, metrics_port, metrics_host, otel)
    try:
        running.run_sync()
    finally:
        observing.close()
    if running.stranded_threads:
        # Threads cannot be stopped, and the interpreter would wait for them at exit; their
        # runs were given back (or ended), so leaving now loses nothing.
        click.echo(f"worker stopped; {running.stranded_threads} thread(s) still busy: exiting")
        logging.shutdown()
        os._exit(0)
    click.echo("worker stopped")
