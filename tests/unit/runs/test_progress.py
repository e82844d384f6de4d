"""current_run() and update_progress() from inside coroutines and threads."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from asyncz_like.events import RUN_PROGRESS
from asyncz_like.executors import ThreadPoolExecutor
from asyncz_like.runs import Run, RunStatus, current_run, update_progress
from tests.helpers import FakeClock, Recorder, manual_scheduler
from tests.unit.runs.aio import until

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_progress_from_a_coroutine(clock: FakeClock) -> None:
    async def main() -> None:
        scheduler = manual_scheduler(clock)
        events = Recorder()
        scheduler.add_listener(events.listener, RUN_PROGRESS)
        scheduler.start()
        seen: list[Run | None] = []
        step = asyncio.Event()

        async def work() -> str:
            seen.append(current_run())
            assert update_progress(25, "a quarter")
            await step.wait()
            assert update_progress(75)
            return "done"

        run = scheduler.submit(work)
        scheduler.process_tasks()
        await until(lambda: run.progress == 25.0)
        assert run.message == "a quarter" and seen == [run]
        step.set()
        await until(lambda: run.status is RunStatus.COMPLETED)
        assert run.progress == 100.0 and run.message == "a quarter"
        assert [event.run.progress for event in events.events] == [100.0, 100.0]  # live run
        assert len(events.events) == 2
        scheduler.shutdown()

    asyncio.run(main())


def test_progress_from_a_thread_sees_the_submitters_context(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, executors={"default": ThreadPoolExecutor(max_workers=2)})
    scheduler.start()
    halfway, release = threading.Event(), threading.Event()

    def work() -> tuple[str, str]:
        update_progress(50, "halfway")
        halfway.set()
        release.wait(10)
        run = current_run()
        assert run is not None
        return run.id, request_id.get()

    token = request_id.set("req-7")
    try:
        run = scheduler.submit(work)
    finally:
        request_id.reset(token)
    scheduler.process_tasks()
    assert halfway.wait(10)
    assert (run.status, run.progress, run.message) == (RunStatus.RUNNING, 50.0, "halfway")
    release.set()
    assert scheduler.wait_for_sync(run.id, timeout=10).result == (run.id, "req-7")
    assert current_run() is None  # nothing leaks into the caller
    scheduler.shutdown()


def test_outside_a_run_progress_is_a_no_op() -> None:
    assert current_run() is None
    assert update_progress(10) is False


@pytest.mark.parametrize(
    ("percent", "message", "error"),
    [(101, None, ValueError), (-5, None, ValueError), ("50", None, TypeError), (5, 7, TypeError)],
)
def test_bad_progress(percent: object, message: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        update_progress(percent, message)  # type: ignore[arg-type]


def test_progress_after_a_timeout_is_ignored(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()

    def slow() -> None:
        update_progress(10)
        clock.advance(10)
        scheduler.process_tasks()  # times the run out
        update_progress(90, "too late")

    run = scheduler.submit(slow, timeout=5)
    scheduler.process_tasks()
    assert run.status is RunStatus.TIMEOUT and run.progress == 10.0 and run.message is None
