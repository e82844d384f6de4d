"""What a store does around an outage of its server and the death of a claim's holder.

The scheduler keeps a failed release and writes it again once the server is back (see
DueTaskProcessor). The second attempt must release the fire that was claimed: a store that
took the new run time for the claimed one before the write went through would drop only the
lease, leave the old run time, and the fire would run a second time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.helpers import START, FakeClock, manual_scheduler
from tests.stores.backends import Backend
from tests.stores.test_contract import make_task


def _fail_once(call: Callable[..., Any]) -> Callable[..., Any]:
    failed: list[bool] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(True)
            raise ConnectionError("server away")
        return call(*args, **kwargs)

    return wrapper


def _break_once(
    backend: Backend, store: Any, monkeypatch: pytest.MonkeyPatch, sql: str, script: str
) -> None:
    """Make the next ``sql`` call of the database (SQL) or ``script`` (Redis) fail."""
    if backend.name in ("sqlite", "postgresql", "mariadb"):
        monkeypatch.setattr(store._db, sql, _fail_once(getattr(store._db, sql)))
    elif backend.name == "redis":
        scripts = store._scripts
        broken = dataclasses.replace(scripts, **{script: _fail_once(getattr(scripts, script))})
        monkeypatch.setattr(store, "_scripts", broken)
        monkeypatch.setattr(store, "_retry", lambda call: call(1))  # one attempt: no retry
    else:
        pytest.skip("no server to lose")


def _break_release_once(backend: Backend, store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _break_once(backend, store, monkeypatch, "release_many", "release_many")


def test_a_release_written_again_after_it_failed_moves_the_task_on(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    scheduler = manual_scheduler(clock, stores={"default": backend.make()})
    scheduler.start(paused=True)
    store = scheduler.lookup_store("default")
    store.add_task(make_task("a", 0))
    (task,) = store.acquire_due_tasks(START, 10)
    _break_release_once(backend, store, monkeypatch)
    later = START + timedelta(seconds=60)
    with pytest.raises(ConnectionError):
        store.release_tasks([(task, later)])
    assert store.release_tasks([(task, later)]) == []  # the server is back: written again
    assert store.get_due_tasks(START + timedelta(seconds=30)) == []
    assert store.acquire_due_tasks(START + timedelta(seconds=30), 10) == []
    assert store.lookup_task("a").next_run_time == later  # type: ignore[union-attr]
    scheduler.shutdown()


def test_a_renewed_claim_lasts_until_its_holder_stops_renewing_it(backend: Backend) -> None:
    """``renew_claims`` is the heartbeat of a claim held beyond its pass: it lasts as long as
    its scheduler renews it, and lapses ``lease_seconds`` after the last renewal."""
    if not backend.shared:
        pytest.skip("the memory store's claim is held by its only process")
    clock = FakeClock()
    schedulers = []
    for _ in range(2):
        scheduler = manual_scheduler(clock, stores={"default": backend.make(lease_seconds=5)})
        scheduler.start(paused=True)
        schedulers.append(scheduler)
    one, two = (scheduler.lookup_store("default") for scheduler in schedulers)
    one.add_task(make_task("h", 0))
    assert [task.id for task in one.acquire_due_tasks(START, 10)] == ["h"]
    for second in (4, 8):  # renewed every 4 s: the claim outlives its first 5 s
        clock.current = START + timedelta(seconds=second)
        one.renew_claims(["h"], clock.current)
        assert two.acquire_due_tasks(clock.current + timedelta(seconds=1), 10) == []
    clock.current = START + timedelta(seconds=13.5)  # no renewal since 8 s: lapsed at 13
    assert [task.id for task in two.acquire_due_tasks(clock.current, 10)] == ["h"]
    for scheduler in schedulers:
        scheduler.shutdown()


def test_after_an_outage_a_claim_leaves_the_leases_that_ended_during_it(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their holder may be alive, cut off as well, with a release to write: it gets
    ``lease_seconds`` after the server is back to write it. A lease that ended before the
    outage is a dead scheduler's, taken over at once."""
    clock = FakeClock()
    schedulers = []
    for _ in range(3):
        scheduler = manual_scheduler(clock, stores={"default": backend.make(lease_seconds=5)})
        scheduler.start(paused=True)
        schedulers.append(scheduler)
    ghost, one, two = (scheduler.lookup_store("default") for scheduler in schedulers)
    one.add_tasks([make_task("dead", -20), make_task("alive", 0)])
    assert [task.id for task in ghost.acquire_due_tasks(START - timedelta(seconds=4.5), 10)] == [
        "dead"
    ]  # its lease ends at 0.5: its holder died before the outage
    assert (
        len(one.acquire_due_tasks(START, 10)) == 1
    )  # "alive": its lease ends at 5, during the outage
    _break_once(backend, two, monkeypatch, "claim", "claim")
    with pytest.raises(ConnectionError):  # the server goes away at 1
        two.acquire_due_tasks(START + timedelta(seconds=1), 10)
    back = two.acquire_due_tasks(START + timedelta(seconds=6), 10)  # and is back at 6
    assert [task.id for task in back] == ["dead"]
    two.release_tasks([(back[0], START + timedelta(seconds=100))])
    assert two.acquire_due_tasks(START + timedelta(seconds=10), 10) == []  # still held back
    assert [task.id for task in two.acquire_due_tasks(START + timedelta(seconds=11), 10)] == [
        "alive"
    ]  # nobody wrote a release in 5 s: a dead scheduler's
    for scheduler in schedulers:
        scheduler.shutdown()
