"""The ``*_async`` task API of the AsyncIOScheduler: store I/O off the loop thread."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest

from asyncz_like.exceptions import ConflictIdError, TaskLookupError
from asyncz_like.schedulers import AsyncIOScheduler
from asyncz_like.stores.memory import MemoryStore
from asyncz_like.tasks import Task
from tests.helpers import START, FakeClock, noop


class ThreadRecordingStore(MemoryStore):
    """A memory store that says it does I/O and notes the threads its methods ran on."""

    def __init__(self, does_io: bool) -> None:
        super().__init__()
        self.does_io = does_io
        self.threads: set[int] = set()

    def add_task(self, task: Task) -> None:
        self.threads.add(threading.get_ident())
        super().add_task(task)

    def lookup_task(self, task_id: str) -> Task | None:
        self.threads.add(threading.get_ident())
        return super().lookup_task(task_id)

    def update_task(self, task: Task) -> None:
        self.threads.add(threading.get_ident())
        super().update_task(task)

    def delete_task(self, task_id: str) -> None:
        self.threads.add(threading.get_ident())
        super().delete_task(task_id)

    def get_all_tasks(self) -> list[Task]:
        self.threads.add(threading.get_ident())
        return super().get_all_tasks()


async def exercise(scheduler: AsyncIOScheduler) -> dict[str, Any]:
    """Every async form once, with the results the test checks."""
    found: dict[str, Any] = {}
    added = await scheduler.add_task_async(noop, "interval", seconds=10, id="a")
    found["added"] = added.id
    await scheduler.add_tasks_async([{"fn": noop, "trigger": "interval", "seconds": 5, "id": "b"}])
    with pytest.raises(ConflictIdError):
        await scheduler.add_task_async(noop, "interval", seconds=10, id="a")
    await scheduler.update_task_async("a", name="renamed")
    await scheduler.reschedule_task_async("a", trigger="interval", seconds=30)
    await scheduler.pause_task_async("b")
    await scheduler.resume_task_async("b")
    found["a"] = await scheduler.get_task_async("a")
    found["ids"] = [task.id for task in await scheduler.get_tasks_async()]
    await scheduler.delete_task_async("b")
    with pytest.raises(TaskLookupError):
        await scheduler.remove_task_async("b")
    await scheduler.remove_all_tasks_async()
    found["after"] = await scheduler.get_tasks_async()
    return found


@pytest.mark.parametrize("does_io", [True, False])
def test_async_forms_run_store_io_off_the_loop_thread(does_io: bool) -> None:
    store = ThreadRecordingStore(does_io)

    async def main() -> dict[str, Any]:
        scheduler = AsyncIOScheduler(clock=FakeClock(), timezone="UTC", stores={"default": store})
        scheduler.start()
        try:
            return await exercise(scheduler)
        finally:
            await scheduler.shutdown_async(wait=False)

    loop_thread = threading.get_ident()  # asyncio.run runs the loop in this thread
    found = asyncio.run(main())
    assert found["added"] == "a"
    assert found["a"].name == "renamed"
    assert found["a"].next_run_time == START + timedelta(seconds=30)
    assert sorted(found["ids"]) == ["a", "b"]
    assert found["after"] == []
    assert store.threads  # the store was used
    if does_io:
        assert loop_thread not in store.threads
    else:  # the memory store needs no thread hop
        assert store.threads == {loop_thread}
