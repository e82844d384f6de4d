"""``version``, ``status`` (the tasks of the stores at a glance) and ``doctor`` (what works,
what does not, and why)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as version_of
from importlib.util import find_spec
from typing import Any

import click

import asyncz_like
from asyncz_like.cli.errors import CommandError, one_line
from asyncz_like.cli.options import as_json, common_options, option, store_options
from asyncz_like.cli.output import emit, show_json, show_table
from asyncz_like.cli.targets import Target, open_target
from asyncz_like.cli.task_reading import all_tasks, broken_records

__all__ = ["doctor", "status", "version", "version_text"]

#: Optional packages and the extra that installs each.
OPTIONAL = {
    "sqlalchemy": "sqlalchemy",
    "psycopg": "postgres",
    "pymysql": "mysql",
    "redis": "redis",
    "pika": "rabbitmq",
    "orjson": "orjson",
}


def version_text() -> str:
    return f"asyncz-like {asyncz_like.__version__} (Python {sys.version.split()[0]})"


@click.command()
@common_options
@click.pass_context
def version(ctx: click.Context) -> None:
    """Print the version."""
    if as_json(ctx):
        show_json({"asyncz_like": asyncz_like.__version__, "python": sys.version.split()[0]})
    else:
        click.echo(version_text())


def store_status(target: Target) -> list[dict[str, Any]]:
    """Per store: tasks scheduled, paused and broken; the next fire and how late it is."""
    now = datetime.now(UTC)
    tasks, broken = all_tasks(target), broken_records(target)
    rows = []
    for alias, store in target.stores.items():
        mine = [task for held, task in tasks if held == alias]
        times = [task.next_run_time for task in mine if task.next_run_time is not None]
        first = min(times, default=None)
        late = (now - first).total_seconds() if first is not None and first < now else 0.0
        rows.append(
            {
                "store": alias,
                "type": type(store).__name__,
                "scheduled": len(times),
                "paused": len(mine) - len(times),
                "broken": sum(1 for held, _, _ in broken if held == alias),
                "next_fire": first,
                "overdue_seconds": round(late, 1),
            }
        )
    return rows


@click.command()
@store_options
@common_options
@click.pass_context
def status(ctx: click.Context) -> None:
    """The stores at a glance: tasks scheduled, paused, broken; the next fire; and whether
    it is overdue (no scheduler working the store?)."""
    rows = store_status(open_target(ctx))
    keys = ["store", "type", "scheduled", "paused", "broken", "next_fire", "overdue_seconds"]
    emit(as_json(ctx), rows, [*keys[:5], "next fire", "overdue (s)"], keys)
    if not as_json(ctx) and any(row["overdue_seconds"] > 60 for row in rows):
        click.echo("\na fire is over a minute late: is a scheduler running on this store?")


@click.command()
@store_options
@common_options
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check the installation, --app or --store, and the stores: exit 1 when one fails."""
    checks: list[dict[str, Any]] = [
        _check("python", sys.version_info >= (3, 11), sys.version.split()[0]),
        _check("asyncz_like", True, asyncz_like.__version__),
    ]
    for module, extra in OPTIONAL.items():
        found = find_spec(module) is not None
        detail = (
            _installed(module) if found else f"not installed: pip install 'asyncz_like[{extra}]'"
        )
        checks.append(_check(module, found, detail, required=False))
    if option(ctx, "app") or option(ctx, "store"):
        checks += _target_checks(ctx)
    if as_json(ctx):
        show_json(checks)
    else:
        show_table(["check", "ok", "detail"], [[c["check"], _mark(c), c["detail"]] for c in checks])
    if any(c["ok"] is False for c in checks):
        raise CommandError("some checks failed")


def _target_checks(ctx: click.Context) -> list[dict[str, Any]]:
    try:
        target = open_target(ctx)
    except Exception as exc:
        return [_check("stores", False, one_line(exc))]
    checks = [_check(f"store {alias}", True, repr(store)) for alias, store in target.stores.items()]
    checks += [
        _check(f"store {row['store']} records", row["broken"] == 0, f"{row['broken']} broken")
        for row in store_status(target)
    ]
    broker = getattr(target.scheduler, "broker", None)
    if broker is not None:
        checks.append(_check("broker", True, repr(broker)))
    return checks


def _check(name: str, ok: bool, detail: str, required: bool = True) -> dict[str, Any]:
    return {"check": name, "ok": ok if ok or required else None, "detail": detail}


def _mark(check: dict[str, Any]) -> str:
    return {True: "yes", False: "NO", None: "-"}[check["ok"]]


def _installed(module: str) -> str:
    try:
        return version_of(module)
    except PackageNotFoundError:
        return "installed"
