"""A few short runs of the real loops. These sleep; everything else uses a fake clock."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from asyncz_like.events import TASK_ERROR, TASK_EXECUTED
from asyncz_like.schedulers import (
    AsyncIOScheduler,
    BackgroundScheduler,
    BlockingScheduler,
    NativeAsyncIOScheduler,
)
from asyncz_like.triggers import DateTrigger, IntervalTrigger

pytestmark = pytest.mark.e2e


def pid_of_worker() -> int:
    return os.getpid()


def test_asyncio_scheduler_runs_coroutines_on_loop_and_sync_in_threads() -> None:
    fired: list[str] = []
    loop_threads: set[int] = set()
    sync_threads: set[int] = set()

    async def tick() -> None:
        loop_threads.add(threading.get_ident())
        fired.append("async")

    def blocking_tick() -> None:
        sync_threads.add(threading.get_ident())
        fired.append("sync")

    async def main() -> None:
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_task(tick, IntervalTrigger(seconds=0.05))
        scheduler.add_task(blocking_tick, IntervalTrigger(seconds=0.05))
        scheduler.start()
        await asyncio.sleep(0.32)
        scheduler.shutdown()
        assert loop_threads == {threading.get_ident()}

    asyncio.run(main())
    assert fired.count("async") >= 4 and fired.count("sync") >= 4
    assert not (sync_threads & loop_threads)


def test_adding_an_earlier_task_wakes_the_loop() -> None:
    fired = asyncio.Event

    async def main() -> float:
        done = fired()
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.start()
        scheduler.add_task(print, "interval", hours=1)
        await asyncio.sleep(0.02)  # the loop now sleeps towards the hourly task
        start = time.monotonic()
        due = datetime.now(UTC) + timedelta(milliseconds=50)
        scheduler.add_task(done.set, DateTrigger(due))
        await asyncio.wait_for(done.wait(), 2)
        scheduler.shutdown()
        return time.monotonic() - start

    assert asyncio.run(main()) < 0.5


def test_background_scheduler_thread() -> None:
    done = threading.Event()
    counter: list[int] = []

    def tick() -> None:
        counter.append(1)
        if len(counter) >= 3:
            done.set()

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_task(tick, IntervalTrigger(seconds=0.05))
    with scheduler:
        assert done.wait(3)
    assert not scheduler.running


def test_blocking_scheduler_returns_after_shutdown_from_a_task() -> None:
    counter: list[int] = []
    scheduler = BlockingScheduler(timezone="UTC")

    def tick() -> None:
        counter.append(1)
        if len(counter) == 2:
            threading.Thread(target=scheduler.shutdown).start()

    scheduler.add_task(tick, IntervalTrigger(seconds=0.05))
    watchdog = threading.Timer(5, lambda: scheduler.running and scheduler.shutdown())
    watchdog.start()
    try:
        scheduler.start()
    finally:
        watchdog.cancel()
    assert len(counter) >= 2


def test_native_scheduler_awaits_async_shutdown_tasks() -> None:
    order: list[str] = []

    async def on_shutdown() -> None:
        await asyncio.sleep(0.01)
        order.append("shutdown task")

    async def main() -> None:
        scheduler = NativeAsyncIOScheduler(timezone="UTC")
        scheduler.add_task(on_shutdown, "shutdown")
        async with scheduler:
            order.append("running")
        order.append("after")

    asyncio.run(main())
    assert order == ["running", "shutdown task", "after"]


def test_process_pool_runs_in_another_process() -> None:
    results: list[object] = []
    done = threading.Event()

    def listener(event: object) -> None:
        results.append(event)
        done.set()

    scheduler = BackgroundScheduler(
        timezone="UTC", executors={"default": {"type": "processpool", "max_workers": 1}}
    )
    scheduler.add_listener(listener, TASK_EXECUTED | TASK_ERROR)
    scheduler.add_task(pid_of_worker, DateTrigger(datetime.now(UTC)), mistrigger_grace_time=None)
    with scheduler:
        assert done.wait(20)
    [event] = results
    assert event.code == TASK_EXECUTED  # type: ignore[attr-defined]
    assert event.return_value != os.getpid()  # type: ignore[attr-defined]


def test_sync_task_may_shut_the_asyncio_scheduler_down() -> None:
    done = threading.Event()

    async def main() -> None:
        scheduler = AsyncIOScheduler(timezone="UTC")

        def stop_from_a_task() -> None:
            scheduler.shutdown()  # in a worker thread of the executor: must not wait for itself
            done.set()

        scheduler.add_task(stop_from_a_task, DateTrigger(datetime.now(UTC)))
        scheduler.start()
        for _ in range(100):
            if done.is_set():
                break
            await asyncio.sleep(0.02)

    asyncio.run(main())
    assert done.is_set()


def test_shutdown_async_stops_new_fires_while_waiting() -> None:
    async def slow() -> None:
        await asyncio.sleep(0.15)

    async def main() -> float:
        scheduler = AsyncIOScheduler(timezone="UTC")
        for _ in range(5):
            scheduler.add_task(slow, IntervalTrigger(seconds=0.05), max_instances=3)
        scheduler.start()
        await asyncio.sleep(0.2)
        began = time.monotonic()
        await scheduler.shutdown_async(wait=True)
        return time.monotonic() - began

    assert asyncio.run(main()) < 1.0
