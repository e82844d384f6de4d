"""The broker contract (asyncz_like/brokers/base.py), held against every backend."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from asyncz_like.brokers import BaseBroker, CancelOutcome, Envelope
from asyncz_like.runs import RunError, RunStatus, UnstoredResult
from tests.brokers.backends import BrokerBackend
from tests.helpers import START

TARGET = "tests.brokers.test_contract:work"
ERROR = RunError("ValueError", "boom", "Traceback...")


def work(*args: Any, **kwargs: Any) -> None:
    """What the envelopes of these tests name (never called here)."""


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def envelope(run_id: str, **options: Any) -> Envelope:
    options.setdefault("created_at", START)
    return Envelope(run_id, TARGET, **options)


def ids(deliveries: list[Any]) -> list[str]:
    return [delivery.run_id for delivery in deliveries]


@pytest.fixture
def broker(backend: BrokerBackend) -> BaseBroker:
    return backend.make()


# -- enqueue ------------------------------------------------------------------------------


def test_enqueue_is_idempotent_by_run_id(broker: BaseBroker) -> None:
    assert broker.enqueue([envelope("a"), envelope("b")], now=START) == [True, True]
    assert broker.enqueue([envelope("a", priority=9), envelope("c")], now=START) == [False, True]
    assert broker.enqueue([envelope("c")], now=START) == [False]
    assert broker.enqueue([envelope("d")], now=START) == [True]
    assert broker.enqueue([envelope("e"), envelope("e")], now=START) == [True, False]
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.PENDING and run.priority == 0
    assert run.queue == "default" and run.deliveries == 0 and run.attempt == 0
    assert run.created_at == START and run.scheduled_at == START
    assert ids(broker.claim("w", ["default"], 10, at(1))) == ["a", "b", "c", "d", "e"]


def test_a_claimed_envelope_is_the_enqueued_one(broker: BaseBroker) -> None:
    sent = envelope(
        "a", args=(1, "two", [3]), kwargs={"k": {"x": 1.5}}, queue="q", priority=3,
        max_retries=2, retry_backoff=4.0, timeout=30.0, max_deliveries=5, task_id="t",
        name="job", headers={"traceparent": "00-abc"}, due=at(1),
    )  # fmt: skip
    broker.enqueue([sent])
    (delivery,) = broker.claim("w", ["q"], 1, at(2), lease_seconds=10)
    got = delivery.envelope
    assert (got.run_id, got.target, got.args, got.kwargs) == ("a", TARGET, (1, "two", [3]),
                                                              {"k": {"x": 1.5}})  # fmt: skip
    assert (got.queue, got.priority, got.max_retries, got.timeout) == ("q", 3, 2, 30.0)
    assert (got.max_deliveries, got.task_id, got.name) == (5, "t", "job")
    assert got.headers == {"traceparent": "00-abc"} and got.retry_backoff.base == 4.0
    assert got.due == at(1) and got.created_at == START
    assert (delivery.token, delivery.attempt, delivery.lease_until) == (1, 1, at(12))


def test_get_envelope_gives_the_enqueued_call(broker: BaseBroker) -> None:
    sent = envelope(
        "a", args=(1, "two"), kwargs={"k": [1.5]}, queue="q", priority=3, max_retries=2,
        timeout=30.0, max_deliveries=5, task_id="t", name="job", headers={"key": "v"},
    )  # fmt: skip
    broker.enqueue([sent])
    got = broker.get_envelope("a")
    assert got is not None
    assert (got.run_id, got.target, got.args, got.kwargs) == ("a", TARGET, (1, "two"), {"k": [1.5]})
    assert (got.queue, got.priority, got.max_retries, got.timeout) == ("q", 3, 2, 30.0)
    assert (got.max_deliveries, got.task_id, got.name, got.headers) == (5, "t", "job", {"key": "v"})
    assert broker.get_envelope("unknown") is None
    (delivery,) = broker.claim("w", ["q"], 1, at(1))
    broker.fail("a", delivery.token, ERROR, at(2))
    ended = broker.get_envelope("a")  # kept after a failure, or not, as the broker says
    if broker.keeps_ended_calls:
        assert ended is not None and (ended.target, ended.args) == (TARGET, (1, "two"))
    else:
        assert ended is None
    assert broker.cleanup(at(3)) == 1
    assert broker.get_envelope("a") is None  # cleanup takes the call with the run


def test_headers_come_back_with_every_delivery(broker: BaseBroker) -> None:
    """The trace context rides in the headers: a retry, a give-back and an expired lease
    deliver the run again with them, as enqueued."""
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = {"traceparent": traceparent, "tracestate": "k=v", "idempotency-key": "é/1"}
    broker.enqueue([envelope("a", max_retries=1, headers=headers)], now=START)
    (first,) = broker.claim("w1", ["default"], 1, at(0), 10)
    assert broker.retry("a", first.token, ERROR, at(1)) is True
    (second,) = broker.claim("w1", ["default"], 1, at(1), 10)
    assert broker.give_back("a", second.token) is True
    (third,) = broker.claim("w1", ["default"], 1, at(2), 10)
    (fourth,) = broker.claim("w2", ["default"], 1, at(13), 10)  # the lease of third expired
    for delivery in (first, second, third, fourth):
        assert delivery.envelope.headers == headers


# -- order and delays ---------------------------------------------------------------------


def test_claims_by_priority_then_due_then_age(broker: BaseBroker) -> None:
    broker.enqueue([
        envelope("low-early", priority=0, due=at(-30)),
        envelope("high-late", priority=5, due=at(-1)),
        envelope("high-early", priority=5, due=at(-2)),
        envelope("low-late", priority=0, due=at(-2)),
        envelope("urgent", priority=9, due=at(0)),
    ])  # fmt: skip
    claimed = ids(broker.claim("w", ["default"], 2, at(0)))
    claimed += ids(broker.claim("w", ["default"], 10, at(0)))
    assert claimed == ["urgent", "high-early", "high-late", "low-early", "low-late"]


def test_same_priority_and_due_go_by_age(broker: BaseBroker) -> None:
    broker.enqueue([envelope(f"r{i}", due=at(0), created_at=at(-10 + i)) for i in range(5)])
    assert ids(broker.claim("w", ["default"], 10, at(0))) == [f"r{i}" for i in range(5)]


def test_a_delayed_run_is_not_claimed_before_its_time(broker: BaseBroker) -> None:
    broker.enqueue([envelope("later", due=at(60), priority=9), envelope("now", due=at(0))])
    assert ids(broker.claim("w", ["default"], 10, at(59))) == ["now"]
    assert broker.claim("w", ["default"], 10, at(59.5)) == []
    assert ids(broker.claim("w", ["default"], 10, at(60))) == ["later"]


def test_claims_only_the_given_queues(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a", queue="reports"), envelope("b", queue="mail"),
                    envelope("c")])  # fmt: skip
    assert ids(broker.claim("w", ["mail", "reports"], 10, at(1))) == ["a", "b"]
    assert ids(broker.claim("w", ["default"], 10, at(1))) == ["c"]


def test_limit_zero_claims_nothing(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a")])
    assert broker.claim("w", ["default"], 0, at(1)) == []
    assert ids(broker.claim("w", ["default"], 1, at(1))) == ["a"]


# -- leases and fencing -------------------------------------------------------------------


def test_a_lease_holds_until_it_expires_then_another_worker_gets_a_bigger_token(
    broker: BaseBroker,
) -> None:
    broker.enqueue([envelope("a")])
    (first,) = broker.claim("w1", ["default"], 1, at(0), lease_seconds=10)
    assert broker.claim("w2", ["default"], 1, at(9.9), lease_seconds=10) == []
    # (a second after the last sweep: MariaDB and SQLite sweep at most once a second)
    (second,) = broker.claim("w2", ["default"], 1, at(10.9), lease_seconds=10)
    assert second.run_id == "a" and second.token > first.token and second.attempt == 2
    assert broker.complete("a", first.token, "late", at(11)) is False
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.RUNNING and run.result is None
    assert broker.complete("a", second.token, "done", at(12)) is True
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.COMPLETED and run.result == "done"
    assert run.deliveries == 2 and run.finished_at == at(12) and run.started_at == at(10.9)


def test_a_stale_token_records_nothing(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a")])
    (old,) = broker.claim("w1", ["default"], 1, at(0), lease_seconds=5)
    (new,) = broker.claim("w2", ["default"], 1, at(6), lease_seconds=5)
    assert broker.progress("a", old.token, 50, "old") is False
    assert broker.fail("a", old.token, ERROR, at(7)) is False
    assert broker.retry("a", old.token, ERROR, at(100)) is False
    assert broker.give_back("a", old.token) is False
    assert broker.renew("w1", {"a": old.token}, at(7)).lost == {"a"}
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.RUNNING and run.progress == 0
    assert run.error is None and run.message is None
    assert broker.complete("a", new.token, None, at(8)) is True
    assert broker.complete("a", new.token, None, at(9)) is False  # finished: no second finish


def test_renew_extends_the_lease(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a"), envelope("b")])
    held = {d.run_id: d.token for d in broker.claim("w1", ["default"], 2, at(0), 10)}
    renewal = broker.renew("w1", held, at(8), lease_seconds=10)
    assert renewal.lost == set() and renewal.cancel_requested == set()
    assert broker.claim("w2", ["default"], 2, at(15)) == []
    assert len(broker.claim("w2", ["default"], 2, at(18))) == 2
    assert broker.renew("w1", held, at(19)).lost == {"a", "b"}


def test_renew_by_another_worker_is_refused(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a")])
    (delivery,) = broker.claim("w1", ["default"], 1, at(0), 10)
    assert broker.renew("w2", {"a": delivery.token}, at(1)).lost == {"a"}
    assert broker.renew("w1", {"a": delivery.token, "nope": 1}, at(1)).lost == {"nope"}


def test_max_deliveries_ends_a_run_that_keeps_losing_its_worker(broker: BaseBroker) -> None:
    broker.enqueue([envelope("crash", max_deliveries=2), envelope("fine")])
    assert ids(broker.claim("w", ["default"], 1, at(0), 10)) == ["crash"]
    assert ids(broker.claim("w", ["default"], 1, at(10), 10)) == ["crash"]
    assert ids(broker.claim("w", ["default"], 1, at(20), 10)) == ["fine"]
    run = broker.get_run("crash")
    assert run is not None and run.status is RunStatus.FAILED and run.error is not None
    assert "each of 2 deliveries" in run.error.message and run.finished_at == at(20)
    assert run.deliveries == 2


def test_a_run_ended_for_losing_its_worker_is_told_to_failure_listeners(
    broker: BaseBroker,
) -> None:
    told: list[list[tuple[str, RunError]]] = []
    broker.add_failure_listener(told.append)
    broker.enqueue([envelope("crash", max_deliveries=1), envelope("fine")])
    assert ids(broker.claim("w", ["default"], 1, at(0), 10)) == ["crash"]
    assert ids(broker.claim("w", ["default"], 1, at(5), 10)) == ["fine"]
    assert told == []  # a lease that holds ends nothing
    assert broker.claim("w", ["default"], 5, at(10), 10) == []  # "fine" still leased
    ((run_id, error),) = [failure for batch in told for failure in batch]
    assert run_id == "crash" and error.type == "WorkerLost"
    assert "each of 1 deliveries" in error.message
    run = broker.get_run("crash")
    assert run is not None and run.status is RunStatus.FAILED and run.error == error


def test_a_run_whose_lease_expired_goes_back_in_line(broker: BaseBroker) -> None:
    broker.enqueue([envelope("old", priority=-5)])
    broker.claim("w1", ["default"], 1, at(0), 10)
    broker.enqueue([envelope("new", priority=5)])
    assert ids(broker.claim("w2", ["default"], 1, at(11))) == ["new"]
    run = broker.get_run("old")
    assert run is not None and run.status is RunStatus.PENDING and run.deliveries == 1
    assert ids(broker.claim("w2", ["default"], 1, at(11))) == ["old"]


# -- retries, give back, progress, cancel ---------------------------------------------------


def test_a_retry_waits_in_the_broker_until_its_time(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a", max_retries=1)])
    (first,) = broker.claim("w1", ["default"], 1, at(0))
    assert first.retry_at(at(1)) is not None
    assert broker.retry("a", first.token, ERROR, at(60)) is True
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.RETRYING and run.error == ERROR
    assert run.scheduled_at == at(60)
    assert broker.claim("w2", ["default"], 1, at(59)) == []
    (second,) = broker.claim("w2", ["default"], 1, at(60))
    assert second.attempt == 2 and second.token > first.token
    assert second.retry_at(at(61)) is None  # max_retries=1 used up
    assert broker.fail("a", second.token, ERROR, at(61)) is True
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.FAILED and run.attempt == 2


def test_give_back_does_not_count_toward_max_deliveries(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a", max_deliveries=1)])
    (first,) = broker.claim("w1", ["default"], 1, at(0), 10)
    assert broker.give_back("a", first.token) is True
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.PENDING and run.attempt == 0
    (second,) = broker.claim("w2", ["default"], 1, at(1), 10)
    assert second.attempt == 1 and second.token > first.token
    assert broker.claim("w3", ["default"], 1, at(11), 10) == []  # its one lost delivery
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.FAILED


def test_progress_is_recorded_for_the_holder(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a")])
    (delivery,) = broker.claim("w", ["default"], 1, at(0))
    assert broker.progress("a", delivery.token, 42.5, "half way") is True
    run = broker.get_run("a")
    assert run is not None and (run.progress, run.message) == (42.5, "half way")
    with pytest.raises(ValueError, match="percent"):
        broker.progress("a", delivery.token, 101, None)


def test_cancel_a_waiting_run_at_once(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a"), envelope("b", due=at(100))])
    assert broker.cancel("a", at(1)) is CancelOutcome.CANCELLED
    assert broker.cancel("b", at(1)) is CancelOutcome.CANCELLED
    assert broker.cancel("a", at(2)) is CancelOutcome.FINISHED
    assert broker.cancel("nope", at(2)) is CancelOutcome.UNKNOWN
    assert broker.claim("w", ["default"], 10, at(200)) == []
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.CANCELLED and run.finished_at == at(1)


def test_cancel_a_running_run_through_its_worker(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a")])
    (delivery,) = broker.claim("w", ["default"], 1, at(0))
    assert broker.cancel("a", at(1)) is CancelOutcome.REQUESTED
    assert broker.renew("w", {"a": delivery.token}, at(2)).cancel_requested == {"a"}
    stopped = RunError("CancelledError", "cancelled")
    assert broker.fail("a", delivery.token, stopped, at(3), status=RunStatus.CANCELLED)
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.CANCELLED and run.error == stopped


def test_a_cancelled_run_whose_worker_died_is_not_delivered_again(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a")])
    broker.claim("w", ["default"], 1, at(0), 10)
    assert broker.cancel("a", at(1)) is CancelOutcome.REQUESTED
    assert broker.claim("w2", ["default"], 1, at(11)) == []
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.CANCELLED


def test_fail_takes_only_final_statuses(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a")])
    (delivery,) = broker.claim("w", ["default"], 1, at(0))
    with pytest.raises(ValueError, match="status"):
        broker.fail("a", delivery.token, ERROR, at(1), status=RunStatus.COMPLETED)
    assert broker.fail("a", delivery.token, ERROR, at(1), status=RunStatus.TIMEOUT)
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.TIMEOUT


# -- results ------------------------------------------------------------------------------


def test_results_round_trip(broker: BaseBroker) -> None:
    broker.enqueue([envelope("a")])
    (delivery,) = broker.claim("w", ["default"], 1, at(0))
    result = {"rows": [1, 2, 3], "when": at(5), "ok": True}
    assert broker.complete("a", delivery.token, result, at(1))
    run = broker.get_run("a")
    assert run is not None and run.result == result and run.progress == 100


def test_an_unencodable_result_is_kept_as_a_note(backend: BrokerBackend) -> None:
    broker = backend.make()
    broker.enqueue([envelope("a")])
    (delivery,) = broker.claim("w", ["default"], 1, at(0))
    lock = threading.Lock()
    assert broker.complete("a", delivery.token, lock, at(1)) is True
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.COMPLETED
    if backend.encodes:
        assert isinstance(run.result, UnstoredResult) and "lock" in run.result.reason
    else:
        assert run.result is lock


# -- reading, counting, cleaning ----------------------------------------------------------


def test_list_runs_by_queue_and_status(broker: BaseBroker) -> None:
    broker.enqueue([envelope(f"r{i}", queue="q" if i % 2 else "default",
                             created_at=at(i)) for i in range(6)])  # fmt: skip
    (delivery,) = broker.claim("w", ["q"], 1, at(10))
    assert delivery.run_id == "r1"
    assert [run.id for run in broker.list_runs(queue="q")] == ["r5", "r3", "r1"]
    assert [run.id for run in broker.list_runs(status="running")] == ["r1"]
    assert [run.id for run in broker.list_runs(queue="q", status=RunStatus.PENDING)] == [
        "r5", "r3"]  # fmt: skip
    assert len(broker.list_runs(limit=4)) == 4
    broker.enqueue([envelope("older", created_at=at(-100))])
    assert broker.list_runs()[-1].id == "older"  # newest first by creation, not by enqueue
    assert broker.get_run("nope") is None


def test_stats_count_each_state_per_queue(broker: BaseBroker) -> None:
    broker.enqueue([
        envelope("p0"), envelope("p0b"), envelope("p5", priority=5),
        envelope("later", due=at(100)), envelope("run", priority=9),
        envelope("done", priority=8), envelope("bad", priority=7),
        envelope("retry", priority=6), envelope("off", queue="other"),
    ])  # fmt: skip
    tokens = {d.run_id: d.token for d in broker.claim("w", ["default"], 4, at(1))}
    assert set(tokens) == {"run", "done", "bad", "retry"}
    broker.complete("done", tokens["done"], 1, at(2))
    broker.fail("bad", tokens["bad"], ERROR, at(2))
    broker.retry("retry", tokens["retry"], ERROR, at(50))
    broker.cancel("off", at(2))
    stats = broker.stats(at(3))
    main = stats["default"]
    assert main.pending == {0: 2, 5: 1} and main.scheduled == 1 and main.running == 1
    assert (main.completed, main.failed, main.retrying, main.cancelled) == (1, 1, 1, 0)
    assert main.waiting == 5
    assert stats["other"].cancelled == 1 and stats["other"].pending == {}


def test_cleanup_deletes_only_runs_finished_before(broker: BaseBroker) -> None:
    broker.enqueue([envelope(run_id, created_at=at(i)) for i, run_id in
                    enumerate(["old", "new", "waiting", "busy"])])  # fmt: skip
    tokens = {d.run_id: d.token for d in broker.claim("w", ["default"], 3, at(5))}
    broker.complete("old", tokens["old"], None, at(10))
    broker.fail("new", tokens["new"], ERROR, at(30))
    assert broker.cleanup(at(20)) == 1
    assert broker.get_run("old") is None
    assert {run.id for run in broker.list_runs()} == {"new", "waiting", "busy"}
    assert broker.cleanup(at(1000)) == 1


# -- many workers -------------------------------------------------------------------------


def test_racing_claimers_never_get_the_same_run(backend: BrokerBackend) -> None:
    brokers = [backend.make() for _ in range(4)]
    brokers[0].enqueue([envelope(f"r{i}") for i in range(200)])
    got: list[list[str]] = [[] for _ in brokers]
    barrier = threading.Barrier(len(brokers))

    def claimer(index: int) -> None:
        barrier.wait()
        while True:
            batch = ids(brokers[index].claim(f"w{index}", ["default"], 7, at(1), 60))
            if not batch:
                return
            got[index].extend(batch)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(len(brokers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    claimed = [run_id for batch in got for run_id in batch]
    assert len(claimed) == 200 and len(set(claimed)) == 200


def test_wait_for_work_wakes_on_an_enqueue_elsewhere(backend: BrokerBackend) -> None:
    waiter, sender = backend.make(poll_interval=0.2), backend.make()
    assert waiter.wait_for_work(["wake"], 0.05) is False  # nothing there (and listening)
    woke: list[float] = []

    def wait() -> None:
        started = time.monotonic()
        if waiter.wait_for_work(["wake"], 20):
            woke.append(time.monotonic() - started)

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.3)  # the waiter is waiting
    sender.enqueue([envelope("new", queue="wake", created_at=None)])
    thread.join(25)
    assert woke and woke[0] < 10  # generous: a polling backend wakes within its interval


def waiting_in_a_thread(broker: BaseBroker, ended: list[tuple[bool, float]]) -> threading.Thread:
    """A thread in ``broker.wait_for_work(["calm"], 30)``, which notes its answer and when."""

    def wait() -> None:
        ended.append((broker.wait_for_work(["calm"], 30), time.monotonic()))

    thread = threading.Thread(target=wait)
    thread.start()
    thread.join(0.3)  # it is waiting by now
    assert thread.is_alive() and not ended
    return thread


def test_interrupt_wait_ends_a_wait_going_on(broker: BaseBroker) -> None:
    assert broker.wait_for_work(["calm"], 0.05) is False  # connected, listening
    ended: list[tuple[bool, float]] = []
    thread = waiting_in_a_thread(broker, ended)
    asked = time.monotonic()
    broker.interrupt_wait()
    thread.join(10)
    assert ended and ended[0][0] is False
    assert ended[0][1] - asked < 0.2


def test_interrupt_wait_before_a_wait_ends_the_next_one_only(broker: BaseBroker) -> None:
    broker.interrupt_wait()
    started = time.monotonic()
    assert broker.wait_for_work(["calm"], 30) is False
    assert time.monotonic() - started < 0.2
    started = time.monotonic()
    assert broker.wait_for_work(["calm"], 0.2) is False
    assert time.monotonic() - started > 0.15  # the interrupt was used up


def test_interrupt_wait_leaves_the_waits_of_other_brokers_alone(backend: BrokerBackend) -> None:
    if not backend.shared:
        pytest.skip("one broker object per process: no other broker shares its storage")
    mine, other = backend.make(poll_interval=0.2), backend.make(poll_interval=0.2)
    for broker in (mine, other):
        assert broker.wait_for_work(["calm"], 0.05) is False  # connected, listening
    mine_ended: list[tuple[bool, float]] = []
    other_ended: list[tuple[bool, float]] = []
    mine_thread = waiting_in_a_thread(mine, mine_ended)
    other_thread = waiting_in_a_thread(other, other_ended)
    mine.interrupt_wait()  # its message (if any) reaches the other's connection too
    mine_thread.join(10)
    assert mine_ended and mine_ended[0][0] is False
    other_thread.join(0.3)
    assert other_thread.is_alive() and not other_ended  # still waiting
    other.enqueue([envelope("new", queue="calm", created_at=None)])
    other_thread.join(25)
    assert other_ended and other_ended[0][0] is True


def test_wait_for_work_times_out_without_work(broker: BaseBroker) -> None:
    started = time.monotonic()
    assert broker.wait_for_work(["quiet"], 0.2) is False
    assert 0.15 < time.monotonic() - started < 5


def test_a_broker_is_built_from_its_config(backend: BrokerBackend) -> None:
    if not backend.shared:
        pytest.skip("an in-process broker has no config another process could use")
    from asyncz_like.brokers import make_broker

    broker = make_broker(backend.config())
    broker.start()
    try:
        backend.make().enqueue([envelope("a")])
        run = broker.get_run("a")
        assert run is not None and run.status is RunStatus.PENDING
    finally:
        broker.shutdown()
