"""The broker contract's workers known (register, heartbeat, list, unregister, clean up),
held against every backend: a worker registered through one broker instance is listed by
another attached to the same storage (another process)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from asyncz_like.brokers import BaseBroker, WorkerInfo
from tests.brokers.backends import BrokerBackend
from tests.helpers import START


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def info(worker_id: str = "w1", **fields: Any) -> WorkerInfo:
    values: dict[str, Any] = {
        "hostname": "host-a", "pid": 4321, "queues": ("default", "urgent"), "concurrency": 8,
        "started_at": START, "last_heartbeat": START, "heartbeat_seconds": 5.0,
        "version": "1.2.3",
    }  # fmt: skip
    values.update(fields)
    return WorkerInfo(worker_id, **values)


@pytest.fixture
def broker(backend: BrokerBackend) -> BaseBroker:
    return backend.make()


def test_a_registered_worker_is_listed_as_given(backend: BrokerBackend) -> None:
    broker, other = backend.make(), backend.make()
    broker.register_worker(info(), at(2))
    (listed,) = other.list_workers(at(3))
    assert listed == replace(info(), last_heartbeat=at(2), alive=True)
    assert (listed.idle, listed.queues, listed.version) == (8, ("default", "urgent"), "1.2.3")


def test_a_heartbeat_records_busy_and_time(broker: BaseBroker) -> None:
    broker.register_worker(info(), at(0))
    assert broker.heartbeat_worker("w1", 3, at(5)) is True
    (listed,) = broker.list_workers(at(6))
    assert (listed.busy, listed.idle, listed.last_heartbeat) == (3, 5, at(5))
    assert listed.started_at == START


def test_a_heartbeat_of_an_unknown_worker_says_so(broker: BaseBroker) -> None:
    assert broker.heartbeat_worker("ghost", 0, at(1)) is False
    assert broker.list_workers(at(1)) == []


def test_alive_until_three_heartbeats_are_missed(broker: BaseBroker) -> None:
    broker.register_worker(info("w1", heartbeat_seconds=5.0), at(0))
    broker.register_worker(info("w2", heartbeat_seconds=1.0), at(0))
    alive = {worker.worker_id: worker.alive for worker in broker.list_workers(at(3))}
    assert alive == {"w1": True, "w2": True}
    alive = {worker.worker_id: worker.alive for worker in broker.list_workers(at(3.5))}
    assert alive == {"w1": True, "w2": False}
    assert [worker.alive for worker in broker.list_workers(at(15.5))] == [False, False]
    broker.heartbeat_worker("w2", 1, at(16))  # back (a long pause, a partition healed)
    alive = {worker.worker_id: worker.alive for worker in broker.list_workers(at(16))}
    assert alive == {"w1": False, "w2": True}


def test_registering_again_replaces_the_record(broker: BaseBroker) -> None:
    broker.register_worker(info(busy=2), at(0))
    broker.register_worker(info(pid=99, queues=("other",), busy=0, started_at=at(7)), at(8))
    (listed,) = broker.list_workers(at(8))
    assert (listed.pid, listed.queues, listed.busy, listed.started_at) == (99, ("other",), 0,
                                                                           at(7))  # fmt: skip


def test_unregister_forgets_the_worker(broker: BaseBroker) -> None:
    broker.register_worker(info("w1"), at(0))
    broker.register_worker(info("w2"), at(0))
    assert broker.unregister_worker("w1") is True
    assert broker.unregister_worker("w1") is False
    assert [worker.worker_id for worker in broker.list_workers(at(1))] == ["w2"]
    assert broker.heartbeat_worker("w1", 0, at(2)) is False


def test_workers_are_listed_by_host_pid_and_id(broker: BaseBroker) -> None:
    for worker_id, host, pid in [("c", "b-host", 1), ("b", "a-host", 2), ("a", "a-host", 2),
                                 ("d", "a-host", 1)]:  # fmt: skip
        broker.register_worker(info(worker_id, hostname=host, pid=pid), at(0))
    assert [worker.worker_id for worker in broker.list_workers(at(0))] == ["d", "a", "b", "c"]


def test_cleanup_forgets_workers_gone_before_its_time(broker: BaseBroker) -> None:
    broker.register_worker(info("old"), at(0))
    broker.register_worker(info("recent"), at(0))
    broker.heartbeat_worker("recent", 0, at(50))
    broker.cleanup(at(10))
    (kept,) = broker.list_workers(at(70))
    assert kept.worker_id == "recent" and kept.alive is False  # gone, listed until cleaned
    broker.cleanup(at(100))
    assert broker.list_workers(at(100)) == []


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda b: b.register_worker("w1", START), TypeError, "info"),
        (lambda b: b.register_worker(info(), datetime(2026, 1, 1)), TypeError, "now"),
        (lambda b: b.heartbeat_worker("", 0, START), TypeError, "worker_id"),
        (lambda b: b.heartbeat_worker("w1", -1, START), ValueError, "busy"),
        (lambda b: b.heartbeat_worker("w1", 0, None), TypeError, "now"),
        (lambda b: b.unregister_worker(7), TypeError, "worker_id"),
        (lambda b: b.list_workers(None), TypeError, "now"),
    ],
)
def test_bad_arguments_name_themselves(
    broker: BaseBroker, call: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call(broker)
