"""``runs`` (with ``--follow``: live progress bars), ``stats`` and ``retry``: the runs of a
broker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.plugins import make_broker
from asyncz_like.brokers.retrying import retry_run
from asyncz_like.cli.options import app_option, as_json, common_options
from asyncz_like.cli.output import console, emit, show_json
from asyncz_like.cli.worker import BROKER_HELP, app_broker
from asyncz_like.runs.run import Run
from asyncz_like.runs.status import RunStatus

__all__ = ["retry", "runs", "stats"]


@contextmanager
def opened_broker(ctx: click.Context, broker: str | None) -> Iterator[BaseBroker]:
    found = make_broker(app_broker(ctx, broker, None), "--broker")
    try:
        found.attach()  # creates nothing
        yield found
    finally:
        found.shutdown()


def run_row(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "task_id": run.task_id,
        "queue": run.queue,
        "status": str(run.status),
        "progress": run.progress,
        "message": run.message,
        "attempt": run.attempt,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "error": f"{run.error.type}: {run.error.message}" if run.error else None,
    }


@click.command()
@click.option("--broker", help=BROKER_HELP)
@click.option("--queue", help="Runs of this queue only.")
@click.option(
    "--status", type=click.Choice([s.value for s in RunStatus]), help="Of this status only."
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--follow", "-f", is_flag=True, help="Live progress bars of the unfinished runs.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    help="Seconds between looks (--follow).",
)
@click.option("--seconds", type=click.FloatRange(min=0), help="Stop following after this long.")
@app_option
@common_options
@click.pass_context
def runs(
    ctx: click.Context,
    broker: str | None,
    queue: str | None,
    status: str | None,
    limit: int,
    follow: bool,
    interval: float,
    seconds: float | None,
) -> None:
    """List the runs of a broker, newest first (--follow: watch them until they end)."""
    with opened_broker(ctx, broker) as opened:
        if follow:
            _follow(ctx, opened, queue, interval, seconds)
            return
        rows = [run_row(run) for run in opened.list_runs(queue, status, limit)]
        keys = ["id", "name", "queue", "status", "progress", "attempt", "created_at", "error"]
        emit(as_json(ctx), rows, [*keys[:6], "created", "error"], keys)


def _follow(
    ctx: click.Context,
    broker: BaseBroker,
    queue: str | None,
    interval: float,
    seconds: float | None,
) -> None:
    """Bars for the runs not finished when it starts and those that come; until none is left
    (and ``seconds`` passed, when given) or Ctrl-C."""
    end = None if seconds is None else time.monotonic() + seconds
    bars: dict[str, TaskID] = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
    )
    with Progress(*columns, console=console(), transient=False) as progress:
        while True:
            live = [run for run in broker.list_runs(queue, None, 1000) if _watched(run, bars)]
            for run in live:
                _draw(progress, bars, run)
            if as_json(ctx):
                for run in live:
                    show_json(run_row(run))
            unfinished = any(not run.status.finished for run in live)
            if (end is None and not unfinished) or (end is not None and time.monotonic() >= end):
                return
            time.sleep(interval)


def _watched(run: Run, bars: dict[str, TaskID]) -> bool:
    return run.id in bars or not run.status.finished


def _draw(progress: Progress, bars: dict[str, TaskID], run: Run) -> None:
    label = escape(
        f"{run.name or run.id} [{run.status}]" + (f" {run.message}" if run.message else "")
    )
    done = 100.0 if run.status is RunStatus.COMPLETED else run.progress
    if run.id not in bars:
        bars[run.id] = progress.add_task(label, total=100.0)
    progress.update(bars[run.id], completed=done, description=label)


@click.command()
@click.option("--broker", help=BROKER_HELP)
@app_option
@common_options
@click.pass_context
def stats(ctx: click.Context, broker: str | None) -> None:
    """Runs per queue by state: waiting (by priority), running, finished."""
    with opened_broker(ctx, broker) as opened:
        by_queue = opened.stats(datetime.now(UTC))
    rows = [
        {"queue": name, **asdict(figures), "waiting": figures.waiting}
        for name, figures in sorted(by_queue.items())
    ]
    keys = [
        "queue",
        "waiting",
        "scheduled",
        "retrying",
        "running",
        "completed",
        "failed",
        "cancelled",
        "timeout",
    ]
    emit(as_json(ctx), rows, keys, keys)


@click.command()
@click.argument("run_id")
@click.option("--broker", help=BROKER_HELP)
@app_option
@common_options
@click.pass_context
def retry(ctx: click.Context, run_id: str, broker: str | None) -> None:
    """Retry a run that ended failed, timed out or cancelled: a new run of the same call
    (header retry_of: RUN_ID); the ended run stays as it was."""
    with opened_broker(ctx, broker) as opened:
        again = retry_run(opened, run_id, datetime.now(UTC))
    if as_json(ctx):
        show_json({**run_row(again), "retry_of": run_id})
    else:
        click.echo(f"retried {run_id} as {again.id} on queue {again.queue}")
