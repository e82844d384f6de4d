"""Commands that change a task: ``pause``, ``resume``, ``remove``, and ``run`` (a task now).

They work on the store as it is (nothing is created); a scheduler that shares the store sees
the change at its next look, as it sees another scheduler's."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, tzinfo
from typing import Any

import click

from asyncz_like.cli.errors import CommandError
from asyncz_like.cli.options import as_json, common_options, option, store_options
from asyncz_like.cli.output import show_json
from asyncz_like.cli.running import run_scheduler
from asyncz_like.cli.targets import open_target
from asyncz_like.cli.task_reading import BrokenTaskError, find_task, task_row
from asyncz_like.exceptions import TaskLookupError
from asyncz_like.utils import get_local_timezone, to_zone

__all__ = ["pause", "remove", "resume", "run"]


def _done(ctx: click.Context, text: str, value: dict[str, Any]) -> None:
    if as_json(ctx):
        show_json(value)
    else:
        click.echo(text)


@click.command()
@click.argument("task_id")
@store_options
@common_options
@click.pass_context
def pause(ctx: click.Context, task_id: str) -> None:
    """Pause a task: it does not fire until resumed."""
    alias, store, task = find_task(open_target(ctx), task_id)
    task.next_run_time = None
    store.update_task(task)
    _done(ctx, f"paused {task_id}", task_row(alias, task))


@click.command()
@click.argument("task_id")
@click.option("--timezone", help="Zone for a trigger without one (default: the scheduler's).")
@store_options
@common_options
@click.pass_context
def resume(ctx: click.Context, task_id: str, timezone: str | None) -> None:
    """Resume a paused task from now; a task with no fire left is removed."""
    target = open_target(ctx)
    alias, store, task = find_task(target, task_id)
    zone = (to_zone(timezone) if timezone else None) or _zone_of(target.scheduler)
    assert task.trigger is not None
    next_time = task.trigger.get_next_trigger_time(zone, None, datetime.now(UTC))
    if next_time is None:
        store.delete_task(task_id)
        _done(ctx, f"{task_id} has no fire left: removed", {"id": task_id, "removed": True})
        return
    task.next_run_time = next_time
    store.update_task(task)
    _done(ctx, f"resumed {task_id}: next run at {next_time.isoformat()}", task_row(alias, task))


def _zone_of(scheduler: Any) -> tzinfo:
    zone: tzinfo = getattr(scheduler, "timezone", None) or get_local_timezone()
    return zone


@click.command()
@click.argument("task_id")
@store_options
@common_options
@click.pass_context
def remove(ctx: click.Context, task_id: str) -> None:
    """Remove a task, or a broken record on purpose."""
    target = open_target(ctx)
    for alias, store in target.stores.items():
        try:
            store.delete_task(task_id)
        except TaskLookupError:
            continue
        _done(ctx, f"removed {task_id}", {"id": task_id, "store": alias, "removed": True})
        return
    raise TaskLookupError(task_id)


@click.command()
@click.argument("task_id")
@click.option("--seconds", type=float, hidden=True, help="(old `run MODULE:ATTR` only)")
@store_options
@common_options
@click.pass_context
def run(ctx: click.Context, task_id: str, seconds: float | None) -> None:
    """Run a task now, once, in this process; its schedule is unchanged."""
    if ":" in task_id and not (option(ctx, "app") or option(ctx, "store")):
        click.echo(
            f"asyncz-like: `run {task_id}` runs a scheduler as it used to; that is now "
            f"`asyncz-like start --app {task_id}` (`run ID` runs a task now)",
            err=True,
        )
        run_scheduler(ctx, task_id, seconds)
        return
    try:
        alias, _, task = find_task(open_target(ctx), task_id, lenient=False, pending=True)
    except BrokenTaskError as exc:
        raise CommandError(f"task {task_id} cannot run in this process: {exc.reason}") from exc
    try:
        assert task.fn is not None  # a task read back has its function
        result = task.fn(*task.args, **task.kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
    except Exception as exc:
        raise CommandError(f"task {task_id} raised {type(exc).__name__}: {exc}") from exc
    _done(ctx, f"ran {task_id}: {result!r}", {"id": task_id, "store": alias, "result": result})


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
