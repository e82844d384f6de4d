"""AsyncIOExecutor.send_tasks: a pass's slice handed over at once on the loop's thread."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from asyncz_like.events import TASK_ERROR, TASK_EXECUTED, TASK_SUBMITTED
from asyncz_like.exceptions import MaximumInstancesError
from asyncz_like.schedulers import AsyncIOScheduler
from asyncz_like.tasks import Task
from asyncz_like.triggers import DateTrigger
from tests.helpers import START, FakeClock

RAN: list[str] = []


async def quick(name: str) -> None:
    RAN.append(name)


async def slow(name: str) -> None:
    RAN.append(name)
    await asyncio.sleep(3600)


def _task(task_id: str, fn: Any) -> Task:
    task = Task(fn, DateTrigger(START), id=task_id, args=[task_id], max_instances=1)
    task.coalesce, task.mistrigger_grace_time = True, None
    task.executor, task.store_alias = "default", "default"
    return task


def test_a_slice_is_counted_at_once_and_each_fire_starts() -> None:
    RAN.clear()

    async def scenario() -> tuple[list[Any], list[Any], dict[str, int]]:
        scheduler = AsyncIOScheduler(clock=FakeClock(), timezone="UTC")
        scheduler.start()
        executor = scheduler.lookup_executor("default")
        busy, done = _task("busy", slow), _task("done", quick)
        first = executor.send_tasks([(busy, [START]), (done, [START])])
        # "busy" still runs (it waits): a second fire of it is refused; "done" ended at once
        second = executor.send_tasks([(busy, [START]), (done, [START])])
        instances = executor.instances
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # the cancelled run of "busy" ends
        return first, second, instances

    first, second, instances = asyncio.run(scenario())
    assert first == [None, None]
    assert isinstance(second[0], MaximumInstancesError) and second[1] is None
    assert instances == {"busy": 1}
    assert RAN == ["busy", "done", "done"]


def test_a_fire_that_cannot_start_gives_its_instance_back() -> None:
    async def scenario() -> tuple[list[Any], dict[str, int]]:
        scheduler = AsyncIOScheduler(clock=FakeClock(), timezone="UTC")
        scheduler.start()
        executor = scheduler.lookup_executor("default")
        make_context = executor.run_context

        def run_context(task: Task) -> Any:  # an error of the hand-over, not of the work
            if task.id == "broken":
                raise RuntimeError("no context")
            return make_context(task)

        executor.run_context = run_context  # type: ignore[method-assign]
        fires = [(_task("broken", quick), [START]), (_task("fine", quick), [START])]
        outcomes = executor.send_tasks(fires)
        instances = executor.instances
        scheduler.shutdown(wait=False)
        return outcomes, instances

    outcomes, instances = asyncio.run(scenario())
    assert isinstance(outcomes[0], RuntimeError) and outcomes[1] is None
    assert instances == {}


async def cancelled_at_once(name: str) -> None:
    RAN.append(name)
    raise asyncio.CancelledError


def test_a_fire_cancelled_in_its_first_step_gives_back_its_own_instance_only() -> None:
    RAN.clear()

    async def scenario() -> tuple[dict[str, int], dict[str, int]]:
        scheduler = AsyncIOScheduler(clock=FakeClock(), timezone="UTC")
        scheduler.start()
        executor = scheduler.lookup_executor("default")
        waiting = _task("same", slow)
        waiting.max_instances = 2
        assert executor.send_tasks([(waiting, [START])]) == [None]
        cancelling = _task("same", cancelled_at_once)
        cancelling.max_instances = 2
        with pytest.raises(asyncio.CancelledError):
            executor.send_tasks([(cancelling, [START]), (_task("later", quick), [START])])
        after_slice = executor.instances
        with pytest.raises(asyncio.CancelledError):
            executor.send_task(cancelling, [START])
        after_one = executor.instances
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        return after_slice, after_one

    after_slice, after_one = asyncio.run(scenario())
    # the waiting run still holds its instance; the fire never started gave its own back
    assert after_slice == {"same": 1} and after_one == {"same": 1}
    assert RAN == ["same", "same", "same"]


def test_a_fire_handed_over_from_another_thread_and_cancelled_at_once_frees_one_instance() -> None:
    RAN.clear()

    async def scenario() -> dict[str, int]:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, _context: None)  # the loop reports it
        scheduler = AsyncIOScheduler(clock=FakeClock(), timezone="UTC")
        scheduler.start()
        executor = scheduler.lookup_executor("default")
        waiting = _task("same", slow)
        waiting.max_instances = 2
        executor.send_task(waiting, [START])
        cancelling = _task("same", cancelled_at_once)
        cancelling.max_instances = 2
        # the hand-over's callback is queued on the loop before to_thread's result is
        await asyncio.to_thread(executor.send_task, cancelling, [START])
        instances = executor.instances
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        return instances

    assert asyncio.run(scenario()) == {"same": 1}
    assert RAN == ["same", "same"]


async def fails(name: str) -> None:
    raise ValueError(name)


@pytest.mark.parametrize("fn", [quick, fails], ids=["returns", "raises"])
def test_a_fire_that_ends_in_its_hand_over_is_announced_submitted_first(fn: Any) -> None:
    """A coroutine that never waits ends while it is handed over (eagerly): its end is still
    announced after TASK_SUBMITTED, as for one that waits, on the loop's next turn."""
    codes: list[int] = []

    async def scenario() -> None:
        scheduler = AsyncIOScheduler(clock=FakeClock(), timezone="UTC")
        scheduler.add_listener(
            lambda event: codes.append(event.code), TASK_SUBMITTED | TASK_EXECUTED | TASK_ERROR
        )
        scheduler.start(paused=True)
        for index in range(3):
            scheduler.add_task(fn, "date", run_at=START, args=[f"t{index}"], id=f"t{index}")
        scheduler.resume()
        scheduler.process_tasks()
        for _ in range(3):
            await asyncio.sleep(0)
        scheduler.shutdown(wait=False)

    asyncio.run(scenario())
    ended = TASK_EXECUTED if fn is quick else TASK_ERROR
    assert codes == [TASK_SUBMITTED] * 3 + [ended] * 3
