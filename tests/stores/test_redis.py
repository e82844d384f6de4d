"""The Redis store beyond the contract: concurrent claims, leases, lost connections, options."""

from __future__ import annotations

import dataclasses
import logging
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from asyncz_like.exceptions import ConflictIdError, MissingDependencyError
from asyncz_like.serializers import decoded as decoded_module
from asyncz_like.serializers import encode_task
from asyncz_like.serializers import tasks as tasks_module
from asyncz_like.stores import STORES
from asyncz_like.tasks import Task
from tests import services
from tests.helpers import START, FakeClock, make_task
from tests.services import REDIS_HOST, REDIS_PORT, require_service
from tests.store_hooks import overwrite_record

redis = pytest.importorskip("redis")

from asyncz_like.stores.redis import RedisStore  # noqa: E402  # after the importorskip

pytestmark = pytest.mark.service

MakeStore = Callable[..., RedisStore]


def epoch(offset: float) -> float:
    return (START + timedelta(seconds=offset)).timestamp()


@pytest.fixture
def admin() -> Iterator[Any]:
    require_service("redis")
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    yield client
    client.close()


@pytest.fixture
def prefix(admin: Any) -> Iterator[str]:
    prefix = f"test.{uuid.uuid4().hex[:10]}"
    yield prefix
    keys = list(admin.scan_iter(f"{prefix}.*"))
    if keys:
        admin.delete(*keys)


@pytest.fixture
def make(prefix: str) -> Iterator[MakeStore]:
    made: list[RedisStore] = []

    def make(**options: Any) -> RedisStore:
        options.setdefault("host", REDIS_HOST)
        options.setdefault("port", REDIS_PORT)
        store = RedisStore(
            tasks_key=f"{prefix}.tasks", run_times_key=f"{prefix}.run_times", **options
        )
        made.append(store)
        return store

    yield make
    for store in made:
        store.shutdown()


def test_four_stores_claim_each_of_1000_tasks_exactly_once(make: MakeStore) -> None:
    stores = [make() for _ in range(4)]
    for i in range(1000):
        stores[0].add_task(make_task(f"t{i}", i / 1000))
    now, barrier = START + timedelta(seconds=10), threading.Barrier(4)
    claimed: list[list[str]] = [[] for _ in stores]

    def claim(index: int) -> None:
        barrier.wait()
        while batch := stores[index].acquire_due_tasks(now, 25):
            claimed[index].extend(task.id for task in batch)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = Counter(task_id for ids in claimed for task_id in ids)
    assert len(counts) == 1000 and set(counts.values()) == {1}
    for ids in claimed:  # each batch comes earliest first
        assert ids == sorted(ids, key=lambda task_id: int(task_id[1:]))


def test_lease_is_taken_over_once_it_expires(make: MakeStore, clock: FakeClock) -> None:
    one, two = make(lease_seconds=30), make(lease_seconds=30)
    one.add_task(make_task("l", 10))
    clock.advance(10)
    assert [t.id for t in one.acquire_due_tasks(clock.now(), 10)] == ["l"]
    clock.advance(29.999)
    assert two.acquire_due_tasks(clock.now(), 10) == []
    clock.advance(0.001)  # lease_until <= now: expired
    assert [t.id for t in two.acquire_due_tasks(clock.now(), 10)] == ["l"]
    assert one.acquire_due_tasks(clock.now(), 10) == []


def test_release_with_a_lost_lease_changes_nothing(
    make: MakeStore, admin: Any, prefix: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = make(), make()
    one.add_task(make_task("l", 10))
    clock.advance(10)
    (mine,) = one.acquire_due_tasks(clock.now(), 10)
    clock.advance(31)
    (theirs,) = two.acquire_due_tasks(clock.now(), 10)
    before = (admin.hgetall(f"{prefix}.tasks"), admin.zrange(f"{prefix}.run_times", 0, -1, True))
    lease = admin.hget(f"{prefix}.tasks.leases", "l")
    with caplog.at_level(logging.WARNING):
        one.release_task(mine, START + timedelta(seconds=100))
        one.release_task(mine, None)
    assert [r.getMessage().startswith("Task l: lease lost") for r in caplog.records] == [True] * 2
    after = (admin.hgetall(f"{prefix}.tasks"), admin.zrange(f"{prefix}.run_times", 0, -1, True))
    assert after == before and admin.hget(f"{prefix}.tasks.leases", "l") == lease
    two.release_task(theirs, START + timedelta(seconds=70))
    assert admin.zscore(f"{prefix}.run_times", "l") == epoch(70)
    assert admin.hlen(f"{prefix}.tasks.leases") == 0


def test_user_update_keeps_the_lease_and_next_run_time_waits_for_it(
    make: MakeStore, clock: FakeClock
) -> None:
    one, two = make(), make()
    one.add_task(make_task("l", 10, args=[1]))
    clock.advance(10)
    (task,) = one.acquire_due_tasks(clock.now(), 10)
    changed = make_task("l", 10, args=[2])
    two.update_task(changed)  # a user's change while the task runs
    assert two.acquire_due_tasks(clock.now(), 10) == []
    assert two.get_next_run_time() == clock.now() + timedelta(
        seconds=two.lease_seconds
    )  # the lease's end
    one.release_task(task, START + timedelta(seconds=70))
    assert two.get_next_run_time() == START + timedelta(seconds=70)


def test_release_moves_the_score_and_leaves_the_record_bytes_alone(
    make: MakeStore, admin: Any, prefix: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded = Counter[str]()
    real_decode = tasks_module.decode_task

    def counting_decode(record: bytes, serializer: Any) -> Task:
        task = real_decode(record, serializer)
        decoded[task.id] += 1
        return task

    monkeypatch.setattr(decoded_module, "decode_task", counting_decode)
    store = make()
    store.add_task(make_task("a", 10))
    record = admin.hget(f"{prefix}.tasks", "a")
    added = store.lookup_task("a")
    assert added is not None and added.next_run_time == START + timedelta(seconds=10)
    for fire in range(1, 4):
        clock.advance(10)
        (task,) = store.acquire_due_tasks(clock.now(), 5)
        assert task.next_run_time == START + timedelta(seconds=10 * fire)
        store.release_task(task, START + timedelta(seconds=10 * (fire + 1)))
        assert task.next_run_time == START + timedelta(seconds=10 * (fire + 1))
        assert admin.hget(f"{prefix}.tasks", "a") == record  # byte for byte
        assert admin.zscore(f"{prefix}.run_times", "a") == epoch(10 * (fire + 1))
    (read,) = store.get_all_tasks()
    assert read.next_run_time == START + timedelta(seconds=40)
    assert [t.next_run_time for t in store.get_due_tasks(clock.now() + timedelta(seconds=10))] == [
        START + timedelta(seconds=40)
    ]
    assert decoded == {"a": 1}  # the same bytes: decoded once, copied since


def test_paused_task_reads_back_paused_and_a_release_keeps_a_users_update(
    make: MakeStore, admin: Any, prefix: str, clock: FakeClock
) -> None:
    one, two = make(), make()
    one.add_task(make_task("a", 10, args=[1]))
    clock.advance(10)
    (task,) = one.acquire_due_tasks(clock.now(), 5)
    two.update_task(make_task("a", 10, args=[2]))  # a user's change while the task runs
    one.release_task(task, START + timedelta(seconds=70))
    changed = two.lookup_task("a")
    assert changed is not None and changed.args == (2,)  # the release wrote no record
    assert changed.next_run_time == START + timedelta(seconds=70)
    two.update_task(make_task("a", None, args=[2]))  # paused
    assert admin.zscore(f"{prefix}.run_times", "a") is None
    for store in (one, two):
        paused = store.lookup_task("a")
        assert paused is not None and paused.paused and paused.args == (2,)
        assert [(t.id, t.next_run_time) for t in store.get_all_tasks()] == [("a", None)]
        assert store.get_due_tasks(START + timedelta(days=1)) == []
        assert store.acquire_due_tasks(START + timedelta(days=1), 5) == []


def test_records_of_the_previous_version_read_with_the_score(
    make: MakeStore, admin: Any, prefix: str, clock: FakeClock
) -> None:
    store = make()
    store.add_task(make_task("old", 99))
    store.add_task(make_task("paused", 99))
    for task_id in ("old", "paused"):  # written as before: the run time inside the record
        old = encode_task(make_task(task_id, 99), store.serializer)
        assert b"next_run_time" in old and old != encode_task(
            make_task(task_id, 99), store.serializer, run_time=False
        )
        overwrite_record(store, task_id, old)
    admin.zadd(f"{prefix}.run_times", {"old": epoch(10)})
    admin.zrem(f"{prefix}.run_times", "paused")
    looked_up = store.lookup_task("old")
    assert looked_up is not None and looked_up.next_run_time == START + timedelta(seconds=10)
    assert [(t.id, t.next_run_time) for t in store.get_all_tasks()] == [
        ("old", START + timedelta(seconds=10)),
        ("paused", None),
    ]
    old_paused = store.lookup_task("paused")
    assert old_paused is not None and old_paused.paused
    clock.advance(10)
    (task,) = store.acquire_due_tasks(clock.now(), 5)
    assert (task.id, task.next_run_time) == ("old", START + timedelta(seconds=10))
    store.release_task(task, START + timedelta(seconds=70))
    again = store.lookup_task("old")
    assert again is not None and again.next_run_time == START + timedelta(seconds=70)


def test_conflicting_add_writes_nothing(make: MakeStore, admin: Any, prefix: str) -> None:
    store = make()
    store.add_task(make_task("a", 10))
    with pytest.raises(ConflictIdError):
        store.add_task(make_task("a", 5))
    assert admin.zscore(f"{prefix}.run_times", "a") == epoch(10)
    store.add_task(make_task("p", None))
    assert admin.zscore(f"{prefix}.run_times", "p") is None  # paused: not in the sorted set


def test_broken_due_record_is_skipped_reported_once_and_read_again_when_rewritten(
    make: MakeStore, admin: Any, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    store, other = make(), make()
    store.add_task(make_task("good", 1))
    store.add_task(make_task("bad", 0))
    overwrite_record(store, "bad", b"\x00garbage")
    now = START + timedelta(seconds=10)
    with caplog.at_level(logging.ERROR):
        (good,) = store.acquire_due_tasks(now, 10)
        assert store.acquire_due_tasks(now, 10) == []  # the broken one is not claimed again
        assert admin.hlen(f"{prefix}.tasks.leases") == 1  # only good's: bad's was given back
        store.release_task(good, START + timedelta(seconds=100))
        assert store.get_next_run_time() == START + timedelta(seconds=100)
        assert store.lookup_task("bad") is None
        assert [t.id for t in store.get_all_tasks()] == ["good"]
        assert store.get_due_tasks(now) == []
    assert len(caplog.records) == 1 and "bad" in store.get_broken_records()
    assert admin.hexists(f"{prefix}.tasks", "bad")  # kept
    assert [t.id for t in other.acquire_due_tasks(now, 10)] == []  # reported there too
    assert "bad" in other.get_broken_records()
    overwrite_record(store, "bad", encode_task(make_task("bad", 0), store.serializer))
    assert [t.id for t in store.acquire_due_tasks(now, 10)] == ["bad"]
    assert store.get_broken_records() == {}


def _kill_own_connections(admin: Any, name: str) -> int:
    """Kill the normal connections named ``name`` (ours), one by one by id."""
    ids = [c["id"] for c in admin.client_list(_type="normal") if c.get("name") == name]
    return sum(admin.client_kill_filter(_id=client_id, _type="normal") for client_id in ids)


@pytest.mark.parametrize("single", [False, True], ids=["pool", "single-connection"])
def test_killed_connection_is_recovered(
    make: MakeStore, admin: Any, prefix: str, single: bool, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"{prefix}.client"
    store = make(client_name=name, single_connection_client=single)
    store.add_task(make_task("a", 10))
    assert _kill_own_connections(admin, name) >= 1
    with caplog.at_level(logging.WARNING):
        assert [t.id for t in store.acquire_due_tasks(START + timedelta(seconds=10), 5)] == ["a"]
    retried = [r for r in caplog.records if r.getMessage().startswith("Redis call failed")]
    if single:  # the one connection broke mid-call: our retry reconnected
        assert len(retried) == 1
    assert _kill_own_connections(admin, name) >= 1
    assert [t.id for t in store.get_all_tasks()] == ["a"]


def _count_script_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The shas of the calls that go through redis-py's ``Script`` (its pool) from now on."""
    calls: list[str] = []
    call = redis.commands.core.Script.__call__

    def counted(script: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(script.sha)
        return call(script, *args, **kwargs)

    monkeypatch.setattr(redis.commands.core.Script, "__call__", counted)
    return calls


def _connected(connection: Any) -> bool:
    return connection._sock is not None  # redis-py 5 has no is_connected


def _named_connections(admin: Any, name: str) -> list[dict[str, Any]]:
    return [c for c in admin.client_list(_type="normal") if c.get("name") == name]


def test_held_calls_are_packed_as_redis_py_packs_them() -> None:
    from asyncz_like.stores.redis.held_connection import _hiredis_packer

    pack = _hiredis_packer(redis, {})
    if pack is None:
        pytest.skip("redis-py packs in Python without hiredis")
    command = ("EVALSHA", "a" * 40, 0, "prefix", "é", b"\x00\xff", 12, -3, 0.1, 1e20, "")
    expected = redis.Redis().connection_pool.make_connection().pack_command(*command)
    assert [pack(command)] == expected or pack(command) == b"".join(expected)
    assert _hiredis_packer(redis, {"encoding": "latin-1"}) is None


def test_a_store_that_built_its_client_runs_its_scripts_on_one_held_connection(
    make: MakeStore, admin: Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"{prefix}.client"
    store = make(client_name=name)
    through_pool = _count_script_calls(monkeypatch)
    for i in range(20):
        store.add_task(make_task(f"t{i}", i))
    claimed = store.acquire_due_tasks(START + timedelta(seconds=30), 50)
    store.release_tasks([(task, None) for task in claimed])
    assert len(claimed) == 20 and store.get_next_run_time() is None
    assert through_pool == []
    assert len(_named_connections(admin, name)) == 1


def test_a_client_given_to_the_store_keeps_its_pool_for_every_call(
    make: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    store = make(client=client)
    through_pool = _count_script_calls(monkeypatch)
    store.add_task(make_task("a", 10))
    assert store.lookup_task("a") is not None
    assert through_pool == [store._scripts.add.script.sha, store._scripts.lookup.script.sha]
    client.close()


def test_a_call_while_the_held_connection_is_busy_goes_through_the_pool(
    make: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make()
    store.add_task(make_task("a", 10))
    through_pool = _count_script_calls(monkeypatch)
    with store._runner._lock:  # as while another thread's call is on it
        store.add_task(make_task("b", 10))
    store.add_task(make_task("c", 10))
    assert through_pool == [store._scripts.add.script.sha]
    assert sorted(t.id for t in store.get_all_tasks()) == ["a", "b", "c"]


def test_a_script_the_server_lost_is_loaded_again(
    make: MakeStore, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make()
    store.add_task(make_task("a", 10))
    admin.script_flush()  # as after a restart of Redis
    through_pool = _count_script_calls(monkeypatch)
    store.add_task(make_task("b", 10))  # NOSCRIPT on the held connection; Script loads it
    store.add_task(make_task("c", 10))
    assert through_pool == [store._scripts.add.script.sha]
    assert sorted(t.id for t in store.get_all_tasks()) == ["a", "b", "c"]


def test_an_error_reply_keeps_the_held_connection_and_a_broken_one_is_given_back(
    make: MakeStore, admin: Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"{prefix}.client"
    store = make(client_name=name)
    runner = store._runner
    source = "return redis.error_reply('refused')"
    failing = store.client.register_script(source)
    admin.script_load(source)  # else NOSCRIPT sends the call through the pool
    store.add_task(make_task("a", 10))
    held = runner._connection
    with pytest.raises(redis.ResponseError, match="refused"):
        runner(failing, [], [])
    assert runner._connection is held and _connected(held)
    send_packed = held.send_packed_command

    def killed_mid_call(*args: Any, **kwargs: Any) -> Any:  # after the check before use
        monkeypatch.undo()  # once: the pool may hand this connection out again
        assert _kill_own_connections(admin, name) == 1
        return send_packed(*args, **kwargs)

    monkeypatch.setattr(held, "send_packed_command", killed_mid_call)
    with pytest.raises(redis.ConnectionError):
        runner(failing, [], [])  # the runner does not retry: the store does
    assert runner._connection is None and not _connected(held)
    store.add_task(make_task("b", 10))
    assert runner._connection is not None and _connected(runner._connection)
    assert len(_named_connections(admin, name)) == 1


def test_a_held_connection_the_server_closed_while_idle_is_replaced_before_use(
    make: MakeStore, admin: Any, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"{prefix}.client"
    store = make(client_name=name)
    store.add_task(make_task("a", 10))
    assert _kill_own_connections(admin, name) == 1  # as a server's idle timeout does
    with caplog.at_level(logging.WARNING):
        store.add_task(make_task("b", 10))
    assert not [r for r in caplog.records if r.getMessage().startswith("Redis call failed")]
    assert sorted(t.id for t in store.get_all_tasks()) == ["a", "b"]


def test_a_forked_child_leaves_the_parents_connection_alone(
    make: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asyncz_like.stores.redis import held_connection

    store = make()
    store.add_task(make_task("a", 10))
    parents = store._runner._connection
    child_pid = held_connection.os.getpid() + 1
    monkeypatch.setattr(held_connection.os, "getpid", lambda: child_pid)
    store.add_task(make_task("b", 10))
    assert store._runner._connection is not parents
    assert _connected(parents)  # closing it would cut the parent's socket


def test_shutdown_gives_the_held_connection_back_to_the_pool(make: MakeStore) -> None:
    store = make()
    store.add_task(make_task("a", 10))
    held, pool = store._runner._connection, store.client.connection_pool
    store._runner.close()
    assert store._runner._connection is None
    assert held in pool._available_connections and _connected(held)  # to be handed out again


def test_retries_are_bounded_then_the_error_is_raised(
    make: MakeStore, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    store = make(port=port, socket_connect_timeout=1)
    store.retry_attempts, store.retry_first_wait, store.retry_max_wait = 3, 0.001, 0.002
    with caplog.at_level(logging.WARNING), pytest.raises(redis.ConnectionError):
        store.lookup_task("a")
    assert len(caplog.records) == 2


def _lose_first_reply(script: Any) -> Callable[..., Any]:
    """``script`` that runs, but whose first reply is lost (as if the connection broke)."""
    calls = []

    def call(**kwargs: Any) -> Any:
        result = script(**kwargs)
        calls.append(result)
        if len(calls) == 1:
            raise redis.ConnectionError("reply lost")
        return result

    return call


def test_retry_after_a_lost_reply_is_not_mistaken_for_a_conflict_or_a_lost_lease(
    make: MakeStore, caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    store = make()
    store.retry_first_wait = 0.001
    scripts = store._scripts
    store._scripts = dataclasses.replace(
        scripts,
        add=_lose_first_reply(scripts.add),
        release_many=_lose_first_reply(scripts.release_many),
    )
    store.add_task(make_task("a", 10))  # no ConflictIdError from its own first write
    clock.advance(10)
    (task,) = store.acquire_due_tasks(clock.now(), 5)
    with caplog.at_level(logging.WARNING):
        store.release_task(task, START + timedelta(seconds=70))
    assert not [r for r in caplog.records if "lease" in r.getMessage()]
    assert store.get_next_run_time() == START + timedelta(seconds=70)
    with pytest.raises(ConflictIdError):  # a first try still conflicts
        store.add_task(make_task("a", 10))


def test_a_retried_release_counts_as_done_only_when_its_own_score_is_there(
    make: MakeStore, admin: Any, prefix: str
) -> None:
    store = make()
    store.add_task(make_task("a", 10))
    moment = epoch(10) + 0.1 + 0.2  # not a short decimal: it must round-trip exactly
    admin.zadd(f"{prefix}.run_times", {"a": moment})
    keys = [store.tasks_key, store.run_times_key, store.leases_key]

    def release(retried: str, score: str) -> int:
        (result,) = store._scripts.release_many(keys=keys, args=[store.owner, retried, "a", score])
        return int(result)

    # no lease of ours on "a": as after a first try that went through, or a lease lost
    assert release("1", repr(moment)) == 1
    assert release("0", repr(moment)) == 0  # a first try: the lease is simply not ours
    assert release("1", repr(moment + 1e-6)) == 0  # another scheduler's score
    assert release("1", "") == 0  # a delete, yet the task is there
    assert admin.zscore(f"{prefix}.run_times", "a") == moment
    admin.hdel(f"{prefix}.tasks", "a")
    assert (release("1", ""), release("0", ""), release("1", repr(moment))) == (1, -1, -1)


def test_url_and_client_forms_share_the_keys(make: MakeStore, admin: Any) -> None:
    by_url = make(url=f"redis://{REDIS_HOST}:{REDIS_PORT}/0")
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    by_client = make(client=client)
    by_url.add_task(make_task("a", 10))
    assert by_client.lookup_task("a") is not None
    by_client.shutdown()
    assert client.ping()  # a client the store was given stays open
    client.close()
    with pytest.raises(ValueError, match="decode_responses"):
        make(client=redis.Redis(decode_responses=True))
    with pytest.raises(TypeError, match="client="):
        make(client=admin, socket_timeout=3)


def test_keys_are_the_configured_ones(make: MakeStore, admin: Any, prefix: str) -> None:
    store = make()
    store.add_task(make_task("a", 1))
    store.add_task(make_task("p", None))
    store.acquire_due_tasks(START + timedelta(seconds=5), 5)
    types = {key.decode(): admin.type(key).decode() for key in admin.scan_iter(f"{prefix}*")}
    assert types == {
        f"{prefix}.tasks": "hash",
        f"{prefix}.run_times": "zset",
        f"{prefix}.tasks.leases": "hash",
    }
    store.remove_all_tasks()
    assert list(admin.scan_iter(f"{prefix}*")) == []
    default = RedisStore()  # builds a client, connects only when used
    assert (default.tasks_key, default.run_times_key, default.leases_key) == (
        "asyncz_like.tasks", "asyncz_like.run_times", "asyncz_like.tasks.leases",
    )  # fmt: skip
    default.shutdown()


def test_options_are_checked(make: MakeStore) -> None:
    with pytest.raises(TypeError, match="bogus"):
        make(bogus=1)
    for bad in (0, -1, "1s"):
        with pytest.raises(ValueError, match="poll_interval"):
            make(poll_interval=bad)
    with pytest.raises(ValueError, match="lease_seconds"):
        make(lease_seconds=0)
    with pytest.raises(ValueError, match="different"):
        RedisStore(tasks_key="same", run_times_key="same")
    built = STORES.build({"type": "redis", "host": REDIS_HOST, "poll_interval": 0.5}, "store")
    assert isinstance(built, RedisStore) and built.poll_interval == 0.5 and built.does_io
    built.shutdown()


def test_missing_redis_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(MissingDependencyError, match=r"asyncz_like\[redis\]"):
        RedisStore()


def test_unreachable_service_fails_under_ci_and_skips_locally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setitem(services._PORTS, "redis", port)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="redis is not reachable"):
        require_service("redis")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_service("redis")


def test_call_with_retries_numbers_attempts_and_backs_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from asyncz_like.stores.redis.connection import call_with_retries

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    seen: list[int] = []

    def flaky(attempt: int) -> str:
        seen.append(attempt)
        if attempt < 3:
            raise redis.ConnectionError("down")
        return "up"

    logger = logging.getLogger("test.redis.retries")
    with caplog.at_level(logging.WARNING, logger="test.redis.retries"):
        assert call_with_retries(flaky, 4, 0.01, 1.0, logger) == "up"
    assert seen == [1, 2, 3]
    assert slept == pytest.approx([0.01, 0.02])
    assert [r.attempt for r in caplog.records] == [1, 2]  # type: ignore[attr-defined]
    seen.clear()
    with pytest.raises(redis.ConnectionError):
        call_with_retries(lambda attempt: flaky(0), 3, 0.01, 1.0, logger)
    assert len(seen) == 3
    assert call_with_retries(lambda attempt: attempt, 1, 0.01, 1.0, logger) == 1
