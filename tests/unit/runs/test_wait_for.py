"""wait_for() and wait_for_sync(): wait until a run is finished."""

from __future__ import annotations

import asyncio
import threading

import pytest

from asyncz_like.exceptions import RunLookupError
from asyncz_like.executors import ThreadPoolExecutor
from asyncz_like.runs import RunStatus
from tests.helpers import FakeClock, manual_scheduler
from tests.unit.runs.helpers import double


def test_wait_for_returns_the_finished_run(clock: FakeClock) -> None:
    async def main() -> None:
        scheduler = manual_scheduler(clock)
        scheduler.start()
        release = asyncio.Event()

        async def work() -> int:
            await release.wait()
            return 7

        run = scheduler.submit(work)
        scheduler.process_tasks()
        waiter = asyncio.ensure_future(scheduler.wait_for(run.id, timeout=10))
        await asyncio.sleep(0)
        assert not waiter.done()
        release.set()
        assert await waiter is run and run.result == 7
        assert await scheduler.wait_for(run.id) is run  # already finished: at once
        scheduler.shutdown()

    asyncio.run(main())


def test_wait_for_an_unknown_id_names_it(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    with pytest.raises(RunLookupError, match="'nope'") as info:
        asyncio.run(scheduler.wait_for("nope"))
    assert isinstance(info.value, LookupError) and info.value.run_id == "nope"
    with pytest.raises(RunLookupError, match="'nope'"):
        scheduler.wait_for_sync("nope")
    assert scheduler.get_run("nope") is None


def test_wait_for_times_out_and_the_run_goes_on(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()  # a stopped one fails at once (test_shutdown_waits.py)
    run = scheduler.submit(double, 2, delay=60)
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.01 s"):
        asyncio.run(scheduler.wait_for(run.id, timeout=0.01))
    with pytest.raises(TimeoutError):
        scheduler.wait_for_sync(run.id, timeout=0.01)
    assert run.status is RunStatus.PENDING
    assert scheduler._runs.ledger._waiters == {}  # nobody left behind


def test_wait_for_sync_from_another_thread(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, executors={"default": ThreadPoolExecutor(max_workers=1)})
    scheduler.start()
    release = threading.Event()
    run = scheduler.submit(release.wait, 10)
    scheduler.process_tasks()
    result: list[object] = []
    waiter = threading.Thread(target=lambda: result.append(scheduler.wait_for_sync(run.id, 10)))
    waiter.start()
    release.set()
    waiter.join(10)
    assert result == [run] and run.result is True
    scheduler.shutdown()


def test_wait_for_sync_refuses_to_block_an_event_loop(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    run = scheduler.submit(double, 1)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="await wait_for"):
            scheduler.wait_for_sync(run.id)

    asyncio.run(main())


def test_a_run_dropped_from_the_history_is_unknown(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, max_run_history=0)
    scheduler.start()
    run = scheduler.submit(double, 1)
    scheduler.process_tasks()
    assert run.status is RunStatus.COMPLETED
    with pytest.raises(RunLookupError):
        scheduler.wait_for_sync(run.id)
