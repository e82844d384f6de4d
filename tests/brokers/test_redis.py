"""What the Redis broker does beyond the contract: its keys, its scripts' atomicity and
retries, its waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.brokers import WorkerInfo, make_broker
from asyncz_like.brokers.records import Finish, lost_reason
from asyncz_like.brokers.redis import RedisBroker
from asyncz_like.brokers.redis.broker import FINISH_CHUNK
from asyncz_like.brokers.redis.layout import from_time_hex, priority_hex, time_hex
from asyncz_like.runs import RunError, RunStatus
from tests.brokers.backends import RedisBackend, made_backend
from tests.brokers.test_contract import ERROR, at, envelope, ids


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[RedisBackend]:
    with made_backend("redis", tmp_path) as made:
        assert isinstance(made, RedisBackend)
        yield made


@pytest.fixture
def broker(backend: RedisBackend) -> RedisBroker:
    made = backend.make()
    assert isinstance(made, RedisBroker)
    return made


def members(broker: RedisBroker, kind: str, queue: str = "default") -> list[bytes]:
    return list(broker.client.zrange(f"{broker.prefix}:{kind}:{queue}", 0, -1))


def test_times_and_priorities_sort_as_their_strings() -> None:
    moments = [datetime(1, 1, 1, tzinfo=UTC), datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
               at(0), at(0.000001), datetime(9999, 12, 31, tzinfo=UTC)]  # fmt: skip
    assert sorted(moments, key=time_hex) == moments
    assert [from_time_hex(time_hex(moment)) for moment in moments] == moments
    priorities = [2**63 - 1, 10, 0, -1, -(2**63)]
    assert sorted(priorities, key=priority_hex) == priorities
    assert {len(time_hex(moment)) for moment in moments} == {16}


def test_racing_claimers_on_many_queues_get_each_run_once(backend: RedisBackend) -> None:
    brokers = [backend.make() for _ in range(8)]
    brokers[0].enqueue([envelope(f"r{i}", queue=f"q{i % 3}", priority=i % 5)
                        for i in range(600)])  # fmt: skip
    got: list[list[tuple[str, int]]] = [[] for _ in brokers]
    barrier = threading.Barrier(len(brokers))

    def claimer(index: int) -> None:
        barrier.wait()
        while batch := brokers[index].claim(f"w{index}", ["q0", "q1", "q2"], 5, at(1), 60):
            for delivery in batch:
                got[index].append((delivery.run_id, delivery.token))
                assert brokers[index].complete(delivery.run_id, delivery.token, None, at(2))

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(len(brokers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    claimed = [pair for batch in got for pair in batch]
    assert len(claimed) == 600 and {run_id for run_id, _ in claimed} == {
        f"r{i}" for i in range(600)}  # fmt: skip
    assert {token for _, token in claimed} == {1}
    assert sum(stats.completed for stats in brokers[0].stats(at(3)).values()) == 600


def test_a_claim_takes_back_an_expired_lease_of_its_queues_only(broker: RedisBroker) -> None:
    broker.enqueue([envelope("a"), envelope("b", queue="other")])
    (first,) = broker.claim("w1", ["default"], 1, at(0), lease_seconds=10)
    broker.claim("w1", ["other"], 1, at(0), lease_seconds=10)
    assert members(broker, "leases") == [f"{time_hex(at(10))}a".encode()]
    assert broker.claim("w2", ["default"], 1, at(9.999999), lease_seconds=10) == []
    (second,) = broker.claim("w2", ["default"], 1, at(10), lease_seconds=10)
    assert (second.run_id, second.token, second.attempt) == ("a", 2, 2)
    assert members(broker, "leases") == [f"{time_hex(at(20))}a".encode()]
    assert broker.renew("w1", {"a": first.token}, at(11)).lost == {"a"}
    other = broker.get_run("b")
    assert other is not None and other.status is RunStatus.RUNNING  # not claimed from "other"
    assert broker.client.hget(f"{broker.prefix}:run:a", "lost") == b"1"


def test_the_lost_reason_is_the_contracts(broker: RedisBroker) -> None:
    broker.enqueue([envelope("a", max_deliveries=3)])
    for second in (0, 10, 20, 30):
        broker.claim("w", ["default"], 1, at(second), lease_seconds=10)
    run = broker.get_run("a")
    assert run is not None and run.error is not None and run.status is RunStatus.FAILED
    assert (run.error.type, run.error.message) == ("WorkerLost", lost_reason(3))


def test_a_run_enqueued_by_a_clock_ahead_waits_for_its_time(broker: RedisBroker) -> None:
    broker.enqueue([envelope("a", due=at(50))], now=at(100))
    assert len(members(broker, "ready")) == 1  # due by the enqueuer's clock
    assert broker.claim("w", ["default"], 5, at(10)) == []
    assert members(broker, "ready") == [] and len(members(broker, "later")) == 1
    assert ids(broker.claim("w", ["default"], 5, at(50))) == ["a"]


def test_finished_runs_leave_no_key_behind_after_cleanup(broker: RedisBroker) -> None:
    broker.enqueue([envelope(f"r{i}", queue=f"q{i % 2}", max_retries=1) for i in range(6)])
    done = broker.claim("w", ["q0", "q1"], 6, at(1))
    for delivery in done[:3]:
        broker.complete(delivery.run_id, delivery.token, {"n": 1}, at(2))
    for delivery in done[3:]:
        broker.retry(delivery.run_id, delivery.token, ERROR, at(3))
    for delivery in broker.claim("w", ["q0", "q1"], 6, at(3)):
        broker.fail(delivery.run_id, delivery.token, ERROR, at(4))
    # a completed run's work is gone at once; a failed run's waits for cleanup (a retry)
    works = {key.decode() for key in broker.client.scan_iter(f"{broker.prefix}:work:*")}
    assert works == {f"{broker.prefix}:work:{d.run_id}" for d in done[3:]}
    assert broker.cleanup(at(5)) == 6
    left = {key.decode() for key in broker.client.scan_iter(f"{broker.prefix}:*")}
    assert left == {f"{broker.prefix}:{name}" for name in ("queues", "seq")}


def test_workers_unregistered_or_cleaned_up_leave_no_key_behind(broker: RedisBroker) -> None:
    for worker_id in ("stops", "dies"):
        broker.register_worker(WorkerInfo(worker_id, "h", 1, ("q",), 2, at(0), at(0)), at(0))
    assert broker.unregister_worker("stops") is True
    broker.cleanup(at(1))
    assert list(broker.client.scan_iter(f"{broker.prefix}:worker*")) == []


class _LoseReplies:
    """Runs a script, then raises a connection error as if its reply was lost (``times``)."""

    def __init__(self, runner: Any, times: int) -> None:
        self.runner, self.times = runner, times

    def __call__(self, script: Any, keys: Any, args: Any) -> Any:
        reply = self.runner(script, keys, args)
        if self.times:
            self.times -= 1
            import redis

            raise redis.exceptions.ConnectionError("reply lost")
        return reply


def _lose_replies(broker: RedisBroker, name: str, times: int = 1) -> None:
    script = getattr(broker, name)
    object.__setattr__(script, "runner", _LoseReplies(script.runner, times))


def test_a_retried_finish_whose_first_try_went_through_is_true(broker: RedisBroker) -> None:
    broker.retry_first_wait = 0.001
    broker.enqueue([envelope("a"), envelope("b")])
    first, second = broker.claim("w", ["default"], 2, at(0))
    _lose_replies(broker, "_finish")
    assert broker.complete("a", first.token, "ok", at(1)) is True
    _lose_replies(broker, "_finish")
    assert broker.fail("b", second.token, ERROR, at(1)) is True
    run = broker.get_run("a")
    assert run is not None and run.status is RunStatus.COMPLETED and run.result == "ok"
    assert broker.complete("a", first.token, "again", at(2)) is False  # not a retry: refused


def test_a_retried_batch_of_finishes_whose_first_try_went_through_is_true(
    broker: RedisBroker,
) -> None:
    broker.retry_first_wait = 0.001
    broker.enqueue([envelope("a"), envelope("b", max_retries=1), envelope("c")])
    first, second, third = broker.claim("w", ["default"], 3, at(0))
    _lose_replies(broker, "_finish_many")
    answers = broker.finish_many([
        Finish.completed("a", first.token, "ok", at(1)),
        Finish.retried("b", second.token, ERROR, at(5)),
        Finish.completed("c", third.token + 1, "stale", at(1)),
    ])  # fmt: skip
    assert answers == [True, True, False]
    statuses = [broker.get_run(run_id) for run_id in "abc"]
    assert [run.status if run else None for run in statuses] == [
        RunStatus.COMPLETED, RunStatus.RETRYING, RunStatus.RUNNING,
    ]  # fmt: skip
    assert ids(broker.claim("w", ["default"], 3, at(5))) == ["b"]


def test_finish_many_ends_more_runs_than_one_script_call_takes(broker: RedisBroker) -> None:
    count = FINISH_CHUNK + 3
    broker.enqueue([envelope(f"r{i}") for i in range(count)])
    deliveries = broker.claim("w", ["default"], count, at(0))
    finishes = [Finish.completed(d.run_id, d.token, i, at(1)) for i, d in enumerate(deliveries)]
    assert broker.finish_many(finishes) == [True] * count
    assert broker.stats(at(2))["default"].completed == count
    last = broker.get_run(deliveries[-1].run_id)
    assert last is not None and last.result == count - 1


def test_a_retried_enqueue_whose_first_try_went_through_is_true(broker: RedisBroker) -> None:
    broker.retry_first_wait = 0.001
    broker.enqueue([envelope("old")])
    _lose_replies(broker, "_enqueue")
    assert broker.enqueue([envelope("old"), envelope("new")]) == [False, True]


def test_an_enqueue_is_one_script_call_whatever_its_size(broker: RedisBroker) -> None:
    """All or nothing: no other client sees part of a batch, and a client lost midway
    leaves none of it (the script runs once the whole call is in)."""
    calls: list[int] = []
    script = broker._enqueue
    runner = script.runner

    def counted(lua: Any, keys: Any, args: Any) -> Any:
        calls.append(len(args))
        return runner(lua, keys, args)

    object.__setattr__(script, "runner", counted)
    broker.enqueue([envelope("taken")])
    later = at(0) + timedelta(hours=1)
    batch = [envelope(f"r{i}", queue=f"q{i % 2}", due=later if i % 3 == 0 else None,
                      task_id="t" if i % 5 == 0 else None) for i in range(4100)]  # fmt: skip
    # 2,050 runs a queue: the script writes its sets and works in several calls
    added = broker.enqueue([*batch[:2050], envelope("taken"), *batch[2050:]], now=at(0))
    assert added == [True] * 2050 + [False] + [True] * 2050
    assert len(calls) == 2 and calls[1] == 3 + 6 * 4101
    for queue in ("q0", "q1"):
        ready, waiting = members(broker, "ready", queue), members(broker, "later", queue)
        assert len(ready) + len(waiting) == 2050 and len(waiting) == 684 - (queue == "q1")
        assert len(members(broker, "status:pending", queue)) == 2050
    last = broker.get_envelope("r4099")
    assert last is not None and last.args == batch[-1].args and last.queue == "q1"
    run = broker.get_run("r5")
    assert run is not None and run.task_id == "t" and run.attempt == 0 and run.progress == 0
    assert run.status is RunStatus.PENDING and run.queue == "q1" and run.deliveries == 0
    assert run.scheduled_at == run.created_at
    delayed = broker.get_run("r3")
    assert delayed is not None and delayed.scheduled_at == later


def test_a_run_whose_work_cannot_be_read_is_failed_not_delivered(broker: RedisBroker) -> None:
    told: list[list[tuple[str, RunError]]] = []
    broker.add_failure_listener(told.append)
    broker.enqueue([envelope("bad"), envelope("good")])
    broker.client.set(f"{broker.prefix}:work:bad", b"not json")
    assert ids(broker.claim("w", ["default"], 5, at(0))) == ["good"]
    run = broker.get_run("bad")
    assert run is not None and run.status is RunStatus.FAILED and run.error is not None
    assert run.error.type == "BrokenRecordError"
    assert told == [[("bad", RunError(run.error.type, run.error.message))]]


def test_list_runs_merges_queues_newest_first(broker: RedisBroker) -> None:
    broker.enqueue([envelope(f"r{i}", queue=f"q{i % 3}", created_at=at(i)) for i in range(9)])
    (delivery,) = broker.claim("w", ["q1"], 1, at(20))
    broker.complete(delivery.run_id, delivery.token, None, at(21))
    assert [run.id for run in broker.list_runs(limit=5)] == ["r8", "r7", "r6", "r5", "r4"]
    assert [run.id for run in broker.list_runs(status="completed")] == ["r1"]
    assert broker.list_runs(limit=0) == []


def test_wait_for_work_ends_when_a_delayed_run_falls_due(broker: RedisBroker) -> None:
    due = datetime.now(UTC) + timedelta(seconds=0.3)
    broker.enqueue([envelope("later", queue="soon", due=due, created_at=None)])
    started = time.monotonic()
    assert broker.wait_for_work(["soon"], 10) is True
    assert 0.2 < time.monotonic() - started < 5


def test_built_from_a_url_and_checked(broker: RedisBroker) -> None:
    built = make_broker("redis://127.0.0.1:6379/0")
    assert isinstance(built, RedisBroker) and built.prefix == "asyncz_like.broker"
    assert "127.0.0.1:6379" in repr(built)
    built.shutdown()
    with pytest.raises(TypeError, match="prefix"):
        RedisBroker(prefix="")
    with pytest.raises(TypeError, match="colour"):
        RedisBroker(colour="red")
    with pytest.raises(TypeError, match="poll_interval"):
        RedisBroker(poll_interval="fast")  # type: ignore[arg-type]


def test_a_retried_claim_whose_first_try_went_through_gets_its_runs(
    broker: RedisBroker,
) -> None:
    broker.retry_first_wait = 0.001
    broker.enqueue([envelope("low", queue="a"), envelope("high", queue="b", priority=5),
                    envelope("left", queue="a")])  # fmt: skip
    _lose_replies(broker, "_claim")
    claimed = broker.claim("w", ["a", "b"], 2, at(0), lease_seconds=10)
    assert [(d.run_id, d.token, d.attempt) for d in claimed] == [("high", 1, 1), ("low", 1, 1)]
    assert ids(broker.claim("w2", ["a", "b"], 5, at(1))) == ["left"]
    assert broker.complete("low", claimed[1].token, None, at(2)) is True


def test_waits_and_calls_come_back_after_an_outage(backend: RedisBackend) -> None:
    from tests.proxy import TcpProxy
    from tests.services import REDIS_HOST, REDIS_PORT

    proxy = TcpProxy(REDIS_HOST, REDIS_PORT).start()
    try:
        broker = backend.make(host="127.0.0.1", port=proxy.port, poll_interval=0.1)
        assert isinstance(broker, RedisBroker)
        broker.retry_first_wait = 0.05
        sender = backend.make()
        assert broker.wait_for_work(["q"], 0.05) is False  # subscribed through the proxy
        proxy.stop()
        started = time.monotonic()
        assert broker.wait_for_work(["q"], 10) is True  # broken: the worker claims at once
        assert time.monotonic() - started < 5
        threading.Timer(0.3, proxy.start).start()
        assert broker.enqueue([envelope("a", queue="q")]) == [True]  # retried until back
        assert ids(broker.claim("w", ["q"], 5, at(1))) == ["a"]
        woke: list[bool] = []
        thread = threading.Thread(target=lambda: woke.append(broker.wait_for_work(["q"], 20)))
        thread.start()
        time.sleep(0.3)  # subscribed again
        sender.enqueue([envelope("b", queue="q")])
        thread.join(25)
        assert woke == [True]
    finally:
        proxy.stop()


def test_an_idle_wait_asks_redis_once_and_ignores_other_queues(backend: RedisBackend) -> None:
    waiter, sender = backend.make(), backend.make()
    assert isinstance(waiter, RedisBroker) and waiter._waiter is not None
    asked: list[tuple[str, ...]] = []
    next_work = waiter._waiter.next_work

    def counting(queues: tuple[str, ...]) -> Any:
        asked.append(queues)
        return next_work(queues)

    waiter._waiter.next_work = counting
    threading.Timer(0.1, lambda: sender.enqueue([envelope("x", queue="elsewhere")])).start()
    started = time.monotonic()
    assert waiter.wait_for_work(["idle"], 0.6) is False
    assert time.monotonic() - started >= 0.55 and asked == [("idle",)]
