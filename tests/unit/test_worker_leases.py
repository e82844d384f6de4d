"""The ends of runs a worker has yet to record: their leases are kept while they wait (found by
tests/faults/test_worker_kills.py on SQLite, where finishes waited longer than the lease), at
most ``concurrency`` of them free their slot, and an end the broker could not take is sent
again when it is back."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime
from typing import Any

import pytest

from asyncz_like.brokers import Envelope, MemoryBroker, Renewal
from asyncz_like.runs import RunStatus
from asyncz_like.workers import Worker, recording
from tests.helpers import START, FakeClock
from tests.unit.test_worker import in_loop

HERE = "tests.unit.test_worker_leases"


def quick() -> str:
    return "ok"


class SlowFinishes(MemoryBroker):
    """Each ``finish_many`` waits for its own gate (a slow round trip); renewals and the
    tokens they carried are noted; ``renew_fails`` makes them fail (the server away)."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: list[threading.Event] = [threading.Event(), threading.Event()]
        self.finishing = 0
        self.renewed: list[tuple[datetime, dict[str, int]]] = []
        self.renew_fails = False

    def finish_many(self, finishes: Any) -> list[bool]:
        finishes = list(finishes)
        gate = self.gates[min(self.finishing, len(self.gates) - 1)]
        self.finishing += 1
        gate.wait(10)
        return super().finish_many(finishes)

    def renew(
        self, worker_id: str, tokens: Any, now: datetime, lease_seconds: float = 30.0
    ) -> Renewal:
        if self.renew_fails:
            raise ConnectionError("server away")
        self.renewed.append((now, dict(tokens)))
        return super().renew(worker_id, tokens, now, lease_seconds)


async def until(condition: Any, within: float = 5.0) -> None:
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never came true")


@in_loop
async def test_a_run_whose_end_is_being_recorded_keeps_its_lease(clock: FakeClock) -> None:
    broker = SlowFinishes()
    broker.enqueue([Envelope("q", f"{HERE}:quick")], now=START)
    worker = Worker(broker, lease_seconds=3, polling_interval=0.05, clock=clock)
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: broker.finishing == 1)  # the attempt is over, its end on the way
        clock.advance(2)
        await until(lambda: any(now == clock.now() and "q" in t for now, t in broker.renewed))
        clock.advance(2)  # past the first lease: the renewal above carried it on
        assert broker.claim("other", ["default"], 1, clock.now()) == []
        broker.gates[0].set()
        await until(lambda: status(broker, "q") is RunStatus.COMPLETED)
    finally:
        broker.gates[0].set()
        worker.stop()
        await asyncio.wait_for(task, 10)
    run = broker.get_run("q")
    assert run is not None and run.deliveries == 1 and run.result == "ok"


@in_loop
async def test_a_run_delivered_again_to_the_same_worker_is_held_until_it_ends(
    clock: FakeClock,
) -> None:
    """The lease ran out while the first end was being recorded (renewals failed): the same
    worker claims the run again. When the first, refused, end is through, the worker still
    holds the second delivery: it renews it and counts its slot."""
    broker = SlowFinishes()
    broker.renew_fails = True
    broker.enqueue([Envelope("q", f"{HERE}:quick")], now=START)
    worker = Worker(broker, lease_seconds=3, polling_interval=0.05, clock=clock)
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: broker.finishing == 1)
        clock.advance(4)  # the lease has expired: the next claim hands the run out again
        await until(lambda: broker.get_run("q").deliveries == 2)  # type: ignore[union-attr]
        broker.gates[0].set()  # the first end: refused (a stale token)
        session = worker._session
        assert session is not None
        await until(lambda: broker.finishing == 2)  # the second end is on its way
        assert session.held["q"].token == 2
        broker.renew_fails = False
        await until(lambda: any(t == {"q": 2} for _, t in broker.renewed))
        broker.gates[1].set()
        await until(lambda: status(broker, "q") is RunStatus.COMPLETED)
        assert "q" not in session.held and not session.ending
    finally:
        for gate in broker.gates:
            gate.set()
        worker.stop()
        await asyncio.wait_for(task, 10)


def status(broker: MemoryBroker, run_id: str) -> RunStatus:
    run = broker.get_run(run_id)
    assert run is not None
    return run.status


@in_loop
async def test_ends_waiting_to_be_recorded_stop_the_claims_at_concurrency(
    clock: FakeClock,
) -> None:
    """Runs that end faster than the broker records them: the worker claims on while at most
    ``concurrency`` ends wait, then waits for them (the held runs, all lost with the worker if
    it dies, stay bounded)."""
    broker = SlowFinishes()
    broker.enqueue([Envelope(f"q{i}", f"{HERE}:quick") for i in range(12)], now=START)
    worker = Worker(broker, concurrency=2, polling_interval=0.05, clock=clock)
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: broker.finishing == 1)
        await asyncio.sleep(0.3)  # time to claim more, were it allowed to
        running = broker.list_runs(status=RunStatus.RUNNING, limit=20)
        assert len(running) == 4  # two ends waiting, two more runs ended or running
        for gate in broker.gates:
            gate.set()
        await until(lambda: len(broker.list_runs(status=RunStatus.COMPLETED, limit=20)) == 12)
    finally:
        for gate in broker.gates:
            gate.set()
        worker.stop()
        await asyncio.wait_for(task, 10)


class AwayForFinishes(MemoryBroker):
    """Its first ``failures`` finishes fail, as when its server is away."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def finish_many(self, finishes: Any) -> list[bool]:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("server away")
        return super().finish_many(finishes)


@in_loop
async def test_an_end_the_broker_could_not_take_is_sent_again_when_it_is_back(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by tests/faults/test_broker_outage.py: the ends of the runs that finished during
    an outage were dropped, and the runs ran again once their lease ran out."""
    monkeypatch.setattr(recording, "RECORD_RETRY_FIRST", 0.01)
    caplog.set_level(logging.INFO, "asyncz_like.workers")
    broker = AwayForFinishes(failures=3)
    broker.enqueue([Envelope("q", f"{HERE}:quick")], now=START)
    worker = Worker(broker, lease_seconds=3, polling_interval=0.05, clock=clock)
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: status(broker, "q") is RunStatus.COMPLETED)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
    run = broker.get_run("q")
    assert run is not None and run.deliveries == 1 and broker.failures == 0
    assert "trying again for up to 120.0 s" in caplog.text
    assert "Recorded the end of run q after 3 failed tries" in caplog.text


@in_loop
async def test_an_end_not_taken_for_record_retry_seconds_is_given_up(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "RECORD_RETRY_FIRST", 0.01)
    monkeypatch.setattr(recording, "RECORD_RETRY_SECONDS", 0.1)
    broker = AwayForFinishes(failures=1000)
    broker.enqueue([Envelope("q", f"{HERE}:quick")], now=START)
    worker = Worker(broker, lease_seconds=3, polling_interval=0.05, clock=clock)
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: "will be delivered again after its lease" in caplog.text)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
    assert status(broker, "q") is RunStatus.RUNNING  # its lease runs out; then another worker
