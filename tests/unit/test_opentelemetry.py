"""asyncz_like.contrib.opentelemetry: a producer span per enqueued run, its context carried in
the run's headers to the worker, and a consumer span there that the work runs inside."""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from asyncz_like.brokers import MemoryBroker
from asyncz_like.contrib.opentelemetry import GIVEN_BACK, LEASE_LOST, instrument
from asyncz_like.events import RUN_COMPLETED, RUN_FAILED, RUN_STARTED, RunEvent
from asyncz_like.exceptions import MissingDependencyError
from asyncz_like.runs import Run, RunStatus
from asyncz_like.workers import Worker
from tests.helpers import START, FakeClock, manual_scheduler
from tests.unit.test_worker import GATE, Events, envelope, make_worker, put, working

SEEN: dict[str, Any] = {}


async def traced_coroutine(key: str) -> str:
    SEEN[key] = trace.get_current_span().get_span_context()
    return key


def traced_function(key: str) -> str:
    assert threading.current_thread() is not threading.main_thread()
    SEEN[key] = trace.get_current_span().get_span_context()
    return key


def traced_function_anywhere(key: str) -> str:
    SEEN[key] = trace.get_current_span().get_span_context()
    return key


def broken(key: str) -> None:
    raise ValueError(f"bad {key}")


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    SEEN.clear()
    yield provider, exporter
    provider.shutdown()


def named(exporter: InMemorySpanExporter, kind: SpanKind) -> dict[str, ReadableSpan]:
    """The finished spans of ``kind``, by run id."""
    return {
        str(span.attributes["messaging.message.id"]): span  # type: ignore[index]
        for span in exporter.get_finished_spans()
        if span.kind is kind
    }


def test_a_run_is_traced_from_the_submit_into_the_work(clock: FakeClock, spans: Any) -> None:
    provider, exporter = spans
    broker = MemoryBroker()
    scheduler = manual_scheduler(clock, broker=broker, worker=False)
    instrument(scheduler, provider)
    coroutine = scheduler.submit(traced_coroutine, "c", queue="mail")
    function = scheduler.submit(traced_function, "f", queue="mail")
    failing = scheduler.submit(broken, "b", queue="mail")

    producers = named(exporter, SpanKind.PRODUCER)
    assert set(producers) == {coroutine.id, function.id, failing.id}
    sent = producers[coroutine.id]
    assert sent.name == "send mail"
    assert dict(sent.attributes or {}) == {
        "messaging.system": "asyncz_like",
        "messaging.destination.name": "mail",
        "messaging.message.id": coroutine.id,
        "asyncz_like.run.id": coroutine.id,
        "messaging.operation.type": "send",
        "messaging.operation.name": "enqueue",
        "asyncz_like.run.name": "traced_coroutine",
        "asyncz_like.broker": "MemoryBroker",
    }
    (delivery,) = broker.claim("peek", ["mail"], 1, clock.now(), 1)
    context = sent.get_span_context()
    trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
    traceparent = delivery.envelope.headers["traceparent"]  # version, ids, then flags
    assert traceparent.startswith(f"00-{trace_id}-{span_id}-")
    assert broker.give_back(delivery.run_id, delivery.token)

    worker = make_worker(broker, clock, queues=["mail"])
    instrument(worker, provider)
    events = Events(worker)

    async def body() -> None:
        for run in (coroutine, function):
            await events.until(RUN_COMPLETED, run.id)
        await events.until(RUN_FAILED, failing.id)

    asyncio.run(working(worker, body))
    consumers = named(exporter, SpanKind.CONSUMER)
    for run, key in ((coroutine, "c"), (function, "f")):
        process, producer = consumers[run.id], producers[run.id]
        assert process.name == "process mail"
        assert process.parent is not None
        assert process.parent.span_id == producer.get_span_context().span_id
        assert process.context.trace_id == producer.get_span_context().trace_id
        assert SEEN[key] == process.get_span_context()  # the work ran inside the span
        attributes = dict(process.attributes or {})
        assert attributes["messaging.operation.type"] == "process"
        assert attributes["asyncz_like.run.status"] == RunStatus.COMPLETED.value
        assert attributes["asyncz_like.run.attempt"] == 1
        assert process.status.status_code is StatusCode.UNSET
    failed = consumers[failing.id]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "ValueError: bad b"
    assert [event.name for event in failed.events] == ["exception"]
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing left attached here


def test_the_schedulers_own_worker_is_traced(clock: FakeClock, spans: Any) -> None:
    provider, exporter = spans
    scheduler = manual_scheduler(clock, broker=MemoryBroker())
    instrument(scheduler, provider)
    scheduler.start()
    try:
        run = scheduler.submit(traced_coroutine, "own")
        assert scheduler.wait_for_sync(run.id, timeout=10).status is RunStatus.COMPLETED
    finally:
        scheduler.shutdown()
    producer = named(exporter, SpanKind.PRODUCER)[run.id]
    process = named(exporter, SpanKind.CONSUMER)[run.id]
    # the scheduler's listeners hear of its worker's runs too: no in-process span for them
    assert [span.kind for span in exporter.get_finished_spans()].count(SpanKind.INTERNAL) == 0
    assert process.parent is not None
    assert process.parent.span_id == producer.get_span_context().span_id
    assert SEEN["own"] == process.get_span_context()


def test_uninstrument_stops_tracing(clock: FakeClock, spans: Any) -> None:
    provider, exporter = spans
    broker = MemoryBroker()
    scheduler = manual_scheduler(clock, broker=broker, worker=False)
    tracing = instrument(scheduler, provider)
    tracing.uninstrument()
    tracing.uninstrument()  # a second time: nothing left to undo
    assert "enqueue" not in vars(broker)
    run = scheduler.submit(traced_coroutine, "x")
    assert exporter.get_finished_spans() == ()
    (delivery,) = broker.claim("w", ["default"], 1, clock.now(), 1)
    assert delivery.run_id == run.id and delivery.envelope.headers == {}


def test_bad_target_and_missing_api(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TypeError, match="target"):
        instrument(object())  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.delitem(sys.modules, "asyncz_like.contrib.opentelemetry")
    with pytest.raises(MissingDependencyError, match=r"asyncz_like\[otel\]"):
        importlib.import_module("asyncz_like.contrib.opentelemetry")


def test_instrumenting_twice_keeps_one_tracing(clock: FakeClock, spans: Any) -> None:
    provider, exporter = spans
    scheduler = manual_scheduler(clock, broker=MemoryBroker(), worker=False)
    tracing = instrument(scheduler, provider)
    assert instrument(scheduler, provider) is tracing
    with pytest.raises(ValueError, match="tracer_provider"):
        instrument(scheduler, TracerProvider())
    with pytest.raises(ValueError, match="in_process"):
        instrument(scheduler, provider, in_process=True)
    first = scheduler.submit(traced_coroutine, "1")
    tracing.uninstrument()
    again = instrument(scheduler, provider)  # instrument, uninstrument, instrument again
    assert again is not tracing
    second = scheduler.submit(traced_coroutine, "2")
    producers = [span for span in exporter.get_finished_spans() if span.kind is SpanKind.PRODUCER]
    assert [span.attributes["messaging.message.id"] for span in producers] == [  # type: ignore[index]
        first.id,
        second.id,
    ]  # one span each: nothing wrapped twice


def traced_worker(
    clock: FakeClock, provider: TracerProvider, run_id: str, fn: str, **options: Any
) -> tuple[MemoryBroker, Worker, Events]:
    """A memory broker holding one run of ``fn``, and an instrumented worker for it."""
    broker = MemoryBroker()
    put(broker, [envelope(run_id, fn)])
    worker = make_worker(broker, clock, **options)
    instrument(worker, provider)
    return broker, worker, Events(worker)


def consumer_spans(exporter: InMemorySpanExporter, run_id: str) -> list[ReadableSpan]:
    return [
        span
        for span in exporter.get_finished_spans()
        if span.kind is SpanKind.CONSUMER and span.attributes["messaging.message.id"] == run_id  # type: ignore[index]
    ]


def test_a_run_given_back_at_a_stop_ends_its_span(clock: FakeClock, spans: Any) -> None:
    provider, exporter = spans
    broker, worker, events = traced_worker(clock, provider, "f", "forever", grace_seconds=0.05)

    async def body() -> None:
        await events.until(RUN_STARTED, "f")

    asyncio.run(working(worker, body))
    (span,) = consumer_spans(exporter, "f")
    assert span.attributes["asyncz_like.run.status"] == GIVEN_BACK  # type: ignore[index]
    assert span.status.status_code is StatusCode.UNSET
    assert broker.get_run("f").status is RunStatus.PENDING  # type: ignore[union-attr]


def test_a_run_whose_lease_is_lost_ends_its_span(clock: FakeClock, spans: Any) -> None:
    provider, exporter = spans
    broker, worker, events = traced_worker(clock, provider, "b", "blocked", lease_seconds=3)

    async def body() -> None:
        await events.until(RUN_STARTED, "b")
        clock.advance(4)  # the lease expires: another worker takes the run over
        broker.claim("other", ["default"], 1, clock.now())
        await asyncio.sleep(1.5)  # at least one renew: it stops the run as lost
        GATE.set()

    asyncio.run(working(worker, body))
    (span,) = consumer_spans(exporter, "b")
    assert span.attributes["asyncz_like.run.status"] == LEASE_LOST  # type: ignore[index]
    assert span.status.status_code is StatusCode.ERROR


def test_fires_and_runs_in_process_get_a_span_each(clock: FakeClock, spans: Any) -> None:
    provider, exporter = spans
    scheduler = manual_scheduler(clock)  # no broker: submitted runs run here too
    instrument(scheduler, provider, in_process=True)
    scheduler.start()
    scheduler.add_task(
        traced_function_anywhere, "date", run_at=START, args=["t"], id="tick", name="ticker"
    )
    run = scheduler.submit(traced_coroutine, "s")
    failing = scheduler.submit(broken, "x")
    scheduler.process_tasks()
    internal = {
        span.attributes["asyncz_like.run.id"]: span  # type: ignore[index]
        for span in exporter.get_finished_spans()
        if span.kind is SpanKind.INTERNAL
    }
    assert len(internal) == 3
    (fire,) = (span for span in internal.values() if span.name == "run ticker")
    assert fire.parent is None
    attributes = dict(fire.attributes or {})
    assert attributes["asyncz_like.task.id"] == "tick"
    assert attributes["asyncz_like.run.name"] == "ticker"
    assert attributes["asyncz_like.run.attempt"] == 1
    assert attributes["asyncz_like.run.status"] == RunStatus.COMPLETED.value
    submitted = dict(internal[run.id].attributes or {})
    assert submitted["asyncz_like.run.status"] == RunStatus.COMPLETED.value
    assert "asyncz_like.task.id" not in submitted
    failed = internal[failing.id]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["asyncz_like.run.status"] == RunStatus.FAILED.value  # type: ignore[index]
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_fires_are_untraced_unless_in_process(clock: FakeClock, spans: Any) -> None:
    provider, exporter = spans
    scheduler = manual_scheduler(clock)
    tracing = instrument(scheduler, provider)  # in_process=False by default
    scheduler.start()
    scheduler.add_task(traced_function_anywhere, "date", run_at=START, args=["t"], id="tick")
    scheduler.submit(traced_coroutine, "s")
    scheduler.process_tasks()
    assert exporter.get_finished_spans() == ()
    tracing.uninstrument()
    traced = instrument(scheduler, provider, in_process=True)
    scheduler.submit(traced_coroutine, "again")
    scheduler.process_tasks()
    assert len(exporter.get_finished_spans()) == 1
    traced.uninstrument()
    scheduler.submit(traced_coroutine, "after")
    scheduler.process_tasks()
    assert len(exporter.get_finished_spans()) == 1


def test_uninstrument_ends_the_spans_of_attempts_running_here(clock: FakeClock, spans: Any) -> None:
    provider, exporter = spans
    scheduler = manual_scheduler(clock)
    tracing = instrument(scheduler, provider, in_process=True)
    run = Run("r1", name="job", status=RunStatus.RUNNING, attempt=1)
    started = RunEvent(RUN_STARTED, None, "r1", None, run)
    tracing.local_run_event(started)  # as the scheduler tells it when an attempt starts
    assert exporter.get_finished_spans() == ()
    tracing.uninstrument()
    (span,) = exporter.get_finished_spans()
    assert span.name == "run job" and span.attributes["asyncz_like.run.id"] == "r1"  # type: ignore[index]
