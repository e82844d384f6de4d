"""The snippets of the seed page asyncz-tasks.txt, with asyncz -> asyncz_like, run as written."""

from __future__ import annotations

import asyncio
from typing import Any

from asyncz_like.locks import FileLockProtected
from asyncz_like.schedulers import AsyncIOScheduler
from asyncz_like.tasks import Task
from asyncz_like.triggers import CronTrigger
from asyncz_like.utils import make_async_function, make_function


def check_status() -> None:
    return None


def test_create_task_and_submit_with_changed_trigger() -> None:
    scheduler = AsyncIOScheduler()
    Task(
        id="my-task",
        fn=check_status,
        name="my-func",
        scheduler=scheduler,
        trigger=CronTrigger(day_of_week="mon,tue,wed,thu,fri,sat,sun", hour=8, minute=1),
        max_instances=3,
        coalesce=True,
    )
    scheduler.start()
    t = Task(id="my-task2", fn=check_status, max_instances=1, coalesce=True)
    scheduler.add_task(
        t, trigger=CronTrigger(day_of_week="mon,tue,wed,thu,fri,sat,sun", hour=8, minute=1)
    )
    assert {task.id for task in scheduler.get_tasks()} == {"my-task", "my-task2"}
    assert all(task.next_run_time is not None for task in scheduler.get_tasks())
    scheduler.shutdown()


def test_update_and_reschedule() -> None:
    scheduler = AsyncIOScheduler()
    task = Task(
        id="my-task",
        fn=check_status,
        name="my-func",
        scheduler=scheduler,
        trigger=CronTrigger(day_of_week="mon,tue,wed,thu,fri,sat,sun", hour=8, minute=1),
        max_instances=3,
        coalesce=True,
    )
    task.update(name="my-new-task-id", max_instances=5, coalesce=False)
    assert (task.name, task.max_instances, task.coalesce) == ("my-new-task-id", 5, False)
    task.reschedule("my-task", trigger="cron", hour=10, minute=5)
    scheduler.start()
    assert task.next_run_time is not None
    assert (task.next_run_time.hour, task.next_run_time.minute) == (10, 5)
    scheduler.shutdown()


def test_lifecycle_generator_setup_tick_cleanup() -> None:
    steps: list[str] = []
    scheduler = AsyncIOScheduler()

    def lifecycle_task():  # type: ignore[no-untyped-def]
        steps.append("setup")
        scheduler.add_task(make_function(generator.send), args=[False], trigger="shutdown")
        running = yield
        while running:
            steps.append("tick")
            running = yield
        steps.append("cleanup")

    generator = lifecycle_task()
    generator.send(None)
    tick = scheduler.add_task(
        make_function(generator.send), args=[True], trigger="interval", minutes=5
    )
    scheduler.start()
    scheduler.run_task(tick.id)  # one tick now, instead of waiting five minutes
    _on_loop(scheduler, _settle(scheduler))
    scheduler.stop()
    assert steps == ["setup", "tick", "cleanup"]


def test_async_lifecycle_generator() -> None:
    steps: list[str] = []
    scheduler = AsyncIOScheduler()

    async def lifecycle_task():  # type: ignore[no-untyped-def]
        steps.append("setup")
        scheduler.add_task(make_async_function(generator.asend), args=[False], trigger="shutdown")
        running = yield
        while running:
            steps.append("tick")
            running = yield
        steps.append("cleanup")

    generator = lifecycle_task()
    scheduler.start()
    _on_loop(scheduler, _first_step(generator))
    tick = scheduler.add_task(
        make_async_function(generator.asend), args=[True], trigger="interval", minutes=5
    )
    scheduler.run_task(tick.id)
    _on_loop(scheduler, _settle(scheduler))
    scheduler.stop()
    assert steps == ["setup", "tick", "cleanup"]


def test_single_lifecycle_task_with_file_lock(tmp_path) -> None:  # type: ignore[no-untyped-def]
    steps: list[str] = []
    scheduler = AsyncIOScheduler()

    def lifecycle_task(name: str):  # type: ignore[no-untyped-def]
        file_lock = FileLockProtected(str(tmp_path / f"asyncz_bg_{name}_{{pgrp}}.lock"))
        while True:
            with file_lock.protected(False) as got_the_lock:
                if not got_the_lock:
                    running = yield
                    if not running:
                        break
                    continue
                steps.append("setup")
                scheduler.add_task(make_function(generator.send), args=[False], trigger="shutdown")
                running = yield
                while running:
                    steps.append("tick")
                    running = yield
                steps.append("cleanup")
                break

    generator = lifecycle_task("foo")
    generator.send(None)
    tick = scheduler.add_task(
        make_function(generator.send), args=[True], trigger="interval", minutes=5
    )
    with scheduler:
        scheduler.run_task(tick.id)
        _on_loop(scheduler, _settle(scheduler))
    assert steps == ["setup", "tick", "cleanup"]


def _on_loop(scheduler: AsyncIOScheduler, coroutine: Any) -> Any:
    """Run ``coroutine`` on the loop the scheduler runs in its own thread (started outside
    any loop, as these snippets are) and wait for it."""
    assert scheduler.event_loop is not None and scheduler.event_loop_thread is not None
    return asyncio.run_coroutine_threadsafe(coroutine, scheduler.event_loop).result(timeout=30)


async def _first_step(generator: Any) -> None:
    await generator.asend(None)


async def _settle(scheduler: AsyncIOScheduler) -> None:
    from asyncz_like.executors.asyncio import AsyncIOExecutor

    executor = scheduler.lookup_executor("default")
    assert isinstance(executor, AsyncIOExecutor)
    await executor.wait_idle()
