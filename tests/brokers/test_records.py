"""Bad input to the broker records and calls fails where it is given, naming the argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from asyncz_like.brokers import (
    BROKERS,
    Delivery,
    Envelope,
    MemoryBroker,
    QueueStats,
    WorkerInfo,
    make_broker,
)
from asyncz_like.exceptions import UnknownAliasError
from asyncz_like.runs import Backoff
from tests.helpers import START

TARGET = "tests.brokers.test_contract:work"


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"run_id": ""}, TypeError, "run_id"),
        ({"run_id": "x" * 192}, ValueError, "run_id"),
        ({"target": "no_colon"}, TypeError, "target"),
        ({"target": print}, TypeError, "target"),
        ({"args": "abc"}, TypeError, "args"),
        ({"kwargs": {1: 2}}, TypeError, "kwargs"),
        ({"queue": ""}, TypeError, "queue"),
        ({"priority": 1.5}, TypeError, "priority"),
        ({"priority": True}, TypeError, "priority"),
        ({"due": datetime(2026, 1, 1)}, TypeError, "due"),
        ({"created_at": "today"}, TypeError, "created_at"),
        ({"max_retries": -1}, ValueError, "max_retries"),
        ({"max_deliveries": 0}, ValueError, "max_deliveries"),
        ({"retry_backoff": "1s"}, TypeError, "retry_backoff"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": float("nan")}, ValueError, "timeout"),
        ({"task_id": 5}, TypeError, "task_id"),
        ({"headers": {"a": 1}}, TypeError, "headers"),
    ],
)
def test_a_bad_envelope_names_its_field(options: dict[str, Any], error: type, match: str) -> None:
    fields: dict[str, Any] = {"run_id": "r", "target": TARGET, **options}
    with pytest.raises(error, match=match):
        Envelope(**fields)


def test_an_envelope_normalizes_what_it_can() -> None:
    envelope = Envelope("r", TARGET, args=[1, 2], retry_backoff=timedelta(seconds=3), timeout=2)
    assert envelope.args == (1, 2) and envelope.retry_backoff == Backoff(base=3.0)
    assert envelope.timeout == 2.0 and isinstance(envelope.timeout, float)


def test_retry_at_follows_the_backoff_until_max_retries() -> None:
    backoff = Backoff(base=2.0, jitter=0.0)
    envelope = Envelope("r", TARGET, max_retries=2, retry_backoff=backoff)
    lease = START + timedelta(seconds=30)
    assert Delivery(envelope, 1, 1, lease).retry_at(START) == START + timedelta(seconds=2)
    assert Delivery(envelope, 2, 2, lease).retry_at(START) == START + timedelta(seconds=4)
    assert Delivery(envelope, 3, 3, lease).retry_at(START) is None


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda b: b.claim("", ["default"], 1, START), "worker_id"),
        (lambda b: b.claim("w", [], 1, START), "queues"),
        (lambda b: b.claim("w", "default", -1, START), "limit"),
        (lambda b: b.claim("w", ["default"], 1, datetime(2026, 1, 1)), "now"),
        (lambda b: b.claim("w", ["default"], 1, START, lease_seconds=0), "lease_seconds"),
        (lambda b: b.progress("r", 1, "half", None), "percent"),
        (lambda b: b.progress("r", 1, 5, 7), "message"),
        (lambda b: b.enqueue(["not an envelope"]), "Envelope"),
        (lambda b: b.enqueue([], now=datetime(2026, 1, 1)), "now"),
        (lambda b: b.list_runs(limit=-1), "limit"),
        (lambda b: b.fail("r", 1, None, START, status="running"), "status"),
    ],
)
def test_bad_calls_name_the_argument(call: Any, match: str) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        call(MemoryBroker())


def test_queue_stats_waiting_adds_up_what_has_not_started() -> None:
    stats = QueueStats(pending={0: 2, 5: 1}, scheduled=3, retrying=4, running=9)
    assert stats.waiting == 10


def test_make_broker_from_an_instance_an_alias_a_config_or_a_url(tmp_path: Any) -> None:
    broker = MemoryBroker()
    assert make_broker(broker) is broker
    assert isinstance(make_broker("memory"), MemoryBroker)
    assert isinstance(make_broker({"type": "memory"}), MemoryBroker)
    assert isinstance(make_broker("memory://"), MemoryBroker)
    assert {"memory", "rabbitmq", "redis", "sqlalchemy"} <= set(BROKERS.aliases())


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ("kafka://host", ValueError, "scheme 'kafka'"),
        ("nonsense", ValueError, "neither a broker alias"),
        ({"type": "nonsense"}, UnknownAliasError, "nonsense"),
        ({"database": "sqlite://"}, ValueError, "type"),
        (42, TypeError, "broker"),
    ],
)
def test_an_unknown_broker_is_a_clear_error(value: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        make_broker(value)


def test_an_aware_time_in_any_zone_is_taken() -> None:
    from zoneinfo import ZoneInfo

    due = datetime(2026, 3, 1, 9, tzinfo=ZoneInfo("Europe/Paris"))
    assert Envelope("r", TARGET, due=due).due == due.astimezone(UTC)


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"worker_id": ""}, TypeError, "worker_id"),
        ({"hostname": None}, TypeError, "hostname"),
        ({"pid": -1}, ValueError, "pid"),
        ({"queues": ()}, TypeError, "queues"),
        ({"queues": ("ok", "")}, TypeError, "queues"),
        ({"concurrency": 0}, ValueError, "concurrency"),
        ({"busy": -1}, ValueError, "busy"),
        ({"started_at": datetime(2026, 1, 1)}, TypeError, "started_at"),
        ({"last_heartbeat": "now"}, TypeError, "last_heartbeat"),
        ({"heartbeat_seconds": 0}, ValueError, "heartbeat_seconds"),
        ({"version": 1}, TypeError, "version"),
    ],
)
def test_a_bad_worker_record_names_the_field(
    fields: dict[str, Any], error: type[Exception], match: str
) -> None:
    values: dict[str, Any] = {
        "worker_id": "w", "hostname": "h", "pid": 1, "queues": ("default",), "concurrency": 2,
        "started_at": START, "last_heartbeat": START,
    }  # fmt: skip
    with pytest.raises(error, match=match):
        WorkerInfo(**{**values, **fields})


def test_a_worker_record_takes_one_queue_name_and_counts_idle_slots() -> None:
    worker = WorkerInfo("w", "h", 1, "default", 4, START, START, busy=6)  # type: ignore[arg-type]
    assert worker.queues == ("default",) and worker.idle == 0
    assert worker.is_alive(START + timedelta(seconds=15)) is True
    assert worker.is_alive(START + timedelta(seconds=15.001)) is False
