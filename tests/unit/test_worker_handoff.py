"""The worker's ThreadHandoff: functions in threads, their outcomes back on the loop in
batches."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any
from unittest import mock

import pytest

from asyncz_like.workers.handoff import ThreadHandoff


def test_outcomes_come_back_and_functions_ended_together_wake_the_loop_once() -> None:
    asyncio.run(_together())


async def _together() -> None:
    handoff = ThreadHandoff(asyncio.get_running_loop(), 4)
    with mock.patch.object(handoff.loop, "call_soon_threadsafe",
                           wraps=handoff.loop.call_soon_threadsafe) as wake:  # fmt: skip
        submitted = [handoff.submit(lambda value=value: value) for value in range(4)]
        # the loop is held up until all four have returned: one wake-up hands them back
        concurrent.futures.wait([thread for _, thread in submitted], timeout=5)
        assert await asyncio.gather(*(answer for answer, _ in submitted)) == [0, 1, 2, 3]
    assert wake.call_count == 1
    handoff.shutdown()


def test_an_exception_is_the_outcome_and_a_stop_iteration_becomes_a_runtime_error() -> None:
    asyncio.run(_raising())


async def _raising() -> None:
    handoff = ThreadHandoff(asyncio.get_running_loop(), 2)

    def boom() -> Any:
        raise KeyError("k")

    def stop() -> Any:
        raise StopIteration

    with pytest.raises(KeyError):
        await handoff.submit(boom)[0]
    with pytest.raises(RuntimeError, match="StopIteration") as caught:
        await handoff.submit(stop)[0]
    assert isinstance(caught.value.__cause__, StopIteration)
    handoff.shutdown()


def test_a_function_whose_thread_future_is_cancelled_before_it_starts_never_runs() -> None:
    asyncio.run(_cancelled())


async def _cancelled() -> None:
    handoff = ThreadHandoff(asyncio.get_running_loop(), 1)
    gate, ran = threading.Event(), []
    busy, _ = handoff.submit(lambda: gate.wait(5))
    answer, thread = handoff.submit(lambda: ran.append(1))
    answer.cancel()
    assert thread.cancel()
    gate.set()
    assert await busy is True
    assert ran == []
    handoff.shutdown()
