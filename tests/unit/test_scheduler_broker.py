"""A scheduler with a broker: submitted runs go through it, its worker (or another) runs them,
and any scheduler attached to the same broker reads, waits for and cancels them."""

from __future__ import annotations

import asyncio
import functools
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.brokers import BaseBroker, Envelope, MemoryBroker, WorkerInfo
from asyncz_like.events.constants import ALL_RUN_EVENTS, RUN_COMPLETED, RUN_STARTED
from asyncz_like.runs import RunStatus, WorkerCounts
from asyncz_like.schedulers.base import BaseScheduler
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler

HERE = "tests.unit.test_scheduler_broker"


def add(a: int, b: int) -> int:
    return a + b


async def shout(word: str, suffix: str = "!") -> str:
    return word.upper() + suffix


class CountingBroker(MemoryBroker):
    """Counts the round trips of enqueue."""

    def __init__(self) -> None:
        super().__init__()
        self.enqueues = 0

    def enqueue(self, envelopes: Any, now: Any = None) -> list[bool]:
        self.enqueues += 1
        return super().enqueue(envelopes, now)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def started(clock: FakeClock, **options: Any) -> ManualScheduler:
    scheduler = manual_scheduler(clock, **options)
    scheduler.start()
    return scheduler


def test_a_submitted_run_is_run_by_the_schedulers_worker(clock: FakeClock) -> None:
    broker = MemoryBroker()
    scheduler = started(clock, broker=broker)
    try:
        run = scheduler.submit(add, 2, 3, queue="default", priority=5)
        assert run.status is RunStatus.PENDING and run.queue == "default" and run.priority == 5
        done = scheduler.wait_for_sync(run.id, timeout=10)
        assert done.status is RunStatus.COMPLETED and done.result == 5
        stored = scheduler.get_run(run.id)
        assert stored is not None and stored.status is RunStatus.COMPLETED
        assert [r.id for r in scheduler.list_runs(status="completed")] == [run.id]
    finally:
        scheduler.shutdown()


def test_the_schedulers_listeners_hear_its_workers_runs(clock: FakeClock) -> None:
    heard: list[tuple[int, str]] = []
    scheduler = started(clock, broker=MemoryBroker())
    scheduler.add_listener(lambda event: heard.append((event.code, event.run_id)), ALL_RUN_EVENTS)
    try:
        run = scheduler.submit(add, 2, 3)
        scheduler.wait_for_sync(run.id, timeout=10)
        deadline = time.monotonic() + 10
        while (RUN_COMPLETED, run.id) not in heard and time.monotonic() < deadline:
            time.sleep(0.01)  # the worker's thread dispatches RUN_COMPLETED after recording it
        assert (RUN_STARTED, run.id) in heard and (RUN_COMPLETED, run.id) in heard
    finally:
        scheduler.shutdown()


def test_wait_for_from_a_coroutine(clock: FakeClock) -> None:
    scheduler = started(clock, broker=MemoryBroker(), worker_concurrency=2)

    async def go() -> Any:
        run = scheduler.submit(shout, "hi", suffix="?")
        return (await scheduler.wait_for(run.id, timeout=10)).result

    try:
        assert asyncio.run(go()) == "HI?"
    finally:
        scheduler.shutdown()


def test_worker_false_enqueues_and_runs_nothing(clock: FakeClock) -> None:
    broker = MemoryBroker()
    scheduler = started(clock, broker=broker, worker=False)
    run = scheduler.submit(add, 1, 1, queue="reports", delay=0)
    assert scheduler._run_side.brokers.worker is None
    stats = scheduler.stats()
    assert stats.queues["reports"].pending == {0: 1} and stats.running == 0
    with pytest.raises(TimeoutError):
        scheduler.wait_for_sync(run.id, timeout=0.05)
    scheduler.shutdown()
    # the run waits in the broker for a worker of its queue
    (delivery,) = broker.claim("w", ["reports"], 1, clock.now())
    assert delivery.run_id == run.id and delivery.attempt == 1


def test_submitting_a_lambda_or_a_closure_fails_naming_fn(clock: FakeClock) -> None:
    scheduler = started(clock, broker=MemoryBroker(), worker=False)

    def closure() -> None:
        pass

    for fn in (lambda: None, closure, functools.partial(add, 1)):
        with pytest.raises(ValueError, match=r"fn=.*importable by reference"):
            scheduler.submit(fn)
    assert scheduler.list_runs() == []
    scheduler.shutdown()


def test_in_process_options_and_queue_without_broker_are_refused(clock: FakeClock) -> None:
    scheduler = started(clock, broker=MemoryBroker(), worker=False)
    with pytest.raises(TypeError, match="retry_on"):
        scheduler.submit(add, 1, 2, retry_on=ValueError)
    scheduler.shutdown()
    plain = started(clock)
    with pytest.raises(ValueError, match="queue='x' needs a broker"):
        plain.submit(add, 1, 2, queue="x")
    plain.shutdown()
    with pytest.raises(TypeError, match="need the broker option"):
        manual_scheduler(clock, worker=False)


def test_submit_many_enqueues_in_one_round_trip(clock: FakeClock) -> None:
    broker = CountingBroker()
    scheduler = started(clock, broker=broker, worker=False)
    runs = scheduler.submit_many(
        [
            add,  # no arguments: fails when run, but enqueues
            (add, (1, 2)),
            (f"{HERE}:add", [3], {"b": 4}),
            {"fn": shout, "args": ("a",), "queue": "loud", "priority": 9},
        ],
        queue="batch",
    )
    assert broker.enqueues == 1
    assert [run.queue for run in runs] == ["batch", "batch", "batch", "loud"]
    assert runs[3].priority == 9 and runs[2].name == "add"
    with pytest.raises(TypeError, match=r"items\[1\]: unknown option"):
        scheduler.submit_many([(add, (1, 2)), {"fn": add, "bogus": 1}])
    assert broker.enqueues == 1  # nothing enqueued from a bad batch
    scheduler.shutdown()


def test_submit_many_without_a_broker_submits_each(clock: FakeClock) -> None:
    scheduler = started(clock)
    runs = scheduler.submit_many([(add, (1, 2)), {"fn": add, "args": (3, 4), "name": "x"}])
    assert [run.name for run in runs] == ["add", "x"]
    scheduler.shutdown()


def test_background_functions_submit_through_the_broker(clock: FakeClock) -> None:
    broker = MemoryBroker()
    scheduler = started(clock, broker=broker, worker=False)
    decorated = scheduler.background(queue="mail", priority=3, max_retries=2, delay=60)(add)
    run = decorated.delay(1, b=2)
    assert run.queue == "mail" and run.priority == 3
    assert run.scheduled_at == clock.now() + timedelta(seconds=60)
    assert broker.claim("w", ["mail"], 1, clock.now()) == []  # due in a minute
    clock.advance(60)
    (delivery,) = broker.claim("w", ["mail"], 1, clock.now())
    assert delivery.envelope.max_retries == 2 and delivery.envelope.kwargs == {"b": 2}
    scheduler.shutdown()


def _sqlite(tmp_path: Path) -> dict[str, Any]:
    return {"type": "sqlalchemy", "database": f"sqlite:///{tmp_path / 'runs.db'}"}


def test_a_second_scheduler_cancels_and_waits_for_runs(clock: FakeClock, tmp_path: Path) -> None:
    web = started(clock, broker=_sqlite(tmp_path), worker=False)
    other = started(clock, broker=_sqlite(tmp_path), worker=False)
    try:
        first = web.submit(add, 1, 2)
        second = web.submit(add, 3, 4, queue="slow")
        assert bool(other.cancel_run(first.id)) is True
        cancelled = web.get_run(first.id)
        assert cancelled is not None and cancelled.status is RunStatus.CANCELLED
        assert other.wait_for_sync(first.id, timeout=1).status is RunStatus.CANCELLED
        assert not other.cancel_run("nope")
        # a worker attached elsewhere runs the other; the second scheduler sees it end
        broker: BaseBroker = other._run_side.brokers.broker  # type: ignore[assignment]
        (delivery,) = broker.claim("w", ["slow"], 1, clock.now())
        assert broker.complete(delivery.run_id, delivery.token, 7, clock.now())
        done = other.wait_for_sync(second.id, timeout=1)
        assert done.status is RunStatus.COMPLETED and done.result == 7
        assert [run.id for run in web.list_runs(queue="slow")] == [second.id]
    finally:
        web.shutdown()
        other.shutdown()


def test_envelopes_are_what_submit_was_given(clock: FakeClock) -> None:
    broker = MemoryBroker()
    scheduler: BaseScheduler = started(clock, broker=broker, worker=False)
    run = scheduler.submit(add, 1, b=2, name="sum", timeout=5, max_retries=1, retry_backoff=2)
    (delivery,) = broker.claim("w", ["default"], 1, clock.now())
    envelope = delivery.envelope
    assert isinstance(envelope, Envelope) and envelope.run_id == run.id
    assert (envelope.target, envelope.args, envelope.kwargs) == (f"{HERE}:add", (1,), {"b": 2})
    assert (envelope.name, envelope.timeout, envelope.max_retries) == ("sum", 5.0, 1)
    scheduler.shutdown()


def test_max_deliveries_and_headers_travel_in_the_envelope(clock: FakeClock) -> None:
    broker = MemoryBroker()
    scheduler: BaseScheduler = started(clock, broker=broker, worker=False)
    scheduler.submit(add, 1, 2, max_deliveries=5, headers={"idempotency-key": "order-7"})
    scheduler.submit_many([(add, (3, 4))], headers={"k": "v"})
    background = scheduler.background(max_deliveries=1)(add)
    background.submit(5, 6)
    scheduler.submit(add, 7, 8)
    deliveries = broker.claim("w", ["default"], 4, clock.now())
    seen = {d.envelope.args: (d.envelope.max_deliveries, d.envelope.headers) for d in deliveries}
    assert seen == {
        (1, 2): (5, {"idempotency-key": "order-7"}),
        (3, 4): (3, {"k": "v"}),
        (5, 6): (1, {}),
        (7, 8): (3, {}),
    }
    with pytest.raises(TypeError, match="max_deliveries"):
        scheduler.submit(add, 1, 2, max_deliveries=0.5)
    with pytest.raises(ValueError, match="max_deliveries"):
        scheduler.submit(add, 1, 2, max_deliveries=0)
    with pytest.raises(TypeError, match="headers"):
        scheduler.submit(add, 1, 2, headers={"k": 1})
    assert len(broker.list_runs(None, None, 10)) == 4  # the refused ones were not enqueued
    scheduler.shutdown()


def test_max_deliveries_and_headers_need_a_broker(clock: FakeClock) -> None:
    scheduler = started(clock)
    with pytest.raises(ValueError, match="max_deliveries=2 needs a broker"):
        scheduler.submit(add, 1, 2, max_deliveries=2)
    with pytest.raises(ValueError, match=r"headers=.* needs a broker"):
        scheduler.submit(add, 1, 2, headers={"k": "v"})
    assert scheduler.list_runs() == []
    scheduler.shutdown()


def test_a_scheduler_not_started_submits_and_reads(clock: FakeClock, tmp_path: Path) -> None:
    scheduler = manual_scheduler(clock, broker=_sqlite(tmp_path), queues="default, urgent")
    assert scheduler._run_side.brokers.queues == ("default", "urgent")
    run = scheduler.submit(add, 1, 2, queue="urgent")
    stored = scheduler.get_run(run.id)
    assert stored is not None and stored.status is RunStatus.PENDING
    scheduler.start()  # then its worker runs it
    try:
        assert scheduler.wait_for_sync(run.id, timeout=10).result == 3
    finally:
        scheduler.shutdown()


def test_a_native_asyncio_scheduler_runs_its_worker_beside_its_loop() -> None:
    from asyncz_like.schedulers import NativeAsyncIOScheduler

    async def go() -> tuple[Any, bool]:
        scheduler = NativeAsyncIOScheduler(broker=MemoryBroker(), timezone="UTC")
        await scheduler.start()
        run = scheduler.submit(shout, "x")
        done = await scheduler.wait_for(run.id, timeout=10)
        worker = scheduler._run_side.brokers.worker
        await scheduler.shutdown()
        return done.result, worker is not None and not worker.running

    assert asyncio.run(go()) == ("X!", True)


def test_list_workers_shows_the_workers_of_every_process_on_the_broker(
    clock: FakeClock, tmp_path: Path
) -> None:
    """The scheduler's own worker and one registered by another process, in list_workers
    and in stats(); none and no summary without a broker."""
    web = started(clock, broker=_sqlite(tmp_path), worker=False)
    busy = started(clock, broker=_sqlite(tmp_path))
    try:
        deadline = time.monotonic() + 5
        while not web.list_workers() and time.monotonic() < deadline:
            time.sleep(0.01)
        worker = busy.worker
        assert worker is not None
        (info,) = web.list_workers()
        assert (info.worker_id, info.alive, info.busy) == (worker.worker_id, True, 0)
        other = WorkerInfo("elsewhere", "host-b", 7, ("slow",), 4, clock.now(), clock.now(),
                           busy=3)  # fmt: skip
        broker: BaseBroker = web._run_side.brokers.broker  # type: ignore[assignment]
        broker.register_worker(other, clock.now() - timedelta(seconds=60))  # gone since
        assert {info.worker_id: info.alive for info in web.list_workers()} == {
            worker.worker_id: True, "elsewhere": False}  # fmt: skip
        counts = web.stats().broker_workers
        assert counts == WorkerCounts(alive=1, gone=1, busy=0, slots=worker.settings.concurrency)
    finally:
        busy.shutdown()
        web.shutdown()
    alone = started(clock)
    try:
        assert alone.list_workers() == [] and alone.stats().broker_workers is None
    finally:
        alone.shutdown()
