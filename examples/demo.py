"""`make demo`: a scheduler with an interval task, a cron task, a task that fails every other
run and a shutdown task; each fire is printed as it ends. Beside them, background work
(`@scheduler.background`) goes through a broker, and its progress is printed as it moves.
Then a summary, and the command that shows all of it in the dashboard.

The periodic tasks live in a SQLite file (DEMO_DB, default demo_tasks.db), the runs in
another (DEMO_RUNS_DB, default demo_runs.db): run the demo twice and the second run finds the
tasks there, with the schedule they had. DEMO_SECONDS (default 15) sets how long it runs (at
least until the background runs end); DEMO_RESET=1 starts from empty databases.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from datetime import UTC, datetime

from asyncz_like.events import TASK_ERROR, TASK_EXECUTED, TASK_MISSED, TaskExecutionEvent
from asyncz_like.runs import FINAL_STATUSES, Run, update_progress
from asyncz_like.schedulers import AsyncIOScheduler

DATABASE = os.environ.get("DEMO_DB", "demo_tasks.db")
RUNS_DATABASE = os.environ.get("DEMO_RUNS_DB", "demo_runs.db")

# Module level, so that another process (the dashboard) finds the same stores and broker
# with `--app demo:scheduler`.
scheduler = AsyncIOScheduler(
    timezone="UTC",
    stores={
        "default": {"type": "sqlalchemy", "database": f"sqlite:///{DATABASE}"},
        "memory": {"type": "memory"},
    },
    broker=f"sqlite:///{RUNS_DATABASE}",
)
counter = {"flaky": 0, "upload": 0}


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


@scheduler.background(max_retries=1, retry_backoff=0.2)
async def resize(photo: str, steps: int) -> str:
    """Background work that reports its progress; the first upload attempt fails."""
    for step in range(1, steps + 1):
        await asyncio.sleep(0.25)
        update_progress(100 * step / steps, f"{photo}: step {step}/{steps}")
    if photo == "upload.png" and counter["upload"] == 0:
        counter["upload"] += 1
        raise ConnectionError("the storage did not answer (retried once)")
    return f"{photo} resized"


def progress_bar(run: Run, width: int = 20) -> str:
    filled = round(width * run.progress / 100)
    return f"[{'#' * filled}{'.' * (width - filled)}] {run.progress:5.1f}%"


def about(run: Run) -> str:
    if run.status.value == "running":
        return run.message or ""
    if run.error is not None:
        return f"{run.error.type}: {run.error.message}"
    return repr(run.result) if run.result is not None else ""


async def follow_runs(run_ids: list[str]) -> dict[str, Run]:
    """Print a line whenever a run's status or progress moves; return the runs once ended."""
    seen: dict[str, tuple[str, float]] = {}
    latest: dict[str, Run] = {}
    while len(latest) < len(run_ids) or any(
        run.status not in FINAL_STATUSES for run in latest.values()
    ):
        for run_id in run_ids:
            run = await asyncio.to_thread(scheduler.get_run, run_id)
            if run is None:
                continue
            latest[run_id] = run
            state = (run.status.value, run.progress)
            if seen.get(run_id) != state:
                seen[run_id] = state
                print(f"run {run_id[:8]}  {progress_bar(run)}  {run.status.value:<9} {about(run)}")
        await asyncio.sleep(0.1)
    return latest


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


def dashboard_command() -> str:
    """The commands that make a dashboard user and show this demo's tasks and runs in the web
    dashboard (it refuses to start without users)."""
    examples = os.path.dirname(os.path.abspath(__file__))
    if not os.path.relpath(examples).startswith(".."):
        examples = os.path.relpath(examples)
    return (
        "asyncz-like dashboard-user admin --role operator >> dashboard-users.txt\n"
        f"  PYTHONPATH={examples} asyncz-like dashboard --app demo:scheduler "
        "--users dashboard-users.txt"
    )


async def main(seconds: float) -> None:
    log = FireLog()
    scheduler.add_listener(log, TASK_EXECUTED | TASK_ERROR | TASK_MISSED)  # type: ignore[arg-type]
    scheduler.add_task(goodbye, "shutdown", id="goodbye", store="memory")
    scheduler.start(paused=True)
    add_missing_tasks(scheduler)
    print(f"\nrunning for {seconds:g} s (DEMO_SECONDS to change)\n")
    started = time.monotonic()
    scheduler.resume()
    runs = [resize.submit(photo, steps) for photo, steps in PHOTOS]
    print(f"submitted {len(runs)} background runs through the broker ({RUNS_DATABASE})\n")
    try:
        # the background runs take about 2 s: the demo waits for them however short it is
        ended = await asyncio.wait_for(follow_runs([run.id for run in runs]), 30)
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
    finally:
        await scheduler.shutdown_async()
    print(log.summary())
    for run in ended.values():
        print(f"run {run.id[:8]}  {run.status.value:<9} attempts {run.attempt}  {run.result!r}")
    print(f"ran {time.monotonic() - started:.1f} s; the tasks stay in {DATABASE} for the next run")
    print(f"\nsee the tasks and runs in the web dashboard:\n  {dashboard_command()}")


PHOTOS = [("cat.jpg", 4), ("upload.png", 3), ("map.webp", 6)]


if __name__ == "__main__":
    logging.basicConfig(level=logging.CRITICAL)  # the fire log above already shows errors
    if os.environ.get("DEMO_RESET"):
        for path in (DATABASE, RUNS_DATABASE):
            if os.path.exists(path):
                os.remove(path)
    # Run the module under its own name, not __main__, so that what it stores refers to
    # `demo:heartbeat` and the like, which another process (the dashboard) can import.
    import demo

    asyncio.run(demo.main(float(os.environ.get("DEMO_SECONDS", "15"))))
