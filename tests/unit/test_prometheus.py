"""asyncz_like.contrib.prometheus: every metric against figures known in advance, on the fake
clock; a worker on the memory broker; the ASGI endpoint; undoing it all."""

from __future__ import annotations

import asyncio
import importlib
import sys
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from asyncz_like.brokers import MemoryBroker
from asyncz_like.contrib.prometheus import OTHER_TASKS, instrument, metrics_app
from asyncz_like.contrib.prometheus.aggregates import Histogram
from asyncz_like.events import RUN_COMPLETED, RUN_FAILED
from asyncz_like.exceptions import MissingDependencyError
from tests.helpers import START, FakeClock, manual_scheduler
from tests.unit.runs.helpers import double
from tests.unit.test_worker import Events, envelope, make_worker, put, working

FAIL_MESSAGE = "no"


def fails() -> None:
    raise RuntimeError(FAIL_MESSAGE)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(f"asyncz_like_{name}", labels)


def test_fires_runs_lateness_and_durations(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    scheduler = manual_scheduler(clock)
    instrument(scheduler, registry)
    scheduler.add_task(double, "interval", seconds=1, args=[1], id="tick")
    scheduler.add_task(fails, "interval", seconds=2, id="bad")
    scheduler.add_task(
        double,
        "date",
        run_at=START + timedelta(seconds=0.5),
        args=[1],
        id="late",
        mistrigger_grace_time=0.5,
    )
    scheduler.start()
    scheduler.submit(double, 2)
    scheduler.submit(double, 3, delay=1000, priority=5)
    scheduler.process_tasks()  # the submitted run, at once
    for step in (1.25, 1.0):  # tick at 1.25 (0.25 late) and 2.25; bad at 2.25; late missed
        clock.advance(step)
        scheduler.process_tasks()

    assert value(registry, "fires_total", task="tick", outcome="completed") == 2
    assert value(registry, "fires_total", task="bad", outcome="failed") == 1
    assert value(registry, "fires_total", task="late", outcome="missed") == 1
    assert value(registry, "runs_total", queue="", status="completed") == 3  # 2 fires, 1 run
    assert value(registry, "runs_total", queue="", status="failed") == 1
    # three fires, each 0.25 s late (the debug executor runs them at once, at the pass)
    assert value(registry, "fire_lateness_seconds_count") == 3
    assert value(registry, "fire_lateness_seconds_sum") == pytest.approx(0.75)
    assert value(registry, "fire_lateness_seconds_bucket", le="0.1") == 0
    assert value(registry, "fire_lateness_seconds_bucket", le="0.25") == 3
    assert value(registry, "fire_lateness_seconds_bucket", le="+Inf") == 3
    assert value(registry, "run_duration_seconds_count", queue="") == 4
    assert value(registry, "queue_depth", queue="", priority="5") == 1
    assert value(registry, "runs_in_progress", queue="") == 0
    assert value(registry, "broken_records", store="default") == 0
    # the memory store's calls are not timed: microseconds each, made per fire
    assert value(registry, "store_call_seconds_count", store="default", call="add_task") is None


def test_queue_depth_is_read_at_most_once_per_cache_seconds(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    scheduler = manual_scheduler(clock)
    metrics = instrument(scheduler, registry, cache_seconds=10)
    metrics.collector.monotonic = clock.monotonic
    scheduler.start()
    scheduler.submit(double, 1, delay=1000)
    assert value(registry, "queue_depth", queue="", priority="0") == 1
    scheduler.submit(double, 2, delay=1000)
    clock.advance(9.5)
    assert value(registry, "queue_depth", queue="", priority="0") == 1  # cached
    clock.advance(0.5)
    assert value(registry, "queue_depth", queue="", priority="0") == 2


def test_broken_records_are_counted_per_store(clock: FakeClock, tmp_path: Any) -> None:
    registry = CollectorRegistry()
    scheduler = manual_scheduler(clock, stores={"files": {"type": "file", "directory": tmp_path}})
    instrument(scheduler, registry)
    scheduler.start()
    (tmp_path / "broken.task").write_bytes(b"not a record")
    scheduler.process_tasks()
    broken = scheduler.get_broken_records()
    assert value(registry, "broken_records", store="files") == len(broken.get("files", {})) == 1
    timed = value(registry, "store_call_seconds_count", store="files", call="acquire_due_tasks")
    assert timed is not None and timed >= 1


def test_uninstrument_undoes_everything(clock: FakeClock, tmp_path: Any) -> None:
    registry = CollectorRegistry()
    scheduler = manual_scheduler(clock, stores={"default": {"type": "file", "directory": tmp_path}})
    store = scheduler.stores["default"]
    metrics = instrument(scheduler, registry)
    assert "acquire_due_tasks" in vars(store)
    metrics.uninstrument()
    metrics.uninstrument()  # a second time: nothing left to undo
    assert "acquire_due_tasks" not in vars(store)
    assert list(registry.collect()) == []
    scheduler.start()
    scheduler.submit(double, 1)
    scheduler.process_tasks()
    assert sum(metrics.aggregates.runs.values()) == 0


def test_instrumenting_twice_keeps_one_instrumentation(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    scheduler = manual_scheduler(clock)
    metrics = instrument(scheduler, registry)
    assert instrument(scheduler, registry) is metrics  # no duplicated series, one count
    with pytest.raises(ValueError, match="another registry"):
        instrument(scheduler, CollectorRegistry())
    with pytest.raises(ValueError, match="task_label"):
        instrument(scheduler, registry, task_label="name")
    scheduler.start()
    scheduler.submit(double, 1)
    scheduler.process_tasks()
    assert value(registry, "runs_total", queue="", status="completed") == 1
    metrics.uninstrument()
    again = instrument(scheduler, registry)  # instrument, uninstrument, instrument again
    assert again is not metrics
    scheduler.submit(double, 2)
    scheduler.process_tasks()
    assert value(registry, "runs_total", queue="", status="completed") == 1  # counted once
    assert sum(metrics.aggregates.runs.values()) == 1  # the first one heard no more


def test_a_worker_is_instrumented_once(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    worker = make_worker(MemoryBroker(), clock)
    metrics = instrument(worker, registry)
    assert instrument(worker, registry) is metrics
    metrics.uninstrument()
    assert "claim" not in vars(worker.broker)
    assert instrument(worker, registry) is not metrics


def fire_dated(scheduler: Any, ids: list[str], name: str = "report") -> None:
    for task_id in ids:
        scheduler.add_task(double, "date", run_at=START, args=[1], id=task_id, name=name)


def test_task_labels_are_ids_names_or_nothing() -> None:
    registries = {mode: CollectorRegistry() for mode in ("id", "name", None)}
    for mode, registry in registries.items():
        clock = FakeClock()
        scheduler = manual_scheduler(clock)
        instrument(scheduler, registry, task_label=mode)  # type: ignore[arg-type]
        scheduler.start()
        fire_dated(scheduler, ["a1", "a2"], name="report")
        fire_dated(scheduler, ["b1"], name="backup")
        scheduler.add_task(double, "date", run_at=START, args=[1], id="m1", name="late",
                           mistrigger_grace_time=0.5)  # fmt: skip
        scheduler.submit(double, 5)  # submitted work: never in fires_total
        clock.advance(1)  # m1 is missed by 1 s; the others run late (no grace time)
        scheduler.process_tasks()
    by_id, by_name, none = registries["id"], registries["name"], registries[None]
    assert value(by_id, "fires_total", task="a1", outcome="completed") == 1
    assert value(by_id, "fires_total", task="report", outcome="completed") is None
    assert value(by_name, "fires_total", task="report", outcome="completed") == 2
    assert value(by_name, "fires_total", task="backup", outcome="completed") == 1
    assert value(by_name, "fires_total", task="a1", outcome="completed") is None
    assert value(none, "fires_total", task="", outcome="completed") == 3
    assert value(by_id, "fires_total", task="m1", outcome="missed") == 1
    assert value(by_name, "fires_total", task="late", outcome="missed") == 1
    assert value(none, "fires_total", task="", outcome="missed") == 1


def test_task_labels_beyond_the_cap_go_to_other(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    scheduler = manual_scheduler(clock)
    instrument(scheduler, registry, max_task_labels=2)
    scheduler.start()
    fire_dated(scheduler, ["t1", "t2"])
    scheduler.process_tasks()
    fire_dated(scheduler, ["t3", "t4", "t5"])
    scheduler.add_task(double, "date", run_at=START, args=[1], id="t1", replace_existing=True)
    scheduler.process_tasks()
    fires = {
        sample.labels["task"]: sample.value
        for family in registry.collect()
        if family.name == "asyncz_like_fires"
        for sample in family.samples
        if sample.name.endswith("_total")
    }
    assert fires == {"t1": 2, "t2": 1, OTHER_TASKS: 3}


def test_bad_arguments_are_named(clock: FakeClock) -> None:
    with pytest.raises(TypeError, match="target"):
        instrument("scheduler", CollectorRegistry())  # type: ignore[arg-type]
    scheduler = manual_scheduler(clock)
    with pytest.raises(ValueError, match="cache_seconds"):
        instrument(scheduler, CollectorRegistry(), cache_seconds=-1)
    with pytest.raises(ValueError, match="buckets"):
        instrument(scheduler, CollectorRegistry(), buckets=[1, 0.5])
    with pytest.raises(ValueError, match="task_label"):
        instrument(scheduler, CollectorRegistry(), task_label="uuid")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_task_labels"):
        instrument(scheduler, CollectorRegistry(), max_task_labels=0)


def test_a_missing_prometheus_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "asyncz_like.contrib.prometheus")
    with pytest.raises(MissingDependencyError, match=r"asyncz_like\[prometheus\]"):
        importlib.import_module("asyncz_like.contrib.prometheus")


def test_a_worker_counts_its_runs_by_queue(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    broker = MemoryBroker()
    worker = make_worker(broker, clock)
    instrument(worker, registry)
    events = Events(worker)
    put(broker, [envelope("a", "add", 2, 3, queue="default"), envelope("f", "flaky", "k", 9)])
    put(broker, [envelope("w", "add", 1, 1, queue="other", priority=3)])

    async def body() -> None:
        await events.until(RUN_COMPLETED, "a")
        await events.until(RUN_FAILED, "f")

    asyncio.run(working(worker, body))
    assert value(registry, "runs_total", queue="default", status="completed") == 1
    assert value(registry, "runs_total", queue="default", status="failed") == 1
    assert value(registry, "run_duration_seconds_count", queue="default") == 2
    assert value(registry, "queue_depth", queue="other", priority="3") == 1  # not its queue
    claims = value(registry, "broker_call_seconds_count", call="claim")
    assert claims is not None and claims >= 1


def test_the_endpoint_serves_the_registry(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    instrument(manual_scheduler(clock), registry)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
    asyncio.run(metrics_app(registry)(scope, receive, send))
    assert sent[0]["status"] == 200
    body = b"".join(message.get("body", b"") for message in sent[1:]).decode()
    assert "# TYPE asyncz_like_fire_lateness_seconds histogram" in body
    assert "asyncz_like_runs_in_progress" in body


def test_a_batch_lands_in_the_same_buckets_as_values_one_by_one() -> None:
    values = [0.0, 0.0005, 0.0006, 0.001, 0.3, 0.25, 1.0, 299.0, 300.0, 301.0, 1e9, 0.0005]
    one_by_one, batch = Histogram(), Histogram()
    for item in values:
        one_by_one.observe(item)
    batch.observe_many(values)
    assert batch.counts == one_by_one.counts and batch.sum == pytest.approx(one_by_one.sum)
    buckets = dict(batch.buckets())
    # le is inclusive: 0.0005 holds 0, 0.0005 and 0.0005; +Inf holds them all
    assert (buckets["0.0005"], buckets["0.001"], buckets["300.0"], buckets["+Inf"]) == (
        3,
        5,
        10,
        12,
    )
