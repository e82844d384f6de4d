"""AsyncIOScheduler's timer: adds due at the same instant arm it once, not once each."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from asyncz_like.schedulers import AsyncIOScheduler
from tests.helpers import START, FakeClock


class TickingClock(FakeClock):
    """A wall clock that moves on by a microsecond each time it is read, as a real one does."""

    def now(self) -> datetime:
        self.current += timedelta(microseconds=1)
        return self.current


async def job() -> None:
    """Never runs here."""


def test_adds_due_at_one_instant_arm_the_timer_once() -> None:
    async def scenario() -> list[float]:
        scheduler = AsyncIOScheduler(clock=TickingClock(), timezone="UTC")
        scheduler.start()
        for _ in range(100):  # a few turns of the loop: the start's own pass, due at once
            if scheduler._armed_for is None:
                break
            await asyncio.sleep(0)
        assert scheduler._armed_for is None
        armed: list[float] = []
        schedule = scheduler._schedule_pass

        def recording(delay: float, *args: Any) -> None:
            armed.append(delay)
            schedule(delay, *args)

        scheduler._schedule_pass = recording  # type: ignore[method-assign]
        due = START + timedelta(seconds=5)
        for _ in range(50):
            scheduler.add_task(job, "date", run_at=due)
        scheduler.add_task(job, "date", run_at=due + timedelta(seconds=1))  # later: no timer
        scheduler.add_task(job, "date", run_at=due - timedelta(seconds=1))  # earlier: re-armed
        scheduler.shutdown(wait=False)
        return armed

    armed = asyncio.run(scenario())
    assert len(armed) == 2
    assert 3.9 < armed[1] < armed[0] < 5.0
