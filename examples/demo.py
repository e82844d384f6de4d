"""`make demo`: a scheduler with an interval task, a cron task, a task that fails every other
run and a shutdown task; each fire is printed as it ends, then a summary.

The periodic tasks live in a SQLite file (DEMO_DB, default demo_tasks.db): run the demo twice
and the second run finds them there, with the schedule they had. DEMO_SECONDS (default 15)
sets how long it runs; DEMO_RESET=1 starts from an empty database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from datetime import UTC, datetime

from asyncz_like.events import TASK_ERROR, TASK_EXECUTED, TASK_MISSED, TaskExecutionEvent
from asyncz_like.schedulers import AsyncIOScheduler

counter = {"flaky": 0}


async def heartbeat() -> str:
    return "ok"


def report() -> str:
    return "report written"


def flaky() -> str:
    counter["flaky"] += 1
    if counter["flaky"] % 2 == 0:
        raise ConnectionError("the upstream API did not answer")
    return "fetched"


def goodbye() -> str:
    print("shutdown task: flushing and saying goodbye")
    return "bye"


class FireLog:
    """Prints one line per fire and keeps the figures for the summary."""

    def __init__(self) -> None:
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.lateness_ms: list[float] = []

    def __call__(self, event: TaskExecutionEvent) -> None:
        now = datetime.now(UTC)
        scheduled = event.scheduled_run_time or now
        late_ms = (now - scheduled).total_seconds() * 1000
        outcome = {TASK_EXECUTED: "ok", TASK_ERROR: "error", TASK_MISSED: "missed"}[event.code]
        detail = repr(event.return_value) if event.code == TASK_EXECUTED else repr(event.exception)
        print(
            f"{event.task_id:<10} due {scheduled:%H:%M:%S.%f}"[:-3]
            + f"  late {late_ms:7.2f} ms  {outcome:<6} {detail}"
        )
        self.outcomes[(event.task_id or "?", outcome)] += 1
        self.lateness_ms.append(late_ms)

    def summary(self) -> str:
        lines = ["", "summary", "-------"]
        for (task_id, outcome), count in sorted(self.outcomes.items()):
            lines.append(f"{task_id:<10} {outcome:<6} {count:4d}")
        if self.lateness_ms:
            ordered = sorted(self.lateness_ms)
            p50 = ordered[len(ordered) // 2]
            lines.append(
                f"fires: {len(ordered)}, lateness p50 {p50:.2f} ms, max {ordered[-1]:.2f} ms"
            )
        return "\n".join(lines)


PERIODIC = {
    "heartbeat": (heartbeat, {"trigger": "interval", "seconds": 1}),
    "report": (report, {"trigger": "cron", "second": "*/3"}),
    "flaky": (flaky, {"trigger": "interval", "seconds": 2}),
}


def add_missing_tasks(scheduler: AsyncIOScheduler) -> None:
    """Keep what the database already holds; add only what is not there yet."""
    for task in scheduler.get_tasks("default"):
        print(f"found in the database: {task.id:<10} next run {task.next_run_time:%H:%M:%S}")
    for task_id, (fn, options) in PERIODIC.items():
        if scheduler.get_task(task_id) is None:
            scheduler.add_task(fn, id=task_id, mistrigger_grace_time=5, **options)
            print(f"added:                 {task_id}")


async def main(seconds: float, database: str) -> None:
    log = FireLog()
    scheduler = AsyncIOScheduler(
        timezone="UTC",
        stores={
            "default": {"type": "sqlalchemy", "database": f"sqlite:///{database}"},
            "memory": {"type": "memory"},
        },
    )
    scheduler.add_listener(log, TASK_EXECUTED | TASK_ERROR | TASK_MISSED)  # type: ignore[arg-type]
    scheduler.add_task(goodbye, "shutdown", id="goodbye", store="memory")
    scheduler.start(paused=True)
    add_missing_tasks(scheduler)
    print(f"\nrunning for {seconds:g} s (DEMO_SECONDS to change)\n")
    started = time.monotonic()
    scheduler.resume()
    try:
        await asyncio.sleep(seconds)
    finally:
        await scheduler.shutdown_async()
    print(log.summary())
    print(f"ran {time.monotonic() - started:.1f} s; the tasks stay in {database} for the next run")


if __name__ == "__main__":
    logging.basicConfig(level=logging.CRITICAL)  # the fire log above already shows errors
    database = os.environ.get("DEMO_DB", "demo_tasks.db")
    if os.environ.get("DEMO_RESET") and os.path.exists(database):
        os.remove(database)
    asyncio.run(main(float(os.environ.get("DEMO_SECONDS", "15")), database))
