"""The Redis broker's ``finish_and_claim``: both scripts in one round trip, a retry replaying
what a first try whose replies were lost did, a script the server lost loaded again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.brokers.records import Finish
from asyncz_like.brokers.redis import RedisBroker
from asyncz_like.runs import RunStatus
from tests.brokers.backends import RedisBackend, made_backend
from tests.brokers.test_contract import at, envelope, ids


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisBroker]:
    with made_backend("redis", tmp_path) as made:
        assert isinstance(made, RedisBackend)
        broker = made.make()
        assert isinstance(broker, RedisBroker)
        broker.retry_first_wait = 0.001
        yield broker


def test_the_ends_and_the_claim_go_in_one_round_trip(
    broker: RedisBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    broker.enqueue([envelope(f"r{i}") for i in range(6)])
    held = broker.claim("w", ["default"], 3, at(0))
    sent: list[Any] = []
    connection = redis.connection.AbstractConnection
    send = connection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        send(self, command, check_health)

    monkeypatch.setattr(connection, "send_packed_command", counted)
    ends = [Finish.completed(d.run_id, d.token, None, at(1)) for d in held]
    answers, deliveries = broker.finish_and_claim(ends, "w", ["default"], 3, at(1))
    assert len(sent) == 1
    assert answers == [True] * 3 and ids(deliveries) == ["r3", "r4", "r5"]


def test_a_retry_after_lost_replies_replays_both_scripts(
    broker: RedisBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    broker.enqueue([envelope(run_id) for run_id in "abcd"])
    (held,) = broker.claim("w", ["default"], 1, at(0))
    runner = broker._runner
    run_many = runner.run_many
    lost = [1]

    def losing(calls: Any) -> Any:
        replies = run_many(calls)
        if lost:
            lost.pop()
            raise redis.exceptions.ConnectionError("replies lost")
        return replies

    monkeypatch.setattr(runner, "run_many", losing)
    done = Finish.completed("a", held.token, "ok", at(1))
    answers, deliveries = broker.finish_and_claim([done], "w", ["default"], 2, at(1))
    assert not lost  # the first try's replies were lost: this is the retry's answer
    assert answers == [True]
    assert [(d.run_id, d.token) for d in deliveries] == [("b", 1), ("c", 1)]
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.COMPLETED and run.result == "ok"
    assert ids(broker.claim("w", ["default"], 5, at(2))) == ["d"]


def test_scripts_the_server_lost_are_loaded_again(broker: RedisBroker) -> None:
    broker.enqueue([envelope(run_id) for run_id in "abc"])
    (held,) = broker.claim("w", ["default"], 1, at(0))
    for script in (broker._finish_many.script, broker._claim.script):
        script.sha = "0" * 40  # NOSCRIPT, as after a restart (without flushing a shared server)
    done = Finish.completed("a", held.token, None, at(1))
    answers, deliveries = broker.finish_and_claim([done], "w", ["default"], 5, at(1))
    assert answers == [True] and ids(deliveries) == ["b", "c"]


def test_a_claim_answering_an_error_keeps_the_ends_answers(broker: RedisBroker) -> None:
    import redis

    from asyncz_like.stores.redis.scripts import RunnableScript

    broker.enqueue([envelope("a"), envelope("b")])
    (held,) = broker.claim("w", ["default"], 1, at(0))
    failing = broker.client.register_script("return redis.error_reply('ERR claim broken')")
    broker._claim = RunnableScript(failing, broker._runner)
    done = Finish.completed("a", held.token, None, at(1))
    assert broker.finish_and_claim([done], "w", ["default"], 5, at(1)) == ([True], [])
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.COMPLETED
    with pytest.raises(redis.exceptions.ResponseError, match="claim broken"):
        broker.claim("w", ["default"], 5, at(2))
