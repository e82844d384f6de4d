"""How the RabbitMQ broker publishes: wake-ups handed to its connection's thread without
waiting, in order, flushed by a shutdown, bounded; and one dead letter per failure of a
state broker that several RabbitMQ brokers share."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.brokers import make_broker
from asyncz_like.brokers.rabbitmq import RabbitMQBroker
from asyncz_like.brokers.rabbitmq.connection import StillUnreachable
from asyncz_like.brokers.rabbitmq.wakeups import End
from tests.brokers.backends import RabbitMQBackend, made_backend
from tests.brokers.cleanup import abort_connection
from tests.brokers.test_contract import at, envelope, ids
from tests.brokers.test_rabbitmq import dead_letters, make, take, unreachable


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[RabbitMQBackend]:
    with made_backend("rabbitmq", tmp_path) as made:
        assert isinstance(made, RabbitMQBackend)
        yield made


def declared(broker: RabbitMQBroker, backend: RabbitMQBackend) -> str:
    """The RabbitMQ queue of ``default``, declared by a first wake-up (taken again)."""
    broker.enqueue([envelope("first")])
    queue = f"{backend.prefix}.default"
    assert take(broker, queue) == ["first"]
    return queue


def held(broker: RabbitMQBroker) -> threading.Event:
    """Keep the broker's connection thread busy until the event returned is set."""
    gate, holding = threading.Event(), threading.Event()

    def hold(channel: Any) -> None:
        holding.set()
        gate.wait(10)

    broker.wakeups.connection.post(hold)
    assert holding.wait(5)
    return gate


def connection_thread(backend: RabbitMQBackend) -> threading.Thread:
    """The thread of the one connection open on the backend's prefix."""
    name = f"asyncz-like-amqp-{backend.prefix}"
    (thread,) = [thread for thread in threading.enumerate() if thread.name == name]
    return thread


def test_an_enqueue_returns_before_its_wakeups_go_out_and_they_go_out_in_order(
    backend: RabbitMQBackend,
) -> None:
    broker = make(backend)
    queue = declared(broker, backend)
    gate = held(broker)
    for name in ("a", "b", "c"):  # each would wait for the thread held, if it waited
        assert broker.enqueue([envelope(name)]) == [True]
    gate.set()
    assert take(broker, queue) == ["a", "b", "c"]


def test_a_shutdown_publishes_the_wakeups_handed_in_first(
    backend: RabbitMQBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, other = make(backend), make(backend)
    queue = declared(broker, backend)
    lost: list[Callable[[Any], None]] = []  # handed in, never run: as by a lost connection
    monkeypatch.setattr(broker.wakeups.connection, "post", lost.append)
    broker.enqueue([envelope("a"), envelope("b")])
    assert len(lost) == 1 and take(other, queue) == []
    broker.shutdown()
    assert take(other, queue) == ["a", "b"]


def test_wakeups_handed_to_a_lost_connection_go_out_on_the_next(
    backend: RabbitMQBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = make(backend)
    queue = declared(broker, backend)
    thread = connection_thread(backend)
    with monkeypatch.context() as patched:
        patched.setattr(broker.wakeups.connection, "post", lambda work: None)
        broker.enqueue([envelope("a")])
    abort_connection(broker)
    thread.join(5)
    assert not thread.is_alive()
    broker.enqueue([envelope("b")])  # a round was due: the connection opens again for it
    assert take(broker, queue) == ["a", "b"]


def test_wakeups_past_the_outbox_limit_are_dropped_and_logged_once(
    backend: RabbitMQBackend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("asyncz_like.brokers.rabbitmq.wakeups.OUTBOX_LIMIT", 2)
    broker = make(backend)
    queue = declared(broker, backend)
    gate = held(broker)  # as a connection that cannot keep up
    with caplog.at_level(logging.WARNING):
        assert broker.enqueue([envelope("a"), envelope("b")]) == [True, True]
        assert broker.enqueue([envelope("c")]) == [True]  # recorded, not raised
        assert broker.enqueue([envelope("d")]) == [True]
    assert caplog.text.count("wake-ups wait to be published; dropping new ones") == 1
    gate.set()
    assert take(broker, queue) == ["a", "b"]
    broker.enqueue([envelope("e")])  # room again
    assert take(broker, queue) == ["e"]
    assert ids(broker.claim("w", ["default"], 10, at(0))) == ["first", "a", "b", "c", "d", "e"]


def test_brokers_sharing_a_state_broker_dead_letter_each_of_its_failures_once(
    backend: RabbitMQBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sharing_a_state(backend) as (first, second):
        deaths: dict[str, list[str]] = {"first": [], "second": []}
        for name, broker in (("first", first), ("second", second)):
            monkeypatch.setattr(broker.wakeups, "ended_many", told(broker, deaths[name]))
        first.enqueue([envelope("crash", max_deliveries=1), envelope("later", max_deliveries=1)])
        assert ids(first.claim("w1", ["default"], 1, at(0), lease_seconds=10)) == ["crash"]
        assert ids(second.claim("w2", ["default"], 1, at(10), lease_seconds=10)) == ["later"]
        assert deaths == {"first": ["crash"], "second": []}  # one dead letter, not one each
        assert list(dead_letters(first, backend.prefix, 1)) == ["crash"]
        first.shutdown()  # the other broker on the state broker dead-letters from now on
        assert second.claim("w2", ["default"], 1, at(20)) == []  # "later" lost: FAILED
        assert deaths == {"first": ["crash"], "second": ["later"]}
        assert list(dead_letters(second, backend.prefix, 1)) == ["later"]


def test_a_listener_given_to_brokers_sharing_a_state_broker_hears_each_failure_once(
    backend: RabbitMQBackend, caplog: pytest.LogCaptureFixture
) -> None:
    """As with a state broker each: the failure is told once to each listener, whichever
    broker it was given to; one that raises is logged and the others are still told."""
    with sharing_a_state(backend) as (first, second):
        told: list[list[str]] = []
        other: list[list[str]] = []

        def raising(failures: Any) -> None:
            raise RuntimeError("a listener's own bug")

        def note(into: list[list[str]]) -> Callable[[Any], None]:
            return lambda failures: into.append([run_id for run_id, _ in failures])

        noted = note(told)
        first.add_failure_listener(raising)
        first.add_failure_listener(noted)
        second.add_failure_listener(noted)  # the same listener, through the other broker
        second.add_failure_listener(note(other))
        first.enqueue([envelope("crash", max_deliveries=1)])
        assert ids(first.claim("w1", ["default"], 1, at(0), lease_seconds=10)) == ["crash"]
        with caplog.at_level(logging.ERROR):
            assert second.claim("w2", ["default"], 1, at(10)) == []  # lost: FAILED
        assert told == [["crash"]] and other == [["crash"]]
        assert "A failure listener of <the RabbitMQ brokers on" in caplog.text
        with pytest.raises(TypeError, match="listener must be callable"):
            first.add_failure_listener("not callable")  # type: ignore[arg-type]


@contextmanager
def sharing_a_state(backend: RabbitMQBackend) -> Iterator[tuple[RabbitMQBroker, RabbitMQBroker]]:
    """Two brokers on one state broker object (started, and shut down at the end)."""
    state = make_broker(backend.config()["state"])
    state.start()
    try:
        yield make(backend, state=state), make(backend, state=state)
    finally:
        state.shutdown()


def told(broker: RabbitMQBroker, deaths: list[str]) -> Callable[[Any], bool]:
    """The broker's ``ended_many``, noting the runs it is told to dead-letter."""
    ended_many = broker.wakeups.ended_many

    def noted(ends: Any) -> bool:
        ends = list(ends)
        deaths.extend(end.run_id for end in ends if isinstance(end, End) and end.death)
        return ended_many(ends)

    return noted


def test_when_one_broker_cannot_publish_a_dead_letter_the_next_on_its_queue_does(
    backend: RabbitMQBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sharing_a_state(backend) as (first, second):

        def refused(work: Any) -> None:
            raise StillUnreachable("RabbitMQ was unreachable just now")

        first.enqueue([envelope("crash", max_deliveries=1)])
        monkeypatch.setattr(first.wakeups.connection, "call", refused)
        assert ids(second.claim("w2", ["default"], 1, at(0), lease_seconds=10)) == ["crash"]
        assert second.claim("w2", ["default"], 1, at(10)) == []  # lost: FAILED
        assert list(dead_letters(second, backend.prefix, 1)) == ["crash"]


def test_without_rabbitmq_an_enqueue_logs_and_returns(
    backend: RabbitMQBackend, caplog: pytest.LogCaptureFixture
) -> None:
    with unreachable(backend) as away:
        with caplog.at_level(logging.WARNING):
            assert away.enqueue([envelope("a")]) == [True]
            assert away.enqueue([envelope("b")]) == [True]  # within 2 s: not tried again
        assert caplog.text.count("publishing wake-ups failed") == 1
        assert ids(away.claim("w", ["default"], 5, at(0))) == ["a", "b"]


def test_work_posted_that_raises_is_logged_and_the_connection_goes_on(
    backend: RabbitMQBackend, caplog: pytest.LogCaptureFixture
) -> None:
    broker = make(backend)
    queue = declared(broker, backend)
    owner = connection_thread(backend)
    with caplog.at_level(logging.ERROR):
        broker.wakeups.connection.post(lambda channel: 1 / 0)
        broker.enqueue([envelope("a")])
        assert take(broker, queue) == ["a"]
    assert connection_thread(backend) is owner  # the same connection went on
    assert "work handed to the connection's thread failed" in caplog.text
    assert "ZeroDivisionError" in caplog.text
