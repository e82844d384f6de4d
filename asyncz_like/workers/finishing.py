"""The ends of a worker's runs sent to its broker in batches: whatever ended while the
previous ``finish_many`` call was under way goes in the next one, so a busy worker makes one
round trip for many runs and an idle one sends each end at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.records import Finish

#: The most ends in one call (a claim hands out at most ``concurrency`` runs anyway).
MAX_BATCH = 100

Calls = Callable[..., Awaitable[Any]]


class Finisher:
    """``await finisher(finish)``: the broker's answer for that end (True: recorded), sent
    with the other ends waiting at the time. Raises what the broker's call raised."""

    def __init__(self, broker: BaseBroker, calls: Calls) -> None:
        self.broker, self.calls = broker, calls
        self._pending: list[tuple[Finish, asyncio.Future[bool]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def __call__(self, finish: Finish) -> bool:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()
        self._pending.append((finish, answer))
        if self._sending is None:
            self._sending = loop.create_task(self._send())
        return await answer

    async def _send(self) -> None:
        try:
            await asyncio.sleep(0)  # the runs ending in this same turn of the loop join in
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                try:
                    answers = await self.calls(
                        self.broker.finish_many, [finish for finish, _ in batch]
                    )
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
