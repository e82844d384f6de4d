"""The RabbitMQ broker's wake-ups of a batch: one message per queue and priority, held until
each of its runs is settled, the runs a full claim left handed to another worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.brokers.rabbitmq import RabbitMQBroker
from tests.brokers.backends import RabbitMQBackend, made_backend
from tests.brokers.test_contract import envelope, ids
from tests.brokers.test_rabbitmq import enqueue_apart, make, take


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[RabbitMQBackend]:
    with made_backend("rabbitmq", tmp_path) as made:
        assert isinstance(made, RabbitMQBackend)
        yield made


def messages(broker: RabbitMQBroker, queue: str, expected: int) -> int:
    """How many messages wait in the RabbitMQ queue ``queue``: waits up to 5 s for
    ``expected`` (published on the connection's own time), then a little for any more."""

    def count(channel: Any) -> int:
        return int(channel.queue_declare(queue, passive=True).method.message_count)

    deadline = time.monotonic() + 5
    while broker.wakeups.connection.call(count) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    return int(broker.wakeups.connection.call(count))


def inbox_holds(wakeups: Any, runs: int) -> None:
    deadline = time.monotonic() + 5
    while len(wakeups._inbox) < runs and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(wakeups._inbox) == runs


def test_a_batch_is_one_message_per_queue_and_priority(backend: RabbitMQBackend) -> None:
    broker = make(backend)
    batch = [envelope(f"r{i}", queue=f"q{i % 2}", priority=5 if i < 2 else 0) for i in range(6)]
    broker.enqueue(batch)
    for queue in ("q0", "q1"):
        name = f"{backend.prefix}.{queue}"
        assert messages(broker, name, 2) == 2
        assert take(broker, name) == [f"r{i}" for i in range(6) if i % 2 == int(queue[1])]


def test_runs_a_full_claim_left_stay_with_their_message_till_a_claim_settles_them(
    backend: RabbitMQBackend,
) -> None:
    first, second, other = make(backend, prefetch=1), make(backend), make(backend)
    first.enqueue([envelope(name) for name in ("a", "b", "c")])
    first.wakeups.listen(["default"], 1)
    inbox_holds(first.wakeups, 3)
    now = datetime.now(UTC)  # a wait looks at the real clock
    (held,) = first.claim("w1", ["default"], 1, now)  # full: b and c may still wait
    assert sorted(first.wakeups._inbox) == ["b", "c"]  # kept, not requeued
    second.wakeups.listen(["default"], 5)
    assert second.wait_for_work(["default"], 5) is True  # its watch of the state broker
    assert ids(second.claim("w2", ["default"], 5, now)) == ["b", "c"]
    assert first.complete("a", held.token, 1, now)  # b and c still open: not acked yet
    assert first.claim("w1", ["default"], 1, now) == []  # not full: b and c settled, acked
    assert first.wakeups._inbox == {}
    first.shutdown()
    assert take(other, f"{backend.prefix}.default") == []  # nothing went back


def test_a_message_of_one_run_goes_back_after_a_full_claim(
    backend: RabbitMQBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, other = make(backend, prefetch=2), make(backend)
    enqueue_apart(first, [envelope("a"), envelope("top", priority=5)])
    first.wakeups.listen(["default"], 2)
    inbox_holds(first.wakeups, 2)
    requeued: list[list[int]] = []
    requeue = first.wakeups._acks.requeue
    monkeypatch.setattr(first.wakeups._acks, "requeue",
                        lambda channel, tags: (requeued.append(list(tags)),
                                               requeue(channel, tags)))  # fmt: skip
    now = datetime.now(UTC)
    (top,) = first.claim("w1", ["default"], 1, now)
    assert top.run_id == "top" and len(requeued) == 1 and len(requeued[0]) == 1
    assert first.complete("top", top.token, 1, now)
    first.shutdown()
    assert take(other, f"{backend.prefix}.default") == ["a"]
