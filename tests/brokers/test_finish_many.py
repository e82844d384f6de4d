"""``finish_many``: many deliveries ended at once, each fenced by its token, held against
every backend."""

from __future__ import annotations

import pytest

from asyncz_like.brokers import BaseBroker, Finish
from asyncz_like.runs import RunError, RunStatus
from tests.brokers.backends import BrokerBackend
from tests.brokers.test_contract import ERROR, at, envelope, ids


@pytest.fixture
def broker(backend: BrokerBackend) -> BaseBroker:
    return backend.make()


def claimed(broker: BaseBroker, *run_ids: str) -> dict[str, int]:
    broker.enqueue([envelope(run_id, max_retries=1) for run_id in run_ids])
    return {d.run_id: d.token for d in broker.claim("w", ["default"], len(run_ids), at(0))}


def test_each_ending_is_recorded_as_its_single_call_would(broker: BaseBroker) -> None:
    tokens = claimed(broker, "ok", "late", "bad", "again")
    timeout = RunError("TimeoutError", "too long")
    answers = broker.finish_many([
        Finish.completed("ok", tokens["ok"], {"n": 1}, at(1)),
        Finish.failed("late", tokens["late"], timeout, at(2), RunStatus.TIMEOUT),
        Finish.failed("bad", tokens["bad"], ERROR, at(3)),
        Finish.retried("again", tokens["again"], ERROR, at(60)),
    ])  # fmt: skip
    assert answers == [True, True, True, True]
    ok, late, bad, again = (broker.get_run(i) for i in ("ok", "late", "bad", "again"))
    assert ok is not None and ok.status is RunStatus.COMPLETED and ok.result == {"n": 1}
    assert ok.finished_at == at(1) and ok.progress == 100
    assert late is not None and late.status is RunStatus.TIMEOUT and late.error == timeout
    assert bad is not None and bad.status is RunStatus.FAILED and bad.error == ERROR
    assert bad.finished_at == at(3)
    assert again is not None and again.status is RunStatus.RETRYING and again.error == ERROR
    assert broker.claim("w", ["default"], 5, at(59)) == []
    assert ids(broker.claim("w", ["default"], 5, at(60))) == ["again"]


def test_a_stale_token_or_an_unknown_run_is_refused_alone(broker: BaseBroker) -> None:
    tokens = claimed(broker, "a", "b")
    (taken,) = broker.claim("w2", ["default"], 1, at(31))  # "a" and "b" expired; "a" again
    answers = broker.finish_many([
        Finish.completed("a", tokens["a"], None, at(32)),  # the lost lease
        Finish.completed("nope", 1, None, at(32)),
        Finish.completed(taken.run_id, taken.token, "mine", at(32)),
    ])  # fmt: skip
    assert answers == [False, False, True]
    run = broker.get_run(taken.run_id)
    assert run is not None and run.status is RunStatus.COMPLETED and run.result == "mine"


def test_a_run_is_finished_once_in_a_batch(broker: BaseBroker) -> None:
    tokens = claimed(broker, "a")
    first = Finish.completed("a", tokens["a"], 1, at(1))
    second = Finish.failed("a", tokens["a"], ERROR, at(2))
    assert broker.finish_many([first, second]) == [True, False]
    assert broker.finish_many([first]) == [False]
    assert broker.finish_many([]) == []
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.COMPLETED and run.result == 1


def test_bad_finishes_are_refused_with_the_argument_named(broker: BaseBroker) -> None:
    tokens = claimed(broker, "a")
    with pytest.raises(TypeError, match="Finish"):
        broker.finish_many(["a"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="needs an error"):
        broker.finish_many([Finish("a", tokens["a"], RunStatus.FAILED, at(1))])
    with pytest.raises(ValueError, match="status"):
        broker.finish_many([Finish("a", tokens["a"], RunStatus.PENDING, at(1), error=ERROR)])
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.RUNNING


def test_each_run_of_a_batch_keeps_its_own_values(broker: BaseBroker) -> None:
    tokens = claimed(broker, "a", "b", "c", "d", "e")
    other = RunError("KeyError", "k", None)
    answers = broker.finish_many([
        Finish.completed("a", tokens["a"], None, at(1)),
        Finish.completed("b", tokens["b"], [2], at(2)),
        Finish.completed("c", tokens["c"], "three", at(3)),
        Finish.failed("d", tokens["d"], ERROR, at(4), RunStatus.CANCELLED),
        Finish.failed("e", tokens["e"], other, at(5)),
    ])  # fmt: skip
    assert answers == [True] * 5
    runs = {run_id: broker.get_run(run_id) for run_id in tokens}
    ended = {run_id: (run.status, run.result, run.error, run.finished_at)
             for run_id, run in runs.items() if run is not None}  # fmt: skip
    assert ended == {
        "a": (RunStatus.COMPLETED, None, None, at(1)),
        "b": (RunStatus.COMPLETED, [2], None, at(2)),
        "c": (RunStatus.COMPLETED, "three", None, at(3)),
        "d": (RunStatus.CANCELLED, None, ERROR, at(4)),
        "e": (RunStatus.FAILED, None, other, at(5)),
    }
