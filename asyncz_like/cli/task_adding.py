"""``add`` and ``update``: write a task into a store, or change one, from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar

import click

from asyncz_like.cli.errors import CommandError
from asyncz_like.cli.options import as_json, common_options, store_options
from asyncz_like.cli.output import show_json
from asyncz_like.cli.targets import open_target
from asyncz_like.cli.task_reading import find_task, task_row
from asyncz_like.exceptions import ConflictIdError
from asyncz_like.schedulers.decorators import build_decorator_trigger
from asyncz_like.tasks.task import Task
from asyncz_like.triggers import first_fire_and_anchor
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.triggers.date import DateTrigger
from asyncz_like.utils import get_local_timezone, to_zone

__all__ = ["add", "update"]

F = TypeVar("F", bound=Callable[..., Any])


def _trigger_options(fn: F) -> F:
    for decorator in reversed(
        (
            click.option("--cron", help='A crontab line: "0 2 * * *".'),
            click.option("--interval", help='Every: "30s", "5m", "1h30m", or seconds.'),
            click.option("--at", help="Once, at this ISO 8601 time."),
            click.option("--timezone", help="Zone of the trigger (default: the scheduler's)."),
        )
    ):
        fn = decorator(fn)
    return fn


def _json_option(value: str | None, name: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=name) from None


def _trigger(
    cron: str | None, interval: str | None, at: str | None, zone: tzinfo
) -> BaseTrigger | None:
    given = [
        name for name, value in (("--cron", cron), ("--interval", interval), ("--at", at)) if value
    ]
    if len(given) > 1:
        raise click.UsageError(f"give one of --cron, --interval, --at (got {', '.join(given)})")
    if at:
        return DateTrigger(run_at=at, timezone=zone)
    if cron or interval:
        seconds: Any = interval
        if interval and interval.replace(".", "", 1).isdigit():
            seconds = float(interval)
        return build_decorator_trigger(seconds, cron, zone)
    return None


def _schedule(task: Task, trigger: BaseTrigger, zone: tzinfo) -> None:
    """Give ``task`` its trigger and first fire from now, as ``add_task`` does."""
    fire, anchor = first_fire_and_anchor(trigger, zone, datetime.now(UTC))
    task.set_trigger(trigger, anchor)
    task.next_run_time = fire


def _zone(scheduler: Any, timezone: str | None) -> tzinfo:
    zone: tzinfo = (
        (to_zone(timezone) if timezone else None)
        or getattr(scheduler, "timezone", None)
        or get_local_timezone()
    )
    return zone


@click.command()
@click.argument("function")
@click.option("--id", "task_id", help="The task's id (default: a random one).")
@click.option("--name", help="Its name (default: the function's).")
@_trigger_options
@click.option("--args", "args_json", help="Positional arguments, a JSON list.")
@click.option("--kwargs", "kwargs_json", help="Keyword arguments, a JSON object.")
@click.option("--store-alias", default="default", show_default=True, help="Store of --app.")
@click.option("--replace", is_flag=True, help="Replace a task that has this id.")
@store_options
@common_options
@click.pass_context
def add(
    ctx: click.Context,
    function: str,
    task_id: str | None,
    name: str | None,
    cron: str | None,
    interval: str | None,
    at: str | None,
    timezone: str | None,
    args_json: str | None,
    kwargs_json: str | None,
    store_alias: str,
    replace: bool,
) -> None:
    """Add a task that calls FUNCTION (module:qualname, importable by the schedulers)."""
    target = open_target(ctx, create=True)
    zone = _zone(target.scheduler, timezone)
    trigger = _trigger(cron, interval, at, zone)
    if trigger is None:
        raise click.UsageError("add needs --cron, --interval or --at")
    if store_alias not in target.stores:
        raise click.BadParameter(f"no store {store_alias!r}", param_hint="--store-alias")
    args, kwargs = _json_option(args_json, "--args"), _json_option(kwargs_json, "--kwargs")
    task = Task(function, None, id=task_id, name=name, args=args, kwargs=kwargs)
    _schedule(task, trigger, zone)
    store = target.stores[store_alias]
    try:
        store.add_task(task)
    except ConflictIdError as exc:
        if not replace:
            raise CommandError(f"{exc}: give --replace to replace it") from exc
        store.update_task(task)
    row = task_row(store_alias, task)
    if as_json(ctx):
        show_json(row)
    else:
        click.echo(f"added {task.id}: next run at {row['next_run_time']}")


@click.command()
@click.argument("task_id")
@click.option("--name", help="A new name.")
@_trigger_options
@click.option("--args", "args_json", help="New positional arguments, a JSON list.")
@click.option("--kwargs", "kwargs_json", help="New keyword arguments, a JSON object.")
@click.option("--max-instances", type=int, help="Runs of it at a time.")
@click.option("--coalesce/--no-coalesce", default=None, help="Run missed fires once.")
@store_options
@common_options
@click.pass_context
def update(
    ctx: click.Context,
    task_id: str,
    name: str | None,
    cron: str | None,
    interval: str | None,
    at: str | None,
    timezone: str | None,
    args_json: str | None,
    kwargs_json: str | None,
    max_instances: int | None,
    coalesce: bool | None,
) -> None:
    """Change a task: its name, arguments, limits, or trigger (a paused one stays paused)."""
    target = open_target(ctx)
    alias, store, task = find_task(target, task_id)
    changes = {
        "name": name,
        "args": _json_option(args_json, "--args"),
        "kwargs": _json_option(kwargs_json, "--kwargs"),
        "max_instances": max_instances,
        "coalesce": coalesce,
    }
    task.modify(**{key: value for key, value in changes.items() if value is not None})
    zone = _zone(target.scheduler, timezone)
    trigger = _trigger(cron, interval, at, zone)
    if trigger is not None:
        paused = task.next_run_time is None
        _schedule(task, trigger, zone)
        if paused:
            task.next_run_time = None
    store.update_task(task)
    row = task_row(alias, task)
    if as_json(ctx):
        show_json(row)
    else:
        click.echo(f"updated {task_id}: next run at {row['next_run_time'] or 'paused'}")
