"""AsyncIOExecutor starts a coroutine fire eagerly: its first step runs in the hand-over, in a
context of its own; one that never waits ends there, one that waits goes on in a Task."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

from asyncz_like.events import TASK_ERROR, TASK_EXECUTED
from asyncz_like.executors import AsyncIOExecutor
from asyncz_like.executors.asyncio import _Resumed
from asyncz_like.executors.runner import RunContext, start_coroutine_task
from asyncz_like.runs import RunStatus, current_run
from asyncz_like.tasks import Task
from asyncz_like.triggers import IntervalTrigger
from tests.helpers import FakeClock, ManualScheduler, Recorder, manual_scheduler
from tests.unit.runs.aio import until

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("MARK", default="unset")


def on_this_loop(clock: FakeClock) -> tuple[ManualScheduler, AsyncIOExecutor]:
    """A hand-driven scheduler whose asyncio executor runs on the running loop."""
    executor = AsyncIOExecutor()
    scheduler = manual_scheduler(clock, executors={"default": executor})
    scheduler.event_loop = asyncio.get_running_loop()  # type: ignore[attr-defined]
    return scheduler, executor


def fire_one_that_waits(
    scheduler: ManualScheduler, executor: AsyncIOExecutor, clock: FakeClock, fn: Any, task_id: str
) -> asyncio.Task[Any]:
    """Start ``scheduler`` with an interval task of ``fn``, run the pass of its first fire,
    and return the Task its waiting fire goes on in."""
    scheduler.add_task(fn, "interval", seconds=1, id=task_id)
    scheduler.start()
    clock.advance(1)
    scheduler.process_tasks()
    (pending,) = executor._pending
    return pending


def test_a_fire_that_never_waits_ends_in_the_hand_over(clock: FakeClock) -> None:
    async def main() -> None:
        scheduler, executor = on_this_loop(clock)
        events = Recorder()
        scheduler.add_listener(events.listener, TASK_EXECUTED | TASK_ERROR)
        seen: list[str] = []

        async def quick(name: str) -> str:
            MARK.set(name)  # in the fire's own context: the pass's stays "unset"
            seen.append(name)
            return name.upper()

        async def broken() -> None:
            raise RuntimeError("boom")

        scheduler.add_task(quick, "interval", seconds=1, args=["a"], id="a")
        scheduler.add_task(broken, "interval", seconds=1, id="b")
        scheduler.start()
        clock.advance(1)
        scheduler.process_tasks()
        assert seen == ["a"]  # ran inside process_tasks, before the loop turned
        assert MARK.get() == "unset"
        assert not executor._pending  # no Task was made
        assert executor.instances == {}  # both instances freed
        assert events.events == []  # announced on the loop's next turn, after TASK_SUBMITTED
        await asyncio.sleep(0)
        codes = {event.task_id: (event.code, event.return_value) for event in events.events}
        assert codes == {"a": (TASK_EXECUTED, "A"), "b": (TASK_ERROR, None)}
        scheduler.shutdown()

    asyncio.run(main())


def test_a_fire_that_waits_goes_on_in_its_own_context(clock: FakeClock) -> None:
    async def main() -> None:
        scheduler, executor = on_this_loop(clock)
        events = Recorder()
        scheduler.add_listener(events.listener, TASK_EXECUTED)
        gate = asyncio.get_running_loop().create_future()
        trace: list[object] = []

        async def slow() -> int:
            MARK.set("slow")
            trace.append(current_run() is not None)  # the fire is the current run
            value = await gate
            await asyncio.sleep(0)
            trace.append(MARK.get())
            return int(value)

        scheduler.add_task(slow, "interval", seconds=1, id="s")
        scheduler.start()
        clock.advance(1)
        scheduler.process_tasks()
        assert trace == [True] and len(executor._pending) == 1
        assert MARK.get() == "unset"
        gate.set_result("7")
        await until(lambda: not executor._pending)
        assert trace == [True, "slow"]
        assert [event.return_value for event in events.events] == [7]
        assert executor.instances == {}
        scheduler.shutdown()

    asyncio.run(main())


def test_a_waiting_fire_is_cancelled_at_shutdown_without_wait(clock: FakeClock) -> None:
    async def main() -> None:
        scheduler, executor = on_this_loop(clock)
        outcome: list[str] = []

        async def forever() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise

        pending = fire_one_that_waits(scheduler, executor, clock, forever, "f")
        scheduler.shutdown(wait=False)
        await until(lambda: not executor.instances)  # freed by the Task's done callback
        assert outcome == ["cancelled"] and pending.cancelled()

    asyncio.run(main())


def test_fires_handed_over_from_a_thread_wake_the_loop_once(clock: FakeClock) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        scheduler, executor = on_this_loop(clock)
        order: list[int] = []

        async def work(n: int) -> None:
            order.append(n)

        for n in range(3):
            scheduler.add_task(work, "interval", seconds=1, args=[n], id=f"t{n}")
        scheduler.start()
        clock.advance(1)
        wakeups: list[object] = []
        original = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any) -> Any:
            wakeups.append(callback)
            return original(callback, *args)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        try:
            # a pass off the loop, while the loop is held (as by other work): the three
            # fires wait in one hand-off for one wake-up
            passing = threading.Thread(target=scheduler.process_tasks)
            passing.start()
            passing.join()
            assert order == []
            await until(lambda: len(order) == 3)
        finally:
            del loop.call_soon_threadsafe  # type: ignore[method-assign]
        assert sorted(order) == [0, 1, 2]
        handoffs = [cb for cb in wakeups if getattr(cb, "__name__", "") == "_submit_handed_off"]
        assert len(handoffs) == 1
        await until(lambda: not executor.instances)
        scheduler.shutdown()

    asyncio.run(main())


def test_a_waiting_fire_cancelled_before_its_task_ran_is_recorded_cancelled(
    clock: FakeClock,
) -> None:
    async def main() -> None:
        scheduler, executor = on_this_loop(clock)

        async def waits() -> None:
            await asyncio.Event().wait()

        pending = fire_one_that_waits(scheduler, executor, clock, waits, "w")
        pending.cancel()  # before the Task's first step: thrown into the fire itself
        await until(lambda: not executor.instances)
        (run,) = scheduler.list_runs(task_id="w")
        assert run.status is RunStatus.CANCELLED and pending.cancelled()
        scheduler.shutdown()

    asyncio.run(main())


def test_a_waiting_fire_that_survives_a_cancellation_goes_on_and_returns(
    clock: FakeClock,
) -> None:
    async def main() -> None:
        scheduler, executor = on_this_loop(clock)
        events = Recorder()
        scheduler.add_listener(events.listener, TASK_EXECUTED)

        async def stubborn() -> str:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                await asyncio.sleep(0)  # waits again after the cancellation: its own choice
                return "survived"
            return "never"

        pending = fire_one_that_waits(scheduler, executor, clock, stubborn, "s")
        pending.cancel()
        await until(lambda: not executor._pending)
        assert [event.return_value for event in events.events] == ["survived"]
        (run,) = scheduler.list_runs(task_id="s")
        assert run.status is RunStatus.COMPLETED and run.result == "survived"
        scheduler.shutdown()

    asyncio.run(main())


def test_a_first_step_that_returns_another_awaitable_waits_for_it(clock: FakeClock) -> None:
    async def main() -> None:
        future = asyncio.get_running_loop().create_future()
        task = Task(lambda: future, IntervalTrigger(seconds=1), id="f")
        context = RunContext("default", "tests", clock.now)
        events, rest, awaited, fire_context = start_coroutine_task(task, [clock.now()], context)
        assert rest is not None and awaited is future and events == []
        running = asyncio.get_running_loop().create_task(
            _Resumed(rest, awaited), context=fire_context
        )
        future.set_result(5)
        (event,) = await running
        assert event.code == TASK_EXECUTED and event.return_value == 5

    asyncio.run(main())
