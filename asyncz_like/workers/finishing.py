"""The ends of a worker's runs sent to its broker in batches: whatever ended while the
previous ``finish_many`` call was under way goes in the next one, so a busy worker makes one
round trip for many runs and an idle one sends each end at once. With a :class:`ClaimAlong`,
a batch also claims runs for the slots free (``finish_and_claim``): one round trip for both."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.records import Delivery, Finish

#: The most ends in one call (a claim hands out at most ``concurrency`` runs anyway).
MAX_BATCH = 100

Calls = Callable[..., Awaitable[Any]]


class ClaimAlong(Protocol):
    """The worker's side of a claim sent along with a batch of ends."""

    def begin_claim(self) -> tuple[Any, ...] | None:
        """``claim``'s arguments after the finishes (worker id, queues, limit, now, lease
        seconds), a claim being then under way; None: no claim with this batch."""

    def end_claim(self, deliveries: list[Delivery]) -> None:
        """Start the runs claimed (none when the call failed); the claim is over."""


class Finisher:
    """``await finisher(finish)``: the broker's answer for that end (True: recorded), sent
    with the other ends waiting at the time. Raises what the broker's call raised."""

    def __init__(self, broker: BaseBroker, calls: Calls) -> None:
        self.broker, self.calls = broker, calls
        self.along: ClaimAlong | None = None
        self._pending: list[tuple[Finish, asyncio.Future[bool]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def __call__(self, finish: Finish) -> bool:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()
        self._pending.append((finish, answer))
        if self._sending is None:
            self._sending = loop.create_task(self._send())
        return await answer

    @property
    def waiting(self) -> bool:
        """Whether ends wait to be sent (with a claim along, when there is one)."""
        return bool(self._pending)

    async def _call(self, finishes: list[Finish]) -> list[bool]:
        claim = self.along.begin_claim() if self.along is not None else None
        if claim is None:
            answers: list[bool] = await self.calls(self.broker.finish_many, finishes)
            return answers
        assert self.along is not None
        deliveries: list[Delivery] = []
        try:
            answers, deliveries = await self.calls(self.broker.finish_and_claim, finishes,
                                                   *claim)  # fmt: skip
        finally:
            self.along.end_claim(deliveries)
        return answers

    async def _send(self) -> None:
        try:
            await asyncio.sleep(0)  # the runs ending in this same turn of the loop join in
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                try:
                    answers = await self._call([finish for finish, _ in batch])
                except Exception as exc:
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                for (_, answer), recorded in zip(batch, answers, strict=True):
                    if not answer.done():
                        answer.set_result(bool(recorded))
        finally:
            self._sending = None
            for _, answer in self._pending:  # only when cancelled (the loop is closing)
                if not answer.done():
                    answer.cancel()
            self._pending.clear()
