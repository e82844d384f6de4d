"""The Redis broker's stats: the memory broker's counts on every path a run takes, from
sets counted by priority rather than from the runs themselves, and from a database made
without those sets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncz_like.brokers import BaseBroker, MemoryBroker
from asyncz_like.brokers.records import Finish, QueueStats
from asyncz_like.brokers.redis import RedisBroker
from tests.brokers.backends import RedisBackend, made_backend
from tests.brokers.test_contract import ERROR, at, envelope

#: The moments (seconds after START) each look counts at: before, between and after dues.
MOMENTS = (0, 5, 30, 45, 60, 200)


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


def scenario(broker: BaseBroker) -> Iterator[list[dict[str, QueueStats]]]:
    """Runs through every path (enqueue now, later and by a clock ahead, claim, retry one and
    many, give back, cancel pending and retrying, lease expiry, dead letter, cleanup); after
    each step, the stats at each of MOMENTS."""

    def look() -> list[dict[str, QueueStats]]:
        return [broker.stats(at(seconds)) for seconds in MOMENTS]

    broker.enqueue([
        *(envelope(f"n{i}", priority=i % 3 - 1) for i in range(6)),
        *(envelope(f"d{i}", due=at(20 + 10 * i), priority=2 + i % 2) for i in range(4)),
        envelope("big", priority=2**62), envelope("q", queue="other", due=at(40)),
        envelope("dead", priority=5, max_deliveries=1), envelope("lost", priority=4),
    ], now=at(1))  # fmt: skip
    broker.enqueue([envelope("ahead", due=at(50), priority=1)], now=at(100))  # ready, not due
    yield look()
    held = {d.run_id: d.token for d in broker.claim("w", ["default"], 4, at(2), 5)}
    assert set(held) == {"big", "dead", "lost", "n2"}
    assert broker.retry("big", held["big"], ERROR, at(30))
    assert broker.give_back("n2", held["n2"])
    yield look()
    # dead and lost come back (dead ended FAILED), "ahead" goes back to the later set
    held = {d.run_id: d.token for d in broker.claim("w", ["default"], 4, at(10), 100)}
    assert {"lost", "n2", "n5"} < set(held) and "ahead" not in held
    assert broker.finish_many([
        Finish.completed("lost", held["lost"], 1, at(11)),
        Finish.retried("n2", held["n2"], ERROR, at(60)),
        Finish.failed("n5", held["n5"], ERROR, at(11)),
    ]) == [True] * 3  # fmt: skip
    yield look()
    for run_id in ("d1", "big", "n0"):  # pending later, retrying, pending ready
        broker.cancel(run_id, at(12))
    yield look()
    held = {d.run_id: d.token for d in broker.claim("w", ["default"], 2, at(35), 5)}
    assert set(held) == {"d0", "n4"}  # d0 moved due; n4's lease will end
    assert broker.retry("d0", held["d0"], ERROR, at(45))
    yield look()
    held = {d.run_id: d.token for d in broker.claim("w", ["default"], 1, at(55), 100)}
    assert set(held) == {"d3"}  # n4 back in line; d0 (retrying), d2, "ahead" moved to ready
    yield look()
    (other,) = broker.claim("w", ["other"], 1, at(45))
    assert broker.complete("q", other.token, None, at(46))
    held = {d.run_id: d.token for d in broker.claim("w", ["default"], 2, at(60), 100)}
    assert set(held) == {"d2", "d0"}  # d0: a retrying run leased from the ready set
    for run_id, token in held.items():
        assert broker.complete(run_id, token, None, at(61))
    assert broker.cleanup(at(50)) > 0
    yield look()


def test_stats_are_the_memory_brokers_on_every_path(broker: RedisBroker) -> None:
    for step, (got, want) in enumerate(zip(scenario(broker), scenario(MemoryBroker()),
                                           strict=True)):  # fmt: skip
        assert got == want, f"after step {step}"


def by_priority_sets(broker: RedisBroker) -> dict[str, set[bytes]]:
    """The later-pr and retrying-pr sets of the queue ``default``."""
    client, prefix = broker.client, broker.prefix
    return {kind: set(client.zrange(f"{prefix}:{kind}:default", 0, -1))
            for kind in ("later-pr", "retrying-pr")}  # fmt: skip


def test_the_by_priority_sets_hold_the_later_and_retrying_runs(broker: RedisBroker) -> None:
    client, prefix = broker.client, broker.prefix
    steps = scenario(broker)
    for _ in steps:
        later = client.zrange(f"{prefix}:later:default", 0, -1)
        retrying = [member[32:] for member in
                    client.zrange(f"{prefix}:status:retrying:default", 0, -1)]  # fmt: skip
        rank = {run_id: client.hmget(f"{prefix}:run:{run_id.decode()}", "rk", "due")
                for run_id in [member[16:] for member in later] + retrying}  # fmt: skip
        assert by_priority_sets(broker) == {
            "later-pr": {rank[m[16:]][0] + m for m in later},
            "retrying-pr": {b"".join(rank[run_id]) + run_id for run_id in retrying},
        }


def test_stats_read_no_run(broker: RedisBroker) -> None:
    steps = scenario(broker)
    for _ in range(3):
        counted = next(steps)
    runs = list(broker.client.scan_iter(f"{broker.prefix}:run:*"))
    broker.client.delete(*runs)
    assert [broker.stats(at(seconds)) for seconds in MOMENTS] == counted


def test_a_database_without_the_sets_is_counted_then_indexed_at_start(
    backend: RedisBackend, broker: RedisBroker
) -> None:
    steps = scenario(broker)
    for _ in range(5):
        counted = next(steps)
    built = by_priority_sets(broker)
    assert all(built.values())
    broker.client.delete(*[f"{broker.prefix}:{kind}:default" for kind in built])
    assert [broker.stats(at(seconds)) for seconds in MOMENTS] == counted  # each run read
    backend.make()  # its start() builds the sets again
    assert by_priority_sets(broker) == built
    assert [broker.stats(at(seconds)) for seconds in MOMENTS] == counted


def test_a_start_without_redis_goes_on_without_the_sets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    broker = RedisBroker(host="127.0.0.1", port=port)
    try:
        broker.start()  # no retries: the sets are checked again at the next start
    finally:
        broker.shutdown()
    assert "Could not check the sets stats() counts" in caplog.text
