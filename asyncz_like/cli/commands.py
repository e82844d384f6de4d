"""The commands of ``asyncz-like``: look at and change the tasks of a store, run a scheduler."""

from __future__ import annotations

import json
import signal
import threading
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from asyncz_like.exceptions import TaskLookupError
from asyncz_like.schedulers.base import BaseScheduler
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks.task import Task
from asyncz_like.utils import ref_to_obj


def list_tasks(store: BaseStore, out: TextIO, as_json: bool) -> int:
    tasks = store.get_all_tasks()
    rows = [_row(task) for task in tasks]
    if as_json:
        json.dump(rows, out, indent=2)
        out.write("\n")
    else:
        cells = [[r["id"], r["name"], r["trigger"], r["next_run_time"] or "paused"] for r in rows]
        _table(out, ["id", "name", "trigger", "next run"], cells)
    broken = store.get_broken_records()
    if broken and not as_json:
        out.write(f"\n{len(broken)} broken record(s): see `asyncz-like broken`\n")
    return 0


def list_broken(store: BaseStore, out: TextIO) -> int:
    store.get_all_tasks()  # reads every record, so that all broken ones are known
    broken = store.get_broken_records()
    _table(out, ["id", "reason"], [[task_id, reason] for task_id, reason in sorted(broken.items())])
    return 0


def pause(store: BaseStore, task_id: str, out: TextIO) -> int:
    task = _lookup(store, task_id)
    task.next_run_time = None
    store.update_task(task)
    out.write(f"paused {task_id}\n")
    return 0


def resume(store: BaseStore, task_id: str, timezone: Any, out: TextIO) -> int:
    task = _lookup(store, task_id)
    assert task.trigger is not None
    now = datetime.now(UTC)
    next_time = task.trigger.get_next_trigger_time(timezone, None, now)
    if next_time is None:
        store.delete_task(task_id)
        out.write(f"{task_id} has no fire left: removed\n")
        return 0
    task.next_run_time = next_time
    store.update_task(task)
    out.write(f"resumed {task_id}: next run at {next_time.isoformat()}\n")
    return 0


def remove(store: BaseStore, task_id: str, out: TextIO) -> int:
    store.delete_task(task_id)  # a broken record too, on purpose
    out.write(f"removed {task_id}\n")
    return 0


def run_scheduler(reference: str, seconds: float | None, out: TextIO) -> int:
    """Import ``module:attr`` (a scheduler, or a callable that returns one) and run it until
    SIGINT/SIGTERM, or for ``seconds``."""
    target = ref_to_obj(reference)
    scheduler = target() if callable(target) and not isinstance(target, BaseScheduler) else target
    if not isinstance(scheduler, BaseScheduler):
        raise TypeError(f"{reference} is not a scheduler (nor returns one): {scheduler!r}")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _SIGNALS}
    try:
        _run_until(scheduler, stop, seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.write("scheduler stopped\n")
    return 0


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _run_until(scheduler: BaseScheduler, stop: threading.Event, seconds: float | None) -> None:
    from asyncz_like.schedulers.asyncio import AsyncIOScheduler
    from asyncz_like.schedulers.blocking import BackgroundScheduler, BlockingScheduler

    if isinstance(scheduler, AsyncIOScheduler):
        import asyncio

        async def main() -> None:
            scheduler.start()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, stop.wait, seconds)
            await scheduler.shutdown_async()

        asyncio.run(main())
    elif isinstance(scheduler, BlockingScheduler) and not isinstance(
        scheduler, BackgroundScheduler
    ):
        watcher = threading.Thread(target=_stop_after, args=(scheduler, stop, seconds), daemon=True)
        watcher.start()
        try:
            scheduler.start()  # blocks in this thread until the watcher shuts it down
        finally:
            stop.set()
        watcher.join(5)
    else:
        scheduler.start()
        stop.wait(seconds)
        scheduler.shutdown()


def _stop_after(scheduler: BaseScheduler, stop: threading.Event, seconds: float | None) -> None:
    stop.wait(seconds)
    for _ in range(500):  # the other thread may be starting it still
        if scheduler.running:
            scheduler.shutdown()
            return
        time.sleep(0.01)


def _lookup(store: BaseStore, task_id: str) -> Task:
    task = store.lookup_task(task_id)
    if task is None:
        raise TaskLookupError(task_id)
    return task


def _row(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "name": task.name,
        "trigger": str(task.trigger),
        "next_run_time": task.next_run_time.isoformat() if task.next_run_time else None,
        "executor": task.executor,
        "max_instances": task.max_instances,
    }


def _table(out: TextIO, header: list[str], rows: list[list[Any]]) -> None:
    cells = [header, *[[str(value) for value in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        out.write("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)))
        out.write("\n")
    if not rows:
        out.write("(none)\n")
