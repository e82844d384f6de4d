"""What cancel_run returns: a bool-like result, awaitable until the work has stopped."""

from __future__ import annotations

import asyncio
import threading

import pytest

from asyncz_like.executors import ThreadPoolExecutor
from asyncz_like.runs import RunStatus
from asyncz_like.workers.cancelling import CancelResult
from tests.helpers import FakeClock, manual_scheduler
from tests.unit.runs.aio import until
from tests.unit.runs.helpers import cancellable_sleeper, double


def test_it_is_true_or_false_like_the_bool(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    run = scheduler.submit(double, 1, delay=10)
    cancelled = scheduler.cancel_run(run.id)
    assert cancelled and cancelled == True and cancelled != False  # noqa: E712
    assert repr(cancelled) == f"<CancelResult run_id={run.id!r} cancelled=True>"
    again = scheduler.cancel_run(run.id)
    assert not again and again == False and again == CancelResult("other")  # noqa: E712
    assert {cancelled, True} == {True} and run.status is RunStatus.CANCELLED
    assert again.wait() is False and cancelled.wait() is True


def test_awaiting_it_waits_until_the_coroutine_has_stopped(clock: FakeClock) -> None:
    async def main() -> None:
        scheduler = manual_scheduler(clock)
        work, started, cancelled = cancellable_sleeper()
        scheduler.start()
        run = scheduler.submit(work)
        scheduler.process_tasks()
        await until(started.is_set)
        result = scheduler.cancel_run(run.id)
        assert run.status is RunStatus.CANCELLED and not cancelled.is_set()
        assert await result is True
        assert cancelled.is_set()  # the coroutine has handled its cancellation
        assert await scheduler.cancel_run(run.id) is False
        scheduler.shutdown()

    asyncio.run(main())


def test_awaiting_it_waits_until_the_thread_has_returned(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, executors={"default": ThreadPoolExecutor(max_workers=1)})
    started, release, returned = threading.Event(), threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        release.wait(10)
        returned.set()

    scheduler.start()
    run = scheduler.submit(work)
    scheduler.process_tasks()
    assert started.wait(10)
    result = scheduler.cancel_run(run.id)
    with pytest.raises(TimeoutError, match=run.id):
        result.wait(timeout=0.01)  # still running: the thread cannot be stopped from outside

    async def main() -> bool:
        release.set()
        return await result

    assert asyncio.run(main()) is True and returned.is_set()
    assert scheduler._runs._stop_waiters == {}  # nobody left behind
    scheduler.shutdown()
