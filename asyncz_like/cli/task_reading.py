"""Reading commands: ``list``, ``inspect``, ``preview``, ``broken``. They create nothing, and
need no task's function: a function defined in ``__main__`` is shown by its reference."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

import click

from asyncz_like.cli.options import as_json, common_options, store_options
from asyncz_like.cli.output import emit, show_json, show_table
from asyncz_like.cli.targets import Target, open_target
from asyncz_like.exceptions import TaskLookupError
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks.task import Task
from asyncz_like.tasks.unresolved import functions_not_imported
from asyncz_like.utils import obj_to_ref

__all__ = ["BrokenTaskError", "broken", "find_task", "inspect", "list_tasks", "preview", "task_row"]


def task_row(alias: str, task: Task) -> dict[str, Any]:
    """What a listing shows of a task (and ``--json`` prints)."""
    next_time = task.next_run_time
    return {
        "id": task.id,
        "name": task.name,
        "function": reference_of(task),
        "trigger": str(task.trigger),
        "next_run_time": next_time.isoformat() if next_time else None,
        "state": "pending" if task.pending else "scheduled" if next_time else "paused",
        "store": alias,
        "executor": task.executor,
        "max_instances": task.max_instances,
    }


def reference_of(task: Task) -> str:
    if task.fn_reference:
        return task.fn_reference
    try:
        return obj_to_ref(task.fn)
    except (TypeError, ValueError):
        return repr(task.fn)


def all_tasks(target: Target) -> list[tuple[str, Task]]:
    with functions_not_imported():
        return [
            (alias, task)
            for alias, store in target.stores.items()
            for task in store.get_all_tasks()
        ]


def pending_tasks(target: Target, stored: list[tuple[str, Task]]) -> list[tuple[str, Task]]:
    """Tasks ``--app`` adds when it starts (``@scheduler.task``, ``add_task`` before the
    start), but not those already in a store."""
    held = {task.id for _, task in stored}
    with functions_not_imported():
        found = target.scheduler.get_tasks()
    return [
        (task.store_alias or "default", task)
        for task in found
        if task.pending and task.id not in held
    ]


def broken_records(target: Target) -> list[tuple[str, str, str]]:
    """``(store, task id, reason)`` of every record that cannot be read (a function that
    does not import here is no reason: every read is in the same mode)."""
    found = []
    for alias, store in target.stores.items():
        with functions_not_imported():
            store.get_all_tasks()  # reads every record, so that all broken ones are known
            broken = store.get_broken_records()
        found += [(alias, task_id, why) for task_id, why in broken.items()]
    return sorted(found)


def find_task(
    target: Target, task_id: str, lenient: bool = True, pending: bool = False
) -> tuple[str, BaseStore, Task]:
    """The store holding ``task_id`` and its task. ``lenient``: its function need not import
    (enough to look at it or change its schedule, not to run it). ``pending``: a task that
    ``--app`` adds when it starts will do too (to look at it or run it)."""
    for alias, store in target.stores.items():
        with functions_not_imported() if lenient else nullcontext():
            task = store.lookup_task(task_id)
            reason = None if task is not None else store.get_broken_records().get(task_id)
        if task is not None:
            return alias, store, task
        if reason is not None:
            raise BrokenTaskError(task_id, alias, reason)
    for alias, task in pending_tasks(target, []):
        if task.id == task_id and alias in target.stores:
            if pending:
                return alias, target.stores[alias], task
            raise LookupError(
                f"task {task_id} is not stored yet: the scheduler adds it when it starts "
                "(change it in your code)"
            )
    raise TaskLookupError(task_id)


class BrokenTaskError(LookupError):
    """The task's record is in a store but cannot be read (here)."""

    def __init__(self, task_id: str, alias: str, reason: str) -> None:
        super().__init__(f"task {task_id} is a broken record in store {alias!r}: {reason}")
        self.reason = reason


@click.command("list")
@store_options
@common_options
@click.pass_context
def list_tasks(ctx: click.Context) -> None:
    """List the tasks: id, name, function, trigger, next run, store."""
    target = open_target(ctx)
    stored = all_tasks(target)
    listed = stored + pending_tasks(target, stored)
    rows = [task_row(alias, task) for alias, task in listed]
    broken = broken_records(target)
    if as_json(ctx):
        show_json(rows)
        return
    cells = [{**row, "next_run_time": _when(row)} for row in rows]
    keys = ["id", "name", "function", "trigger", "next_run_time", "store"]
    emit(False, cells, ["id", "name", "function", "trigger", "next run", "store"], keys)
    if broken:
        click.echo(f"\n{len(broken)} broken record(s): see `asyncz-like broken`")
    _hint_keys(target, rows)


def _when(row: dict[str, Any]) -> str:
    if row["state"] == "pending":
        return "when the scheduler starts"
    return str(row["next_run_time"] or "paused")


def _hint_keys(target: Target, rows: list[dict[str, Any]]) -> None:
    """Redis keeps run times under a key of their own: every task paused may mean that the
    scheduler uses another key than the one read here."""
    for alias, store in target.stores.items():
        key = getattr(store, "run_times_key", None)
        mine = [row for row in rows if row["store"] == alias and row["state"] != "pending"]
        tasks_key = getattr(store, "tasks_key", None)
        if key and not mine and not store.client.exists(tasks_key):  # type: ignore[attr-defined]
            click.echo(f"\nstore {alias!r}: no key {tasks_key!r} on this server", err=True)
        if key and mine and all(row["state"] == "paused" for row in mine):
            click.echo(
                f"\nevery task of store {alias!r} is paused (no run time under {key!r}): if "
                "the scheduler runs them, give its run_times_key (--run-times-key, or --app)",
                err=True,
            )


@click.command()
@click.argument("task_id")
@store_options
@common_options
@click.pass_context
def inspect(ctx: click.Context, task_id: str) -> None:
    """Show everything about one task."""
    alias, _, task = find_task(open_target(ctx), task_id, pending=True)
    row = task_row(alias, task) | {
        "args": list(task.args),
        "kwargs": dict(task.kwargs),
        "coalesce": task.coalesce,
        "mistrigger_grace_time": task.mistrigger_grace_time,
    }
    if as_json(ctx):
        show_json(row)
    else:
        show_table(["field", "value"], [[key, value] for key, value in row.items()])


@click.command()
@click.argument("task_id")
@click.option("--count", "-n", type=click.IntRange(1, 10_000), default=5, show_default=True)
@store_options
@common_options
@click.pass_context
def preview(ctx: click.Context, task_id: str, count: int) -> None:
    """The next COUNT fire times of a task (nothing is changed)."""
    target = open_target(ctx)
    _, _, task = find_task(target, task_id, pending=True)
    if task.trigger is None:
        raise click.UsageError(f"task {task_id!r} has no trigger")
    start = task.next_run_time or datetime.now(UTC)
    times = target.scheduler.preview_task_runs(task.trigger, count, start)
    if as_json(ctx):
        show_json([moment.isoformat() for moment in times])
    else:
        show_table(["#", "fire time"], [[n, moment] for n, moment in enumerate(times, 1)])


@click.command()
@store_options
@common_options
@click.pass_context
def broken(ctx: click.Context) -> None:
    """List the records that cannot be read, and why (remove them with ``remove ID``)."""
    found = broken_records(open_target(ctx))
    rows = [{"store": alias, "id": task_id, "reason": why} for alias, task_id, why in found]
    emit(as_json(ctx), rows, ["id", "reason", "store"], ["id", "reason", "store"])
