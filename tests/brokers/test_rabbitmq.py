"""What the RabbitMQ broker does beyond the contract: its wake-ups, their priorities, acks
and dead letters, and its state broker."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from asyncz_like.brokers import make_broker
from asyncz_like.brokers.rabbitmq import RabbitMQBroker
from asyncz_like.brokers.rabbitmq.batches import run_ids_of
from asyncz_like.brokers.rabbitmq.broker import split_state
from asyncz_like.brokers.records import Envelope, Finish
from asyncz_like.brokers.redis import RedisBroker
from asyncz_like.runs import RunStatus
from tests.brokers.backends import RabbitMQBackend, made_backend
from tests.brokers.cleanup import abort_connection
from tests.brokers.test_contract import ERROR, at, envelope, ids
from tests.services import RABBITMQ_URL, REDIS_HOST, REDIS_PORT


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[RabbitMQBackend]:
    with made_backend("rabbitmq", tmp_path) as made:
        assert isinstance(made, RabbitMQBackend)
        yield made


def make(backend: RabbitMQBackend, **options: Any) -> RabbitMQBroker:
    made = backend.make(**options)
    assert isinstance(made, RabbitMQBroker)
    return made


def take(broker: RabbitMQBroker, queue: str) -> list[str]:
    """The run ids of every message now in the RabbitMQ queue ``queue`` (read and acked), in
    order."""

    def get_all(channel: Any) -> list[str]:
        found: list[str] = []
        while True:
            method, properties, body = channel.basic_get(queue)
            if method is None:
                return found
            channel.basic_ack(method.delivery_tag)
            found.extend(run_ids_of(body, properties.content_type))

    return broker.wakeups.connection.call(get_all)


def enqueue_apart(broker: RabbitMQBroker, envelopes: list[Envelope]) -> None:
    """Each run enqueued alone, its wake-up published before the next is handed in (the
    connection's thread runs calls in the order handed in): a message per run, not one per
    batch."""
    for one in envelopes:
        broker.enqueue([one])
        broker.wakeups.connection.call(lambda channel: None)


def dead_letters(broker: RabbitMQBroker, prefix: str, count: int) -> dict[str, dict[str, str]]:
    """The dead letters of ``prefix`` by run id, with their headers (read and acked): waits
    up to 5 s for ``count`` of them, as RabbitMQ publishes on its own time."""
    found: dict[str, dict[str, str]] = {}

    def get_all(channel: Any) -> None:
        while True:
            method, properties, body = channel.basic_get(f"{prefix}.dead")
            if method is None:
                return
            channel.basic_ack(method.delivery_tag)
            headers = {key: _text(value) for key, value in (properties.headers or {}).items()}
            found[body.decode()] = headers

    deadline = time.monotonic() + 5
    while len(found) < count and time.monotonic() < deadline:
        broker.wakeups.connection.call(get_all)
    return found


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def test_wakeups_come_out_by_priority(backend: RabbitMQBackend) -> None:
    broker = make(backend)
    broker.enqueue([envelope("low"), envelope("mid", priority=3), envelope("high", priority=50)])
    assert take(broker, f"{backend.prefix}.default") == ["high", "mid", "low"]


def test_a_delayed_run_is_not_woken_nor_claimed_early(backend: RabbitMQBackend) -> None:
    broker = make(backend)
    now = datetime.now(UTC)  # a wait looks at the real clock
    later = now + timedelta(hours=1)
    broker.enqueue([envelope("later", created_at=now, due=later)], now=now)
    assert broker.wait_for_work(["default"], 0.2) is False
    assert broker.claim("w", ["default"], 5, later - timedelta(seconds=1)) == []
    assert ids(broker.claim("w", ["default"], 5, later)) == ["later"]


def test_a_killed_connections_runs_come_back(backend: RabbitMQBackend) -> None:
    first, second = make(backend), make(backend)
    first.enqueue([envelope("a")])
    assert first.wait_for_work(["default"], 5) is True
    now = datetime.now(UTC)  # a wait looks at the real clock
    (held,) = first.claim("w1", ["default"], 5, now, lease_seconds=10)
    second.wakeups.listen(["default"], 5)
    assert second.wait_for_work(["default"], 0.2) is False  # held unacked by the first
    abort_connection(first)  # as a SIGKILL would
    assert second.wait_for_work(["default"], 5) is True  # RabbitMQ handed it over
    (again,) = second.claim("w2", ["default"], 5, now + timedelta(seconds=11))  # lease ended
    assert again.run_id == "a" and again.token == held.token + 1


def test_a_wakeup_is_acked_when_its_run_ends(backend: RabbitMQBackend) -> None:
    first, second = make(backend, prefetch=1), make(backend)
    enqueue_apart(first, [envelope("a"), envelope("b")])
    assert first.wait_for_work(["default"], 5) is True
    (held,) = first.claim("w1", ["default"], 1, at(0))
    assert first.complete(held.run_id, held.token, 1, at(1))
    first.shutdown()  # nothing unacked goes back: only b is left
    assert take(second, f"{backend.prefix}.default") == ["b"]


def test_a_wakeup_come_in_after_its_claim_is_held_till_the_run_ends(
    backend: RabbitMQBackend,
) -> None:
    broker, other = make(backend), make(backend)
    broker.state.enqueue([envelope("a")])  # no wake-up yet: as when a claim outruns it
    now = datetime.now(UTC)  # a wait looks at the real clock
    (held,) = broker.claim("w1", ["default"], 1, now)
    broker.wakeups.publish([("default", "a", 0)])
    assert broker.wait_for_work(["default"], 0.5) is False  # held: nothing to claim
    assert broker.claim("w1", ["default"], 1, now) == []  # and not requeued by a claim
    assert broker.complete("a", held.token, 1, now)
    broker.shutdown()  # acked with the run's end: nothing goes back
    assert take(other, f"{backend.prefix}.default") == []


def test_a_run_ending_failed_is_dead_lettered(backend: RabbitMQBackend) -> None:
    broker = make(backend)
    broker.enqueue([envelope("bad"), envelope("other")])
    assert broker.wait_for_work(["default"], 5) is True
    deliveries = {d.run_id: d for d in broker.claim("w", ["default"], 5, at(0))}
    assert broker.fail("bad", deliveries["bad"].token, ERROR, at(1))
    assert broker.fail("other", deliveries["other"].token, ERROR, at(1), RunStatus.CANCELLED)
    assert dead_letters(broker, backend.prefix, 2) == {
        "bad": {"run_id": "bad", "status": "failed", "error_type": "ValueError", "reason": "boom"}
    }  # a cancel was asked for: no dead letter
    broker.shutdown()  # nothing was left unacked: nothing goes back
    assert take(make(backend), f"{backend.prefix}.default") == []


def test_a_run_the_state_broker_fails_is_dead_lettered(backend: RabbitMQBackend) -> None:
    """Lost ``max_deliveries`` times: the state broker ends it in a claim's sweep, while no
    worker holds its wake-up; the broker that claimed publishes the dead letter."""
    first, second = make(backend), make(backend)
    first.enqueue([envelope("crash", max_deliveries=1)])
    assert first.wait_for_work(["default"], 5) is True
    (held,) = first.claim("w1", ["default"], 5, at(0), lease_seconds=10)
    assert second.claim("w2", ["default"], 5, at(10)) == []  # the lease ended: FAILED
    headers = dead_letters(second, backend.prefix, 1)["crash"]
    assert headers["status"] == "failed" and headers["error_type"] == "WorkerLost"
    assert "each of 1 deliveries" in headers["reason"] and headers["run_id"] == "crash"
    assert first.renew("w1", {"crash": held.token}, at(11)).lost == {"crash"}  # acked
    first.shutdown()
    second.shutdown()
    assert take(make(backend), f"{backend.prefix}.default") == []
    assert dead_letters(make(backend), backend.prefix, 1) == {}  # one dead letter only


def test_a_batch_of_ends_acks_and_dead_letters_as_single_ends_do(
    backend: RabbitMQBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, other = make(backend), make(backend)
    batches: list[int] = []
    state_finish_many = broker.state.finish_many

    def counted(finishes: Any) -> list[bool]:
        finishes = list(finishes)
        batches.append(len(finishes))
        return state_finish_many(finishes)

    monkeypatch.setattr(broker.state, "finish_many", counted)
    enqueue_apart(broker, [envelope(name) for name in ("ok", "bad", "later", "left")])
    assert broker.wait_for_work(["default"], 5) is True
    deliveries = {d.run_id: d for d in broker.claim("w", ["default"], 3, at(0))}
    assert sorted(deliveries) == ["bad", "later", "ok"]
    token = {run_id: delivery.token for run_id, delivery in deliveries.items()}
    answers = broker.finish_many(
        [
            Finish.completed("ok", token["ok"], 1, at(1)),
            Finish.failed("bad", token["bad"], ERROR, at(1)),
            Finish.retried("later", token["later"], ERROR, at(60)),
            Finish.completed("ok", token["ok"] + 1, 1, at(1)),  # a stale token: refused
        ]
    )
    assert answers == [True, True, True, False]
    assert batches == [4]  # one round trip to the state broker
    assert [broker.get_run(run_id).status for run_id in ("ok", "bad", "later")] == [  # type: ignore[union-attr]
        RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.RETRYING,
    ]  # fmt: skip
    assert list(dead_letters(broker, backend.prefix, 2)) == ["bad"]
    broker.shutdown()  # what it held was settled; wake-ups it never took stay for others
    assert "ok" not in take(other, f"{backend.prefix}.default")


def test_ends_and_a_claim_go_to_the_state_broker_in_one_call(
    backend: RabbitMQBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy worker's ends and its next claim: one ``finish_and_claim`` of the state broker
    (one round trip), with the wake-ups acked and dead-lettered as by the two calls."""
    broker, other = make(backend, prefetch=2), make(backend)
    calls: list[str] = []
    for name in ("finish_and_claim", "finish_many", "claim"):
        monkeypatch.setattr(broker.state, name, spied(getattr(broker.state, name), name, calls))
    broker.enqueue([envelope(name) for name in ("ok", "bad", "next")])
    assert broker.wait_for_work(["default"], 5) is True
    deliveries = {d.run_id: d for d in broker.claim("w", ["default"], 2, at(0))}
    assert sorted(deliveries) == ["bad", "ok"]
    calls.clear()
    answers, claimed = broker.finish_and_claim(
        [
            Finish.completed("ok", deliveries["ok"].token, 1, at(1)),
            Finish.failed("bad", deliveries["bad"].token, ERROR, at(1)),
        ],
        "w", ["default"], 2, at(1),
    )  # fmt: skip
    assert answers == [True, True] and [d.run_id for d in claimed] == ["next"]
    assert calls == ["finish_and_claim"]
    assert list(dead_letters(broker, backend.prefix, 1)) == ["bad"]
    assert broker.complete("next", claimed[0].token, 1, at(2))
    broker.shutdown()  # every wake-up it took was acked with its run's end
    assert take(other, f"{backend.prefix}.default") == []


def spied(call: Any, name: str, calls: list[str]) -> Any:
    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return call(*args, **kwargs)

    return spy


def test_the_state_comes_from_the_url_or_is_asked_for(backend: RabbitMQBackend) -> None:
    state = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
    url = f"{RABBITMQ_URL}?heartbeat=30&state={quote(state, safe='')}"
    assert split_state(url) == (f"{RABBITMQ_URL}?heartbeat=30", state)
    broker = make_broker(url)
    assert isinstance(broker, RabbitMQBroker) and isinstance(broker.state, RedisBroker)
    broker.shutdown()
    with pytest.raises(ValueError, match="needs state="):
        RabbitMQBroker(RABBITMQ_URL)
    with pytest.raises(ValueError, match="state must be a broker other processes reach"):
        RabbitMQBroker(RABBITMQ_URL, state="memory")


@contextmanager
def unreachable(backend: RabbitMQBackend) -> Iterator[RabbitMQBroker]:
    """A started broker whose RabbitMQ cannot be reached, on the backend's state broker."""
    state = make_broker(backend.config()["state"])
    away = RabbitMQBroker("amqp://guest:guest@127.0.0.1:1/%2F", state=state, prefix=backend.prefix)
    away.start()
    try:
        yield away
    finally:
        away.shutdown()
        state.shutdown()
        backend.delete_keys()  # no broker was made through the backend: its clean-up skips


def test_without_rabbitmq_runs_still_go_through_the_state(
    backend: RabbitMQBackend, caplog: pytest.LogCaptureFixture
) -> None:
    with unreachable(backend) as away:
        with caplog.at_level(logging.WARNING):
            assert away.enqueue([envelope("a")]) == [True]
        assert "publishing wake-ups failed" in caplog.text
        assert away.wait_for_work(["default"], 2) is True  # the state broker's own wait
        assert ids(away.claim("w", ["default"], 5, at(0))) == ["a"]


def test_bad_options_are_errors_naming_them() -> None:
    with pytest.raises(TypeError, match="url must be an amqp:// URL"):
        RabbitMQBroker("rabbit", state="redis://127.0.0.1:6379/0")
    with pytest.raises(TypeError, match="prefix"):
        RabbitMQBroker(RABBITMQ_URL, state="redis://127.0.0.1:6379/0", prefix="")
    with pytest.raises(ValueError, match="prefetch"):
        RabbitMQBroker(RABBITMQ_URL, state="redis://127.0.0.1:6379/0", prefetch=0)


def test_a_wait_ends_when_a_delayed_run_falls_due(backend: RabbitMQBackend) -> None:
    broker = make(backend, poll_interval=0.2)
    broker.enqueue([envelope("soon", due=datetime.now(UTC) + timedelta(seconds=0.5))])
    started = time.monotonic()
    assert broker.wait_for_work(["default"], 0.2) is False
    assert broker.wait_for_work(["default"], 10) is True
    assert 0.4 < time.monotonic() - started < 5
