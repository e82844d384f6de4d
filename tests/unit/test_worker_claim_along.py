"""A worker whose broker records ends and claims in one round trip (``finish_and_claim``)
claims the slots its ending runs free along with their ends; others call the two apart."""

from __future__ import annotations

import asyncio
from typing import Any

from asyncz_like.brokers import Delivery, MemoryBroker
from asyncz_like.events import RUN_COMPLETED
from asyncz_like.runs import RunStatus
from tests.helpers import FakeClock
from tests.unit.test_worker import Events, envelope, in_loop, make_worker, put, working

CONCURRENCY = 4


class Noting(MemoryBroker):
    """Records each call and the most runs held at once."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int, int]] = []  # call, ends, runs claimed
        self.most_held = 0

    def _note(self, call: str, ends: int, claimed: int) -> None:
        self.calls.append((call, ends, claimed))
        held = len(self.list_runs(status=RunStatus.RUNNING, limit=1000))
        self.most_held = max(self.most_held, held)

    def claim(self, *args: Any, **kwargs: Any) -> list[Delivery]:
        deliveries = super().claim(*args, **kwargs)
        self._note("claim", 0, len(deliveries))
        return deliveries

    def finish_many(self, finishes: Any) -> list[bool]:
        answers = super().finish_many(finishes)
        self._note("finish_many", len(answers), 0)
        return answers


class Along(Noting):
    """Does both in one call (as if in one round trip)."""

    def finish_and_claim(
        self, finishes: Any, *args: Any, **kwargs: Any
    ) -> tuple[list[bool], list[Delivery]]:
        answers = MemoryBroker.finish_many(self, finishes)
        deliveries = MemoryBroker.claim(self, *args, **kwargs)
        self._note("finish_and_claim", len(answers), len(deliveries))
        return answers, deliveries


async def drained(broker: MemoryBroker, clock: FakeClock, count: int) -> None:
    put(broker, [envelope(f"r{i}", "add", i, 1) for i in range(count)])
    worker = make_worker(broker, clock, concurrency=CONCURRENCY)
    events = Events(worker)

    async def body() -> None:
        for i in range(count):
            await events.until(RUN_COMPLETED, f"r{i}")

    await asyncio.wait_for(working(worker, body), 20)
    for i in range(count):
        run = broker.get_run(f"r{i}")
        assert run is not None and run.status is RunStatus.COMPLETED and run.result == i + 1
        assert run.deliveries == 1


@in_loop
async def test_the_free_slots_are_claimed_along_with_the_ends(clock: FakeClock) -> None:
    broker = Along()
    await drained(broker, clock, 40)
    along = [call for call in broker.calls if call[0] == "finish_and_claim"]
    assert sum(claimed for _, _, claimed in along) >= 20  # most runs came along with ends
    assert sum(ends for _, ends, _ in broker.calls) == 40
    assert broker.most_held <= CONCURRENCY


@in_loop
async def test_a_broker_without_one_round_trip_for_both_calls_them_apart(
    clock: FakeClock,
) -> None:
    broker = Noting()
    taken: list[Any] = []

    def spy(*args: Any) -> tuple[list[bool], list[Delivery]]:
        taken.append(args)
        return MemoryBroker.finish_and_claim(broker, *args)

    broker.finish_and_claim = spy  # type: ignore[method-assign]
    await drained(broker, clock, 12)
    assert taken == []
    assert {call for call, _, _ in broker.calls} == {"claim", "finish_many"}
    assert broker.most_held <= CONCURRENCY
