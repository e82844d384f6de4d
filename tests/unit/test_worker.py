"""The Worker on the memory broker: claims, outcomes, retries, leases, cancels, stops."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from asyncz_like.brokers import Envelope, MemoryBroker
from asyncz_like.events import (
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_PROGRESS,
    RUN_RETRYING,
    RUN_STARTED,
    RUN_TIMEOUT,
    RunEvent,
)
from asyncz_like.runs import Backoff, RunStatus, current_run, update_progress
from asyncz_like.workers import Worker
from tests.helpers import START, FakeClock

HERE = "tests.unit.test_worker"
ORDER: list[str] = []
GATE = threading.Event()
FAILS: dict[str, int] = {}


async def add(a: int, b: int) -> int:
    run = current_run()
    assert run is not None and run.status is RunStatus.RUNNING
    return a + b


def multiply(a: int, b: int) -> int:
    run = current_run()
    assert run is not None and threading.current_thread() is not threading.main_thread()
    return a * b


def note(name: str) -> str:
    ORDER.append(name)
    return name


def flaky(key: str, failures: int) -> str:
    FAILS[key] = FAILS.get(key, 0) + 1
    if FAILS[key] <= failures:
        raise ValueError(f"failure {FAILS[key]}")
    return "ok"


async def forever() -> None:
    await asyncio.sleep(3600)


def blocked() -> str:
    GATE.wait(10)
    return "released"


async def reporting() -> str:
    update_progress(40, "reading")
    update_progress(80)
    return "done"


@pytest.fixture(autouse=True)
def _reset() -> None:
    ORDER.clear()
    FAILS.clear()
    GATE.clear()


def in_loop(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """The test, run to its end on a new event loop."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def put(broker: MemoryBroker, envelopes: list[Envelope]) -> None:
    """Enqueue at START, the fake clock's time."""
    broker.enqueue(envelopes, now=START)


def envelope(run_id: str, fn: str, *args: Any, **options: Any) -> Envelope:
    return Envelope(run_id, f"{HERE}:{fn}", args=args, **options)


class Events:
    """A listener that lets a test wait for a run event on the loop."""

    def __init__(self, worker: Worker) -> None:
        self.seen: list[RunEvent] = []
        self._changed: asyncio.Event | None = None
        # Known before the event is made: an Event binds its loop only at its first wait(),
        # so an event seen between the scan and that wait would otherwise be lost.
        self._loop: asyncio.AbstractEventLoop | None = None
        worker.add_listener(self.listener)

    def listener(self, event: RunEvent) -> None:
        self.seen.append(event)
        changed, loop = self._changed, self._loop
        if changed is not None and loop is not None:
            loop.call_soon_threadsafe(changed.set)

    def codes(self, run_id: str) -> list[int]:
        return [event.code for event in self.seen if event.run_id == run_id]

    async def until(self, code: int, run_id: str, within: float = 5.0) -> RunEvent:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        deadline = time.monotonic() + within
        while True:
            for event in self.seen:
                if event.code == code and event.run_id == run_id:
                    return event
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), max(deadline - time.monotonic(), 0))


def make_worker(broker: MemoryBroker, clock: FakeClock, **options: Any) -> Worker:
    options.setdefault("polling_interval", 0.05)
    return Worker(broker, clock=clock, **options)


async def working(worker: Worker, body: Callable[[], Awaitable[None]]) -> None:
    """Run ``worker`` while ``body`` runs, then stop it and wait for its end."""
    task = asyncio.create_task(worker.run())
    try:
        await body()
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


def status(broker: MemoryBroker, run_id: str) -> RunStatus:
    run = broker.get_run(run_id)
    assert run is not None
    return run.status


@in_loop
async def test_runs_coroutines_on_the_loop_and_functions_in_threads(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("a", "add", 2, 3), envelope("m", "multiply", 2, 3)])
    worker = make_worker(broker, clock)
    events = Events(worker)

    async def body() -> None:
        for run_id in ("a", "m"):
            await events.until(RUN_COMPLETED, run_id)

    await asyncio.wait_for(working(worker, body), 10)
    assert [broker.get_run(run_id).result for run_id in ("a", "m")] == [5, 6]  # type: ignore[union-attr]
    assert events.codes("a") == [RUN_STARTED, RUN_COMPLETED]
    done = next(e for e in events.seen if e.code == RUN_COMPLETED and e.run_id == "a")
    assert done.run is not None and done.run.result == 5 and done.run.queue == "default"
    assert done.run.finished_at == START and done.run.deliveries == 1


@in_loop
async def test_claims_only_its_queues_by_priority(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker,
        [envelope("low", "note", "low", priority=-1), envelope("other", "note", "other",
         queue="elsewhere"), envelope("high", "note", "high", priority=5),
         envelope("mid", "note", "mid", queue="urgent")],
    )  # fmt: skip
    worker = make_worker(broker, clock, queues="default,urgent", concurrency=1)
    events = Events(worker)

    async def body() -> None:
        await events.until(RUN_COMPLETED, "low")

    await asyncio.wait_for(working(worker, body), 10)
    assert ORDER == ["high", "mid", "low"]
    assert status(broker, "other") is RunStatus.PENDING


@in_loop
async def test_a_failure_is_retried_after_its_backoff_through_the_broker(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    broker = MemoryBroker()
    backoff = Backoff(base=10, jitter=0)
    put(broker, [envelope("f", "flaky", "f", 1, max_retries=2, retry_backoff=backoff)])
    worker = make_worker(broker, clock)
    events = Events(worker)

    async def body() -> None:
        retrying = await events.until(RUN_RETRYING, "f")
        assert isinstance(retrying.exception, ValueError)
        run = broker.get_run("f")
        assert run is not None and run.status is RunStatus.RETRYING
        assert run.scheduled_at == START + timedelta(seconds=10)
        assert run.error is not None and run.error.message == "failure 1"
        warned = [r for r in caplog.records if "retrying at" in r.getMessage()]
        retry_at = (START + timedelta(seconds=10)).isoformat()
        assert [r.getMessage() for r in warned] == [
            f"Run f ({__name__}:flaky) attempt 1 raised ValueError: failure 1;"
            f" retrying at {retry_at}"
        ]
        assert warned[0].__dict__["queue"] == "default"
        clock.advance(10)
        await events.until(RUN_COMPLETED, "f")

    await asyncio.wait_for(working(worker, body), 10)
    run = broker.get_run("f")
    assert run is not None and run.result == "ok" and run.attempt == 2


@in_loop
async def test_a_failure_without_retries_left_fails_the_run(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("f", "flaky", "f", 5), envelope("x", "missing")])
    worker = make_worker(broker, clock)
    events = Events(worker)

    async def body() -> None:
        failed = await events.until(RUN_FAILED, "f")
        assert isinstance(failed.exception, ValueError)
        missing = await events.until(RUN_FAILED, "x")
        assert isinstance(missing.exception, LookupError)

    await asyncio.wait_for(working(worker, body), 10)
    run = broker.get_run("f")
    assert run is not None and run.status is RunStatus.FAILED
    assert run.error is not None and run.error.type == "ValueError"
    assert FAILS == {"f": 1}


@in_loop
async def test_an_attempt_longer_than_its_timeout_ends_timeout(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("t", "forever", timeout=0.05, max_retries=3)])
    worker = make_worker(broker, clock)
    events = Events(worker)

    async def body() -> None:
        await events.until(RUN_TIMEOUT, "t")

    await asyncio.wait_for(working(worker, body), 10)
    run = broker.get_run("t")
    assert run is not None and run.status is RunStatus.TIMEOUT and run.attempt == 1
    assert run.error is not None and "0.05 s" in run.error.message


@in_loop
async def test_progress_reaches_the_broker_and_the_listeners(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("p", "reporting")])
    worker = make_worker(broker, clock)
    events = Events(worker)
    seen: list[tuple[float, str | None]] = []
    progress = MemoryBroker.progress

    def spy(self: MemoryBroker, run_id: str, token: int, percent: float, message: Any) -> bool:
        seen.append((percent, message))
        return progress(self, run_id, token, percent, message)

    broker.progress = spy.__get__(broker)  # type: ignore[method-assign]

    async def body() -> None:
        await events.until(RUN_COMPLETED, "p")

    await asyncio.wait_for(working(worker, body), 10)
    assert seen == [(40.0, "reading"), (80.0, None)]
    assert events.codes("p") == [RUN_STARTED, RUN_PROGRESS, RUN_PROGRESS, RUN_COMPLETED]


def last_words() -> str:
    update_progress(90, "almost")
    update_progress(99, "done")
    return "ok"


@in_loop
async def test_the_last_progress_reaches_the_broker_before_the_end(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("w", "last_words")])
    worker = make_worker(broker, clock)
    events = Events(worker)
    progress = MemoryBroker.progress

    def slow(self: MemoryBroker, run_id: str, token: int, percent: float, message: Any) -> bool:
        time.sleep(0.1)  # a broker round trip: the end must not overtake it
        return progress(self, run_id, token, percent, message)

    broker.progress = slow.__get__(broker)  # type: ignore[method-assign]

    async def body() -> None:
        await events.until(RUN_COMPLETED, "w")

    await asyncio.wait_for(working(worker, body), 10)
    run = broker.get_run("w")
    assert run is not None and run.status is RunStatus.COMPLETED
    assert (run.progress, run.message, run.result) == (100.0, "done", "ok")


@in_loop
async def test_a_cancel_request_stops_a_coroutine_within_a_second(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("c", "forever")])
    worker = make_worker(broker, clock)
    events = Events(worker)

    async def body() -> None:
        await events.until(RUN_STARTED, "c")
        asked = time.monotonic()
        broker.cancel("c", clock.now())
        await events.until(RUN_CANCELLED, "c", within=2)
        assert time.monotonic() - asked < 1.5

    await asyncio.wait_for(working(worker, body), 10)
    assert status(broker, "c") is RunStatus.CANCELLED


@in_loop
async def test_a_lost_lease_drops_the_outcome(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("b", "blocked")])
    worker = make_worker(broker, clock, lease_seconds=3)
    events = Events(worker)

    async def body() -> None:
        await events.until(RUN_STARTED, "b")
        clock.advance(4)  # the lease expires: another worker takes the run over
        (taken,) = broker.claim("other", ["default"], 1, clock.now())
        assert taken.token == 2
        await asyncio.sleep(1.5)  # at least one renew: it reports the lease lost
        assert "lease lost" in caplog.text
        GATE.set()

    await asyncio.wait_for(working(worker, body), 10)
    run = broker.get_run("b")
    assert run is not None and run.status is RunStatus.RUNNING and run.deliveries == 2
    assert RUN_COMPLETED not in events.codes("b")
    assert "outcome is dropped" in caplog.text


@in_loop
async def test_a_stop_lets_runs_finish_within_the_grace_time(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("b", "blocked")])
    worker = make_worker(broker, clock, grace_seconds=5)
    events = Events(worker)

    async def body() -> None:
        await events.until(RUN_STARTED, "b")
        worker.stop()
        await asyncio.sleep(0.1)
        GATE.set()

    await asyncio.wait_for(working(worker, body), 10)
    assert status(broker, "b") is RunStatus.COMPLETED


@in_loop
async def test_a_stop_gives_back_what_the_grace_time_did_not_see_end(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("f", "forever"), envelope("b", "blocked")])
    worker = make_worker(broker, clock, grace_seconds=0.1)
    events = Events(worker)

    async def body() -> None:
        await events.until(RUN_STARTED, "f")
        await events.until(RUN_STARTED, "b")

    await asyncio.wait_for(working(worker, body), 10)
    assert worker.stranded_threads == 1
    GATE.set()
    for run_id in ("f", "b"):
        run = broker.get_run(run_id)
        assert run is not None and run.status is RunStatus.PENDING and run.attempt == 0
    assert {d.run_id for d in broker.claim("next", ["default"], 5, clock.now())} == {"f", "b"}


@in_loop
async def test_stop_now_gives_back_at_once(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("f", "forever")])
    worker = make_worker(broker, clock, grace_seconds=60)
    events = Events(worker)
    task = asyncio.create_task(worker.run())
    await events.until(RUN_STARTED, "f")
    worker.stop()
    await asyncio.sleep(0.05)
    worker.stop(now=True)
    await asyncio.wait_for(task, 2)
    assert status(broker, "f") is RunStatus.PENDING


@in_loop
async def test_finished_runs_older_than_retain_days_are_cleaned_up(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("old", "note", "old"), envelope("new", "note", "new")])
    for delivery in broker.claim("w", ["default"], 2, START):
        broker.complete(delivery.run_id, delivery.token, None, START)
    put(broker, [envelope("waiting", "note", "w", due=START + timedelta(days=30))])
    clock.advance(8 * 86400)
    worker = make_worker(broker, clock, retain_days=7)
    worker.stop()  # it cleans up as it starts, then stops
    await worker.run()
    assert broker.get_run("old") is None and broker.get_run("new") is None
    assert broker.get_run("waiting") is not None


def test_settings_fail_where_given() -> None:
    broker = MemoryBroker()
    with pytest.raises(ValueError, match="concurrency"):
        Worker(broker, concurrency=0)
    with pytest.raises(TypeError, match="queues"):
        Worker(broker, queues=[])
    with pytest.raises(ValueError, match="polling_interval"):
        Worker(broker, polling_interval=-1)
    with pytest.raises(ValueError, match="broker"):
        Worker("nothing-like-a-broker")
    worker = Worker({"type": "memory"}, queues="a, b,a")
    assert worker.settings.queues == ("a", "b")
    worker.set_queues(["urgent"])
    worker.set_concurrent_tasks(20)
    worker.set_polling_interval(0.5)
    worker.set_cleanup_config(interval_hours=2, retain_days=1)
    settings = worker.settings
    assert (settings.queues, settings.concurrency, settings.polling_interval) == (
        ("urgent",), 20, 0.5)  # fmt: skip
    assert (settings.cleanup_interval_hours, settings.retain_days) == (2, 1)
    with pytest.raises(ValueError, match="retain_days"):
        worker.set_cleanup_config(1, 0)
    assert "concurrency=20" in repr(worker)


class WatchedBroker(MemoryBroker):
    """Says when a wait for work begins."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait_for_work(self, queues: Any, timeout: float) -> bool:
        self.waiting.set()
        return super().wait_for_work(queues, timeout)


@in_loop
async def test_an_idle_worker_stops_at_once(clock: FakeClock) -> None:
    broker = WatchedBroker()
    worker = make_worker(broker, clock, polling_interval=30)
    task = asyncio.create_task(worker.run())
    assert await asyncio.to_thread(broker.waiting.wait, 5)  # idle: in a slice of 1 s
    asked = time.monotonic()
    worker.stop()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - asked < 0.3


def test_run_sync_stops_gracefully_on_sigterm(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("n", "note", "n")])
    worker = make_worker(broker, clock)
    worker.add_listener(lambda event: os.kill(os.getpid(), signal.SIGTERM), RUN_STARTED)
    before = signal.getsignal(signal.SIGTERM)
    worker.run_sync()
    assert status(broker, "n") is RunStatus.COMPLETED and ORDER == ["n"]
    assert signal.getsignal(signal.SIGTERM) is before and not worker.running


class BrokenBroker(MemoryBroker):
    def start(self) -> None:
        raise ConnectionError("no broker here")


def test_a_broker_that_cannot_start_ends_run_with_its_error(clock: FakeClock) -> None:
    worker = make_worker(BrokenBroker(), clock)
    with pytest.raises(ConnectionError, match="no broker here"):
        worker.run_sync(handle_signals=False)
    assert not worker.running


@in_loop
async def test_a_timed_out_thread_keeps_its_slot_until_it_returns(clock: FakeClock) -> None:
    broker = MemoryBroker()
    put(broker, [envelope("b", "blocked", timeout=0.05)])
    put(broker, [envelope("n", "note", "n")])
    worker = make_worker(broker, clock, concurrency=1)
    events = Events(worker)

    async def body() -> None:
        await events.until(RUN_TIMEOUT, "b")
        await asyncio.sleep(0.2)
        assert ORDER == [] and worker.stranded_threads == 1
        GATE.set()
        await events.until(RUN_COMPLETED, "n")
        assert worker.stranded_threads == 0

    await asyncio.wait_for(working(worker, body), 10)
    run = broker.get_run("b")
    assert run is not None and run.status is RunStatus.TIMEOUT and run.result is None


class FlakyBroker(MemoryBroker):
    """Its first claims fail, as when its server is away."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("server away")
        return super().claim(*args, **kwargs)


@in_loop
async def test_a_broker_away_is_logged_and_work_resumes(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    broker = FlakyBroker(failures=2)
    put(broker, [envelope("n", "note", "n")])
    worker = make_worker(broker, clock)
    events = Events(worker)

    async def body() -> None:
        await events.until(RUN_COMPLETED, "n")

    await asyncio.wait_for(working(worker, body), 10)
    assert broker.failures == 0 and ORDER == ["n"]
    assert caplog.text.count("Claiming from") == 2
