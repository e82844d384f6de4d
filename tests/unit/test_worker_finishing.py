"""The worker's Finisher: run ends sent to the broker in batches, each answered on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from asyncz_like.brokers import Envelope, Finish, MemoryBroker
from asyncz_like.workers.finishing import Finisher
from tests.helpers import START


class Counting(MemoryBroker):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def finish_many(self, finishes: Any) -> list[bool]:
        finishes = list(finishes)
        self.batches.append([finish.run_id for finish in finishes])
        return super().finish_many(finishes)


def held(broker: MemoryBroker, count: int) -> list[Finish]:
    broker.enqueue([Envelope(f"r{i}", "tests.helpers:noop") for i in range(count)], now=START)
    deliveries = broker.claim("w", ["default"], count, START)
    return [Finish.completed(d.run_id, d.token, d.run_id, START) for d in deliveries]


async def direct(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


class Gated:
    """Calls that wait for ``gate``: a round trip under way for as long as the test wants."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = 0

    async def __call__(self, fn: Callable[..., Any], *args: Any) -> Any:
        self.started += 1
        await self.gate.wait()
        return fn(*args)


async def turns_until(condition: Callable[[], bool]) -> None:
    for _ in range(100):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never came true")


def test_the_ends_of_one_turn_go_in_one_call_and_later_ones_in_the_next() -> None:
    asyncio.run(_ends_in_batches())


async def _ends_in_batches() -> None:
    broker, calls = Counting(), Gated()
    finisher = Finisher(broker, calls)
    ends = held(broker, 3)
    together = asyncio.gather(*(finisher(end) for end in ends[:2]))
    await turns_until(lambda: calls.started == 1)
    late = asyncio.ensure_future(finisher(ends[2]))
    await asyncio.sleep(0)
    calls.gate.set()
    assert await together == [True, True]
    assert await late is True
    assert broker.batches == [["r0", "r1"], ["r2"]]
    assert await finisher(ends[0]) is False  # finished already: refused
    assert broker.batches[-1] == ["r0"]


def test_a_failed_call_raises_in_each_waiting_end() -> None:
    asyncio.run(_failed_call())


async def _failed_call() -> None:
    broker = Counting()
    finisher = Finisher(broker, direct)
    ends = held(broker, 2)

    def broken(finishes: Any) -> list[bool]:
        raise ConnectionError("away")

    broker.finish_many = broken  # type: ignore[method-assign]
    results = await asyncio.gather(*(finisher(end) for end in ends), return_exceptions=True)
    assert [type(result) for result in results] == [ConnectionError, ConnectionError]
    del broker.finish_many
    assert await finisher(ends[0]) is True  # the next call goes through
