"""Concurrent enqueues sharing one broker call: callers that come while a call is in flight
are sent together in the next one, each getting its own answers or the error."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest

from asyncz_like.brokers import Envelope, MemoryBroker
from asyncz_like.brokers.grouping import EnqueueGroups, GroupedBroker, _Member
from asyncz_like.exceptions import SerializationError
from tests.helpers import START, FakeClock, manual_scheduler

TARGET = "tests.unit.test_enqueue_groups:work"
WAIT = 10.0  # seconds: a bound on the waits below, never reached when the code is right


def work(index: int) -> int:
    return index


def envelopes(*run_ids: str) -> list[Envelope]:
    return [Envelope(run_id=run_id, target=TARGET) for run_id in run_ids]


class GatedBroker:
    """A broker's ``enqueue`` whose first call blocks until ``release``; every call is
    recorded with its thread. ``answer`` gives the bools (or raises) for a call."""

    def __init__(self, answer: Callable[[list[Envelope]], list[bool]] | None = None) -> None:
        self.calls: list[tuple[list[str], datetime | None, int]] = []
        self.entered, self.release = threading.Event(), threading.Event()
        self.answer = answer or (lambda given: [not e.run_id.startswith("old") for e in given])

    def enqueue(self, given: Iterable[Envelope], now: datetime | None = None) -> list[bool]:
        given = list(given)
        self.calls.append(([e.run_id for e in given], now, threading.get_ident()))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(WAIT)
        return self.answer(given)


class SeenGroups(EnqueueGroups):
    """Tells the test, through a semaphore, each time a caller lines up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lined_up = threading.Semaphore(0)

    def _line_up(self, member: _Member) -> None:
        super()._line_up(member)
        self.lined_up.release()


class Caller(threading.Thread):
    """One thread calling ``groups.enqueue``; its answer or error kept."""

    def __init__(self, groups: EnqueueGroups, given: list[Envelope], now: datetime) -> None:
        super().__init__(daemon=True)
        self.groups, self.given, self.now = groups, given, now
        self.answer: list[bool] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.answer = self.groups.enqueue(self.given, self.now)
        except BaseException as exc:
            self.error = exc

    def ended(self) -> Caller:
        self.join(WAIT)
        assert not self.is_alive()
        return self


def piled_up(
    broker: GatedBroker, *batches: list[Envelope], max_group: int = 500
) -> tuple[Caller, list[Caller]]:
    """A first caller in flight (held by the broker), then one caller per batch lined up
    behind it, each with a later ``now``; then the first call is let go."""
    groups = SeenGroups(broker.enqueue, max_group)
    first = Caller(groups, envelopes("first"), START)
    first.start()
    assert broker.entered.wait(WAIT)
    waiting = [Caller(groups, batch, START + timedelta(seconds=index + 1))
               for index, batch in enumerate(batches)]  # fmt: skip
    for caller in waiting:  # one after the other, so the line's order is known
        caller.start()
        assert groups.lined_up.acquire(timeout=WAIT)
    broker.release.set()
    return first.ended(), [caller.ended() for caller in waiting]


def test_a_lone_caller_calls_straight_through_in_its_own_thread() -> None:
    broker = GatedBroker()
    broker.release.set()
    groups = EnqueueGroups(broker.enqueue)
    assert groups.enqueue(envelopes("a", "old-b"), START) == [True, False]
    assert groups.enqueue(envelopes("c"), START) == [True]
    assert broker.calls == [(["a", "old-b"], START, threading.get_ident()),
                            (["c"], START, threading.get_ident())]  # fmt: skip


def test_callers_waiting_behind_a_call_share_the_next_one() -> None:
    broker = GatedBroker()
    first, (b, c, d) = piled_up(
        broker, envelopes("b"), envelopes("old-c1", "c2"), envelopes("d1", "old-d2")
    )
    assert [call[0] for call in broker.calls] == [["first"], ["b", "old-c1", "c2", "d1", "old-d2"]]
    assert (first.answer, b.answer, c.answer, d.answer) == (
        [True], [True], [False, True], [True, False]
    )  # fmt: skip
    # the latest now of the group (d's), sent by the first in line (b)
    assert broker.calls[1][1:] == (START + timedelta(seconds=3), b.ident)


def test_a_group_stays_within_max_group_envelopes_in_line_order() -> None:
    broker = GatedBroker()
    _, callers = piled_up(
        broker, envelopes("b1", "b2"), envelopes("c1", "c2"), envelopes("d1", "d2", "d3"),
        max_group=4,
    )  # fmt: skip
    assert [call[0] for call in broker.calls] == [
        ["first"], ["b1", "b2", "c1", "c2"], ["d1", "d2", "d3"]
    ]  # fmt: skip
    assert [caller.answer for caller in callers] == [[True, True], [True, True], [True] * 3]
    assert broker.calls[2][2] == callers[2].ident  # d led its own group


def test_a_failing_group_raises_its_error_in_every_members_thread() -> None:
    def refused(given: list[Envelope]) -> list[bool]:
        if given[0].run_id != "first":
            raise ConnectionError("broker away")
        return [True]

    first, (b, c) = piled_up(GatedBroker(refused), envelopes("b"), envelopes("c1", "c2"))
    assert first.answer == [True]
    assert isinstance(b.error, ConnectionError) and c.error is b.error
    assert (b.answer, c.answer) == (None, None)


def test_unencodable_arguments_fail_only_the_caller_that_gave_them() -> None:
    def encoded(given: list[Envelope]) -> list[bool]:
        if any(envelope.run_id == "bad" for envelope in given):
            raise SerializationError("run 'bad': cannot encode", "args[0]")
        return [True] * len(given)

    broker = GatedBroker(encoded)
    _, (b, bad, c) = piled_up(broker, envelopes("b"), envelopes("bad"), envelopes("c"))
    assert (b.answer, c.answer) == ([True], [True])
    assert isinstance(bad.error, SerializationError) and (b.error, c.error) == (None, None)
    sent = sorted(tuple(call[0]) for call in broker.calls[2:])  # each alone, after the group
    assert broker.calls[1][0] == ["b", "bad", "c"]
    assert sent == [("b",), ("bad",), ("c",)]


def test_one_run_id_from_two_callers_in_one_group_is_added_once() -> None:
    memory = MemoryBroker()

    def stored(given: list[Envelope]) -> list[bool]:
        return memory.enqueue(given, START)

    _, (b, c) = piled_up(GatedBroker(stored), envelopes("same"), envelopes("same"))
    assert (b.answer, c.answer) == ([True], [False])
    assert sorted(run.id for run in memory.list_runs(None, None, 10)) == ["first", "same"]


class Interrupted(threading.Event):
    """A wait that a KeyboardInterrupt ends: at once, or once the event is set (``late``)."""

    def __init__(self, late: bool) -> None:
        super().__init__()
        self.late = late

    def wait(self, timeout: float | None = None) -> bool:
        if self.late:
            assert super().wait(WAIT)
        raise KeyboardInterrupt


class InterruptedGroups(SeenGroups):
    """The second caller to line up has its wait interrupted."""

    def __init__(self, enqueue: Any, late: bool) -> None:
        super().__init__(enqueue)
        self.late, self.lined = late, 0

    def _line_up(self, member: _Member) -> None:
        super()._line_up(member)
        self.lined += 1
        if self.lined == 1:
            member.ready = Interrupted(self.late)


@pytest.mark.parametrize("late", [False, True], ids=["in line", "handed a group"])
def test_a_caller_interrupted_while_waiting_leaves_the_line_going(late: bool) -> None:
    broker = GatedBroker()
    groups = InterruptedGroups(broker.enqueue, late)
    first = Caller(groups, envelopes("first"), START)
    first.start()
    assert broker.entered.wait(WAIT)
    b, c = Caller(groups, envelopes("b"), START), Caller(groups, envelopes("c"), START)
    for caller in (b, c):
        caller.start()
        assert groups.lined_up.acquire(timeout=WAIT)
    if not late:
        b.ended()
    broker.release.set()
    assert isinstance(b.ended().error, KeyboardInterrupt)
    assert (first.ended().answer, c.ended().answer) == ([True], [True])
    assert [call[0] for call in broker.calls] == [["first"], ["c"]]  # b's run never sent
    assert groups.enqueue(envelopes("d"), START) == [True]  # the line is free again


def test_bad_input_fails_in_its_callers_thread_before_reaching_the_broker() -> None:
    broker = GatedBroker()
    groups = EnqueueGroups(broker.enqueue)
    with pytest.raises(TypeError, match="enqueue takes Envelopes"):
        groups.enqueue(["not an envelope"], START)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="now must be a timezone-aware datetime"):
        groups.enqueue(envelopes("a"), datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="max_group must be a positive int"):
        EnqueueGroups(broker.enqueue, 0)
    assert broker.calls == []


class Shared(GroupedBroker, MemoryBroker):
    """A memory broker whose enqueues are grouped, as those of the SQL and Redis brokers."""

    def _enqueue_together(self, envelopes: list[Envelope], now: datetime | None) -> list[bool]:
        return MemoryBroker.enqueue(self, envelopes, now)


def test_brokers_over_the_network_group_and_the_memory_broker_does_not() -> None:
    from asyncz_like.brokers.redis import RedisBroker
    from asyncz_like.brokers.sqlalchemy import SQLAlchemyBroker

    assert issubclass(SQLAlchemyBroker, GroupedBroker) and issubclass(RedisBroker, GroupedBroker)
    memory = MemoryBroker()
    assert not isinstance(memory, GroupedBroker)
    clock = FakeClock()
    scheduler = manual_scheduler(clock, broker=memory, worker=False)
    run = scheduler.submit(TARGET, 1)
    assert memory.get_run(run.id) is not None


def test_a_grouped_brokers_enqueue_goes_through_one_group() -> None:
    shared = Shared()
    assert shared.enqueue(envelopes("a"), START) == [True]
    groups = shared.__dict__["_enqueue_groups"]
    assert isinstance(groups, EnqueueGroups)
    assert shared.enqueue(envelopes("b"), START) == [True]
    assert shared.__dict__["_enqueue_groups"] is groups  # made once
    assert shared.get_run("a") is not None and shared.get_run("b") is not None


def test_a_schedulers_submits_and_queue_fires_share_a_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lined_up = threading.Semaphore(0)
    line_up = EnqueueGroups._line_up

    def seen(self: EnqueueGroups, member: _Member) -> None:
        line_up(self, member)
        lined_up.release()

    monkeypatch.setattr(EnqueueGroups, "_line_up", seen)

    class Gated(Shared):
        gate = GatedBroker()

        def _enqueue_together(self, given: list[Envelope], now: datetime | None) -> list[bool]:
            return super()._enqueue_together(given, now) if self.gate.enqueue(given, now) else []

    broker, clock = Gated(), FakeClock()
    scheduler = manual_scheduler(clock, broker=broker, worker=False)
    scheduler.start()
    scheduler.add_task(work, "interval", seconds=10, args=(0,), id="beat", queue="reports")
    clock.advance(10)
    ids: dict[str, str] = {}
    steps = [lambda: ids.update(a=scheduler.submit(TARGET, 1).id),
             lambda: ids.update(b=scheduler.submit_many([(TARGET, (2,))])[0].id),
             scheduler.process_tasks]  # fmt: skip
    threads = [threading.Thread(target=step, daemon=True) for step in steps]
    threads[0].start()
    assert broker.gate.entered.wait(WAIT)
    for thread in threads[1:]:
        thread.start()
        assert lined_up.acquire(timeout=WAIT)
    broker.gate.release.set()
    for thread in threads:
        thread.join(WAIT)
    fire = f"beat@{(START + timedelta(seconds=10)).isoformat()}"
    assert [call[0] for call in broker.gate.calls] == [[ids["a"]], [ids["b"], fire]]
    stored = sorted(run.id for run in broker.list_runs(None, None, 10))
    assert stored == sorted([ids["a"], ids["b"], fire])
    scheduler.shutdown()
