"""``finish_and_claim``: the ends of runs recorded, then their slots filled, with every promise
of ``finish_many`` and ``claim`` kept; held against every backend."""

from __future__ import annotations

from typing import Any

import pytest

from asyncz_like.brokers import BaseBroker, Delivery, Finish, MemoryBroker
from asyncz_like.runs import RunStatus
from tests.brokers.backends import BrokerBackend
from tests.brokers.test_contract import ERROR, at, envelope, ids


@pytest.fixture
def broker(backend: BrokerBackend) -> BaseBroker:
    return backend.make()


def test_the_ends_are_recorded_and_the_next_runs_leased(broker: BaseBroker) -> None:
    broker.enqueue([envelope(run_id) for run_id in "abcde"])
    tokens = {d.run_id: d.token for d in broker.claim("w", ["default"], 2, at(1))}
    answers, deliveries = broker.finish_and_claim(
        [Finish.completed("a", tokens["a"], 7, at(2)), Finish.failed("b", tokens["b"], ERROR,
                                                                     at(2))],
        "w", ["default"], 2, at(2), lease_seconds=10,
    )  # fmt: skip
    assert answers == [True, True]
    assert ids(deliveries) == ["c", "d"]
    assert [(d.token, d.attempt, d.lease_until) for d in deliveries] == [(1, 1, at(12))] * 2
    a, b, c = (broker.get_run(run_id) for run_id in "abc")
    assert a is not None and a.status is RunStatus.COMPLETED and a.result == 7
    assert b is not None and b.status is RunStatus.FAILED and b.error == ERROR
    assert c is not None and c.status is RunStatus.RUNNING
    assert ids(broker.claim("w", ["default"], 5, at(3))) == ["e"]


def test_a_stale_end_is_refused_and_the_claim_still_made(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a"), envelope("b", priority=-1)])
    (first,) = broker.claim("w1", ["default"], 1, at(0), lease_seconds=5)
    (second,) = broker.claim("w2", ["default"], 1, at(10), lease_seconds=50)  # a, taken over
    assert (first.run_id, second.run_id, second.token) == ("a", "a", first.token + 1)
    stale = Finish.completed("a", first.token, "late", at(11))
    answers, deliveries = broker.finish_and_claim([stale], "w1", ["default"], 5, at(11))
    assert answers == [False] and ids(deliveries) == ["b"]
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.RUNNING and run.result is None
    assert broker.finish_many([Finish.completed("a", second.token, "won", at(12))]) == [True]


def test_a_run_retried_at_once_can_be_leased_again_in_the_same_call(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a", max_retries=1)])
    (first,) = broker.claim("w", ["default"], 1, at(0))
    retried = Finish.retried("a", first.token, ERROR, at(1))
    answers, deliveries = broker.finish_and_claim([retried], "w", ["default"], 1, at(1))
    assert answers == [True]
    assert [(d.run_id, d.token, d.attempt) for d in deliveries] == [("a", first.token + 1, 2)]


def test_without_ends_it_claims_and_with_limit_zero_it_only_ends(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a"), envelope("b")])
    answers, deliveries = broker.finish_and_claim([], "w", ["default"], 1, at(0))
    assert answers == [] and ids(deliveries) == ["a"]
    (held,) = deliveries
    done = Finish.completed("a", held.token, None, at(1))
    assert broker.finish_and_claim([done], "w", ["default"], 0, at(1)) == ([True], [])
    run = broker.get_run("b")
    assert run is not None and run.status is RunStatus.PENDING


BAD_CLAIMS = {
    "worker_id": {"worker_id": ""},
    "queues": {"queues": []},
    "limit": {"limit": -1},
    "now": {"now": at(1).replace(tzinfo=None)},
    "lease_seconds": {"lease_seconds": -1.0},
}


@pytest.mark.parametrize("argument", list(BAD_CLAIMS))
def test_bad_arguments_are_refused_before_anything_is_recorded(
    broker: BaseBroker, argument: str
) -> None:
    broker.enqueue([envelope("a"), envelope("b")])
    (held,) = broker.claim("w", ["default"], 1, at(0))
    done = Finish.completed("a", held.token, None, at(1))
    claim: dict[str, Any] = {"worker_id": "w", "queues": ["default"], "limit": 1, "now": at(1)}
    with pytest.raises((TypeError, ValueError), match=argument):
        broker.finish_and_claim([done], **(claim | BAD_CLAIMS[argument]))
    with pytest.raises(TypeError, match="Finish"):
        broker.finish_and_claim(["a"], "w", ["default"], 1, at(1))  # type: ignore[list-item]
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.RUNNING
    answers, deliveries = broker.finish_and_claim([done], "w", ["default"], 1, at(1))
    assert answers == [True] and ids(deliveries) == ["b"]


def test_the_default_keeps_the_answers_when_the_claim_fails_after_the_ends() -> None:
    class ClaimBroken(MemoryBroker):
        def claim(self, *args: Any, **kwargs: Any) -> list[Delivery]:
            raise ConnectionError("away")

    broker = ClaimBroken()
    broker.enqueue([envelope("a")])
    (held,) = MemoryBroker.claim(broker, "w", ["default"], 1, at(0))
    done = Finish.completed("a", held.token, None, at(1))
    assert broker.finish_and_claim([done], "w", ["default"], 5, at(1)) == ([True], [])
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.COMPLETED
