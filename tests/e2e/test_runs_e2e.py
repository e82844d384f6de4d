"""Background work on the real loops, for short times. Everything else uses a fake clock."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import threading
from datetime import datetime
from typing import Any

import pytest

from asyncz_like.events import TASK_EXECUTED
from asyncz_like.executors import ProcessPoolExecutor, ThreadPoolExecutor
from asyncz_like.runs import RunStatus, TaskPriority, current_run, update_progress
from asyncz_like.schedulers import AsyncIOScheduler, BackgroundScheduler, NativeAsyncIOScheduler
from asyncz_like.tasks import Task
from tests.unit.runs.helpers import double, report_progress_and_return

pytestmark = pytest.mark.e2e


def test_asyncio_scheduler_runs_coroutines_with_progress() -> None:
    async def report(items: int) -> str:
        for done in range(1, items + 1):
            await asyncio.sleep(0.005)
            update_progress(100 * done / items, f"{done}/{items}")
        run = current_run()
        assert run is not None
        return run.id

    async def main() -> None:
        async with AsyncIOScheduler(timezone="UTC") as scheduler:
            run = scheduler.submit(report, 4)
            finished = await scheduler.wait_for(run.id, timeout=5)
            assert finished.status is RunStatus.COMPLETED and finished.result == run.id
            assert finished.message == "4/4" and finished.progress == 100.0
            slow = scheduler.submit(asyncio.sleep, 5, timeout=0.05)
            assert (await scheduler.wait_for(slow.id, timeout=5)).status is RunStatus.TIMEOUT

    asyncio.run(main())


class RecordingPool(ThreadPoolExecutor):
    """A thread pool that notes the order runs are handed to it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.handed: list[str] = []

    def do_send_task(self, task: Task, run_times: list[datetime]) -> None:
        self.handed.append(task.id)
        super().do_send_task(task, run_times)


def test_a_burst_on_a_real_pool_is_handed_over_strictly_by_priority() -> None:
    pool = RecordingPool(max_workers=4)
    scheduler = BackgroundScheduler(timezone="UTC", executors={"default": pool})
    started: list[int] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        with lock:
            started.append(index)

    rng = random.Random(7)
    priorities = [rng.choice(list(TaskPriority)) for _ in range(1000)]
    runs = [scheduler.submit(work, i, priority=p) for i, p in enumerate(priorities)]
    with scheduler:
        for run in runs:
            scheduler.wait_for_sync(run.id, timeout=20)
    expected = sorted(range(1000), key=lambda i: (-priorities[i], i))
    # Strictly, although the hand-overs happen in whichever worker thread frees a worker.
    # (Threads then start them as the OS schedules them: a thread waiting for the GIL can
    # begin its run after others began later ones, so the starts themselves are not checked.)
    assert pool.handed == [runs[i].id for i in expected]
    assert sorted(started) == list(range(1000))


def test_process_runs_report_progress_and_results() -> None:
    spawn = multiprocessing.get_context("spawn")
    proc = ProcessPoolExecutor(max_workers=2, pool_kwargs={"mp_context": spawn})
    scheduler = BackgroundScheduler(timezone="UTC", executors={"default": proc})
    with scheduler:
        run = scheduler.submit(report_progress_and_return, 4, name="in a process")
        finished = scheduler.wait_for_sync(run.id, timeout=30)
        assert finished.status is RunStatus.COMPLETED, finished.error
        assert finished.result == run.id and finished.progress == 100.0
        assert finished.message == "step 4"
        executed = threading.Event()
        scheduler.add_listener(lambda event: executed.set(), TASK_EXECUTED)
        fire = scheduler.add_task(double, "date", args=[21], mistrigger_grace_time=None)
        assert executed.wait(30)  # the fire's records came back with its events
        records = scheduler.list_runs(task_id=fire.id)
        assert [(r.status, r.result) for r in records] == [(RunStatus.COMPLETED, 42)]


def test_shutdown_without_wait_cancels_a_running_thread() -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    started, release = threading.Event(), threading.Event()

    def work() -> str:
        started.set()
        release.wait(5)
        return "dropped"

    scheduler.start()
    run = scheduler.submit(work)
    assert started.wait(5)
    scheduler.shutdown(wait=False)
    release.set()
    assert run.status is RunStatus.CANCELLED


def test_native_scheduler_awaits_running_runs_on_shutdown() -> None:
    async def main() -> None:
        scheduler = NativeAsyncIOScheduler(timezone="UTC")
        await scheduler.start()
        run = scheduler.submit(asyncio.sleep, 0.05, "slept")
        await asyncio.sleep(0.01)
        assert run.status is RunStatus.RUNNING
        await scheduler.shutdown(wait=True)
        assert run.status is RunStatus.COMPLETED and run.result == "slept"

    asyncio.run(main())


def test_a_coroutine_fire_reports_progress_on_its_run() -> None:
    seen: list[str | None] = []

    async def work() -> None:
        run = current_run()
        seen.append(None if run is None else run.task_id)
        update_progress(50, "half")

    async def main() -> list[object]:
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.start()
        scheduler.add_task(work, "interval", seconds=0.05, id="cp")
        await asyncio.sleep(0.2)
        runs = scheduler.list_runs(task_id="cp")
        await scheduler.shutdown_async()
        return [(run.progress, run.message) for run in runs if run.status.value == "completed"]

    finished = asyncio.run(main())
    assert seen and set(seen) == {"cp"}
    assert finished and set(finished) == {(100.0, "half")}
