"""``workers``: the workers a broker knows, in any process on any host."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from asyncz_like.brokers.records import WorkerInfo
from asyncz_like.cli.options import app_option, as_json, common_options
from asyncz_like.cli.output import emit
from asyncz_like.cli.runs import opened_broker
from asyncz_like.cli.worker import BROKER_HELP
from asyncz_like.conversions import age_words

__all__ = ["workers"]

_KEYS = ["worker_id", "state", "hostname", "pid", "queues", "busy", "heartbeat", "started_at",
         "version"]  # fmt: skip
_HEADER = ["worker", "state", "host", "pid", "queues", "busy", "last heartbeat", "started",
           "version"]  # fmt: skip


def worker_row(info: WorkerInfo, now: datetime) -> dict[str, Any]:
    """A worker as JSON: its record, and its last heartbeat's age in seconds."""
    return {
        "worker_id": info.worker_id,
        "alive": info.alive,
        "hostname": info.hostname,
        "pid": info.pid,
        "queues": list(info.queues),
        "busy": info.busy,
        "concurrency": info.concurrency,
        "last_heartbeat": info.last_heartbeat,
        "heartbeat_age": round((now - info.last_heartbeat).total_seconds(), 3),
        "started_at": info.started_at,
        "version": info.version,
    }


def _table_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "state": "alive" if row["alive"] else "gone",
        "queues": ",".join(row["queues"]),
        "busy": f"{row['busy']}/{row['concurrency']}",
        "heartbeat": age_words(row["heartbeat_age"]),
    }


@click.command()
@click.option("--broker", help=BROKER_HELP)
@app_option
@common_options
@click.pass_context
def workers(ctx: click.Context, broker: str | None) -> None:
    """The workers of a broker, in any process on any host: alive (a heartbeat in the last
    three intervals, 15 s) or gone (killed: listed until the cleanup forgets them)."""
    with opened_broker(ctx, broker) as opened:
        now = datetime.now(UTC)
        rows = [worker_row(info, now) for info in opened.list_workers(now)]
    if not as_json(ctx):
        rows = [_table_row(row) for row in rows]
    emit(as_json(ctx), rows, _HEADER, _KEYS)
