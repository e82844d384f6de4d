"""AsyncIOExecutor(max_concurrent=...): a limit on coroutines, fires and runs alike."""

from __future__ import annotations

import asyncio

import pytest

from asyncz_like.executors import AsyncIOExecutor
from asyncz_like.runs import RunStatus
from tests.helpers import FakeClock, manual_scheduler
from tests.unit.runs.aio import until


def test_max_concurrent_limits_coroutines(clock: FakeClock) -> None:
    async def main() -> None:
        executor = AsyncIOExecutor(max_concurrent=2)
        scheduler = manual_scheduler(clock, executors={"default": executor})
        scheduler.event_loop = asyncio.get_running_loop()  # type: ignore[attr-defined]
        release = asyncio.Event()
        running: list[str] = []
        most = 0

        async def work(name: str) -> None:
            nonlocal most
            running.append(name)
            most = max(most, len(running))
            await release.wait()
            running.remove(name)

        for name in ("a", "b", "c"):
            scheduler.add_task(work, "interval", seconds=1, args=[name], id=name)
        scheduler.start()
        clock.advance(1)
        scheduler.process_tasks()  # three fires due, two may run
        runs = [scheduler.submit(work, f"run{n}", priority=n) for n in range(3)]
        scheduler.process_tasks()
        await until(lambda: len(running) == 2)
        for _ in range(5):
            await asyncio.sleep(0)
        assert most == 2
        assert scheduler.stats().workers["default:coroutines"].capacity == 2
        release.set()
        await until(lambda: all(run.status is RunStatus.COMPLETED for run in runs))
        assert most == 2
        scheduler.shutdown()

    asyncio.run(main())


def test_runs_queue_by_priority_for_the_coroutine_lane(clock: FakeClock) -> None:
    async def main() -> None:
        executor = AsyncIOExecutor(max_concurrent=1)
        scheduler = manual_scheduler(clock, executors={"default": executor})
        scheduler.event_loop = asyncio.get_running_loop()  # type: ignore[attr-defined]
        order: list[int] = []

        async def work(n: int) -> None:
            order.append(n)

        scheduler.start()
        runs = [scheduler.submit(work, n, priority=p) for n, p in enumerate([0, 20, -10, 10])]
        scheduler.process_tasks()
        await until(lambda: all(run.status is RunStatus.COMPLETED for run in runs))
        assert order == [1, 3, 0, 2]
        scheduler.shutdown()

    asyncio.run(main())


@pytest.mark.parametrize("value", [0, -1, 1.5, "x"])
def test_bad_max_concurrent(value: object) -> None:
    with pytest.raises(ValueError, match="max_concurrent"):
        AsyncIOExecutor(max_concurrent=value)  # type: ignore[arg-type]
