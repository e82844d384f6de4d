"""A worker's record among the workers its broker knows: registered at its start, a heartbeat
with the runs it holds, unregistered at a clean stop; a registry that fails is logged and the
worker works on."""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import datetime
from typing import Any

import pytest

from asyncz_like import __version__
from asyncz_like.brokers import Envelope, MemoryBroker, WorkerInfo
from asyncz_like.workers import Worker, presence
from tests.helpers import START, FakeClock
from tests.unit.test_worker import envelope, in_loop, put, status
from tests.unit.test_worker_leases import until

HERE = "tests.unit.test_worker_presence"


GATES: dict[str, asyncio.Event] = {}


async def gated(name: str) -> str:
    await GATES[name].wait()
    return name


class FlakyRegistry(MemoryBroker):
    """A memory broker whose worker registration fails ``failures`` times, then works; its
    heartbeats are noted."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        self.beats: list[tuple[str, int, datetime]] = []

    def register_worker(self, info: WorkerInfo, now: datetime) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("registry away")
        super().register_worker(info, now)

    def heartbeat_worker(self, worker_id: str, busy: int, now: datetime) -> bool:
        self.beats.append((worker_id, busy, now))
        return super().heartbeat_worker(worker_id, busy, now)


@pytest.fixture
def often(monkeypatch: pytest.MonkeyPatch) -> None:
    """A heartbeat of the record at each lease heartbeat (every 0.1 s with a 0.3 s lease)."""
    monkeypatch.setattr(presence, "PRESENCE_SECONDS", 0.01)


def listed(broker: MemoryBroker, clock: FakeClock) -> list[WorkerInfo]:
    return broker.list_workers(clock.now())


@in_loop
async def test_a_running_worker_is_listed_until_its_clean_stop(clock: FakeClock) -> None:
    broker = MemoryBroker()
    worker = Worker(broker, queues="urgent,default", concurrency=3, worker_id="w-1",
                    clock=clock, polling_interval=0.05)  # fmt: skip
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: listed(broker, clock))
        (info,) = listed(broker, clock)
        assert (info.worker_id, info.queues, info.concurrency, info.busy) == (
            "w-1", ("urgent", "default"), 3, 0)  # fmt: skip
        assert (info.hostname, info.pid, info.version) == (socket.gethostname(), os.getpid(),
                                                           __version__)  # fmt: skip
        assert info.started_at == info.last_heartbeat == START and info.alive
        assert info.heartbeat_seconds == presence.PRESENCE_SECONDS
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
    assert listed(broker, clock) == []


@in_loop
async def test_the_heartbeat_carries_the_runs_held(clock: FakeClock, often: None) -> None:
    broker = FlakyRegistry()
    GATES["a"], GATES["b"] = asyncio.Event(), asyncio.Event()
    put(broker, [Envelope(name, f"{HERE}:gated", args=(name,)) for name in ("a", "b")])
    worker = Worker(broker, worker_id="w", lease_seconds=0.3, clock=clock,
                    polling_interval=0.05)  # fmt: skip
    worker_id = worker.worker_id
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: any(busy == 2 for _, busy, _ in broker.beats))
        clock.advance(7)
        await until(lambda: listed(broker, clock)[0].last_heartbeat == clock.now())
        (info,) = listed(broker, clock)
        assert (info.worker_id, info.busy, info.idle, info.alive) == (worker_id, 2, 8, True)
        GATES["a"].set()
        GATES["b"].set()
        await until(lambda: status(broker, "b").finished and status(broker, "a").finished)
        await until(lambda: broker.beats[-1][1] == 0)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


@in_loop
async def test_a_failing_registry_is_logged_and_the_worker_works_on(
    clock: FakeClock, often: None, caplog: pytest.LogCaptureFixture
) -> None:
    broker = FlakyRegistry(failures=2)
    put(broker, [envelope("n", "note", "n")])
    worker = Worker(broker, lease_seconds=0.3, clock=clock, polling_interval=0.05)
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: status(broker, "n").finished)
        await until(lambda: listed(broker, clock))  # registered at a later heartbeat
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
    assert status(broker, "n").value == "completed"
    assert caplog.text.count("Registering worker") == 2 and "registry away" in caplog.text


@in_loop
async def test_a_worker_the_broker_forgot_registers_again(clock: FakeClock, often: None) -> None:
    broker = FlakyRegistry()
    worker = Worker(broker, worker_id="w", lease_seconds=0.3, clock=clock,
                    polling_interval=0.05)  # fmt: skip
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: listed(broker, clock))
        clock.advance(1000)
        broker.cleanup(clock.now())  # as if it had been gone long: forgotten
        await until(lambda: [info.last_heartbeat for info in listed(broker, clock)] == [
            clock.now()])  # fmt: skip
        assert listed(broker, clock)[0].started_at == START  # the same run of the worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


def test_the_record_heartbeat_spacing_is_whole_lease_heartbeats(clock: FakeClock) -> None:
    """Every PRESENCE_SECONDS worth of lease heartbeats (a second at most each)."""
    for lease, every, seconds in [(30.0, 5, 5.0), (0.3, 50, 5.0), (2.1, 8, 5.6), (60.0, 5, 5.0)]:
        worker = Worker(MemoryBroker(), lease_seconds=lease, clock=clock)
        made = presence.Presence(worker.broker, Any, worker.settings, "w", clock)  # type: ignore[arg-type]
        assert (made.every, made.seconds) == pytest.approx((every, seconds))
