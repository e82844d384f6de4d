"""Runs submitted through a broker: the envelopes made from ``submit`` and ``submit_many``,
their options checked once per batch, the checks cached and the shortcuts taken on the way
(ids, templates, run handles) giving what the plain constructors give."""

from __future__ import annotations

import re
import sys
from dataclasses import fields
from datetime import timedelta
from typing import Any

import pytest

from asyncz_like.brokers import Envelope, MemoryBroker
from asyncz_like.brokers.records import check_target
from asyncz_like.brokers.retrying import pending_run
from asyncz_like.runs import Backoff, Run, RunStatus
from asyncz_like.runs.options import parse_options
from asyncz_like.schedulers.base import BaseScheduler
from tests.helpers import START, FakeClock, manual_scheduler

HERE = "tests.unit.test_submit_envelopes"


def add(a: int, b: int = 0) -> int:
    return a + b


def mul(a: int, b: int = 1) -> int:
    return a * b


@pytest.fixture
def broker() -> MemoryBroker:
    return MemoryBroker()


@pytest.fixture
def scheduler(broker: MemoryBroker) -> BaseScheduler:
    made = manual_scheduler(FakeClock(), broker=broker, worker=False)
    made.start()
    return made


def envelopes(broker: MemoryBroker, limit: int = 100) -> list[Envelope]:
    return [d.envelope for d in broker.claim("w", ["default", "q"], limit, START + timedelta(1))]


BAD: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"priority": True}, TypeError, "priority must be an int"),
    ({"priority": 1.0}, TypeError, "priority must be an int"),
    ({"timeout": 0}, ValueError, "timeout must be positive"),
    ({"max_retries": -1}, ValueError, "max_retries must be >= 0"),
    ({"max_retries": False}, TypeError, "max_retries must be an int"),
    ({"retry_backoff": "x"}, TypeError, "retry_backoff"),
    ({"name": ""}, TypeError, "name"),
    ({"delay": 1, "schedule_at": START}, ValueError, "not both"),
    ({"queue": "x" * 192}, ValueError, "queue"),
    ({"max_deliveries": 0}, ValueError, "max_deliveries"),
    ({"headers": {"k": 1}}, TypeError, "headers"),
    ({"headers": ["k"]}, TypeError, "headers"),
    ({"retry_on": ValueError}, TypeError, "retry_on is not supported"),
    ({"executor": "pool"}, TypeError, "executor is not supported"),
]


@pytest.mark.parametrize(("options", "error", "match"), BAD)
def test_bad_options_fail_at_submit_after_good_ones_were_cached(
    scheduler: BaseScheduler,
    broker: MemoryBroker,
    options: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    # good options equal to the bad ones (1 == True, 1 == 1.0) are seen first
    scheduler.submit(add, 1, priority=1, max_retries=0, timeout=1, retry_backoff=1.0)
    with pytest.raises(error, match=match):
        scheduler.submit(add, 1, **options)
    with pytest.raises(error, match=match):
        scheduler.submit_many([(add, (1,)), (mul, (2,))], **options)
    with pytest.raises(error, match=match):
        scheduler.submit_many([(add, (1,)), {"fn": mul, "args": (2,), **options}])
    assert len(envelopes(broker)) == 1  # only the good one


@pytest.mark.parametrize(
    ("fn", "error", "match"),
    [
        (lambda: 1, ValueError, r"fn=.*importable by reference"),
        (42, TypeError, "fn must be a callable"),
        ("no_colon", TypeError, "target must be"),
    ],
)
def test_a_bad_function_in_a_batch_fails_it_whole(
    scheduler: BaseScheduler, broker: MemoryBroker, fn: Any, error: type, match: str
) -> None:
    scheduler.submit(f"{HERE}:add", 1)  # a good target checked (and remembered) first
    with pytest.raises(error, match=match):
        scheduler.submit_many([(add, (1,)), (fn, (2,)), (add, (3,))])
    with pytest.raises(TypeError, match="kwargs must be a dict with string keys"):
        scheduler.submit_many([(add, (1,)), (add, (2,), {1: 2})])
    assert len(envelopes(broker)) == 1


def test_items_of_a_batch_keep_their_own_options_and_functions(
    scheduler: BaseScheduler, broker: MemoryBroker
) -> None:
    runs = scheduler.submit_many(
        [
            (add, (1,)),
            {"fn": mul, "args": (2,), "priority": 5, "queue": "q", "name": "five"},
            (mul, (3,), {"b": 4}),
            {"fn": add, "args": (5,)},  # no options of its own: the batch's
            (f"{HERE}:add", (6,)),
        ],
        priority=2,
        max_retries=3,
        headers={"k": "v"},
    )
    by_id = {envelope.run_id: envelope for envelope in envelopes(broker)}
    made = [by_id[run.id] for run in runs]
    assert [(e.target.rsplit(":")[-1], e.name, e.priority, e.queue) for e in made] == [
        ("add", "add", 2, "default"),
        ("mul", "five", 5, "q"),
        ("mul", "mul", 2, "default"),
        ("add", "add", 2, "default"),
        ("add", "add", 2, "default"),
    ]
    assert [e.args for e in made] == [(1,), (2,), (3,), (5,), (6,)]
    assert made[2].kwargs == {"b": 4} and made[0].kwargs == {}
    assert all(e.max_retries == 3 and e.headers == {"k": "v"} for e in made)
    assert len({id(e.headers) for e in made}) == len(made)  # each its own dict
    assert all(e.created_at == START for e in made)
    assert [run.priority for run in runs] == [2, 5, 2, 2, 2]


def test_run_ids_are_unique_random_hex(scheduler: BaseScheduler) -> None:
    runs = scheduler.submit_many([(add, (index,)) for index in range(600)])
    runs.append(scheduler.submit(add, 1))
    ids = [run.id for run in runs]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", run_id) for run_id in ids)


def full_envelope() -> Envelope:
    return Envelope(
        "r1", f"{HERE}:add", (1,), {"b": 2}, "q", 7, START + timedelta(1), 2,
        Backoff(base=3.0), 9.5, 4, "task", "name", {"h": "v"}, START,
    )  # fmt: skip


def test_an_envelope_for_another_call_keeps_every_other_field() -> None:
    envelope = full_envelope()
    assert all(getattr(envelope, f.name) != f.default for f in fields(Envelope))
    assert envelope.for_call("r1", envelope.target, (1,), {"b": 2}, "name") == envelope
    other = envelope.for_call("r2", f"{HERE}:mul", [3], {}, None)
    assert (other.run_id, other.target, other.args, other.kwargs, other.name) == (
        "r2", f"{HERE}:mul", (3,), {}, None,
    )  # fmt: skip
    assert other.headers == envelope.headers and other.headers is not envelope.headers


@pytest.mark.parametrize(
    ("call", "match"),
    [
        ({"run_id": ""}, "run_id"),
        ({"target": "nope"}, "target"),
        ({"args": "abc"}, "args"),
        ({"kwargs": {1: 2}}, "kwargs"),
        ({"name": ""}, "name"),
    ],
)
def test_an_envelope_for_another_call_checks_the_call(call: dict[str, Any], match: str) -> None:
    given: dict[str, Any] = {
        "run_id": "r2", "target": f"{HERE}:add", "args": (), "kwargs": {}, "name": None, **call
    }  # fmt: skip
    with pytest.raises(TypeError, match=match):
        full_envelope().for_call(**given)


def test_a_pending_run_is_what_the_run_constructor_makes() -> None:
    envelope = full_envelope()
    run = pending_run(envelope)
    made = Run(
        "r1", "task", "name", RunStatus.PENDING, priority=7, created_at=START,
        scheduled_at=START + timedelta(1), queue="q",
    )  # fmt: skip
    assert all(hasattr(run, f.name) for f in fields(Run))  # every field set
    assert run.to_dict() == made.to_dict()
    assert pending_run(Envelope("r", f"{HERE}:add", created_at=START)).scheduled_at == START


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        ({"priority": 1}, {"priority": True}),
        ({"max_retries": 0}, {"max_retries": False}),
        ({"max_retries": 1}, {"max_retries": True}),
        ({"timeout": 1}, {"timeout": True}),
        ({"retry_backoff": 1}, {"retry_backoff": True}),
        ({"timeout": 1.5}, {"timeout": float("nan")}),
    ],
)
def test_cached_options_do_not_hide_a_bad_equal_value(
    good: dict[str, Any], bad: dict[str, Any]
) -> None:
    parse_options(**good)  # cached: the bad value is equal to it (or, nan, to nothing)
    with pytest.raises((TypeError, ValueError)):
        parse_options(**bad)


def test_cached_options_keep_each_backoff_and_unhashable_options() -> None:
    first, second = Backoff(random=lambda: 0.0), Backoff(random=lambda: 1.0)
    assert first == second  # random is not compared: the cache must not share them
    assert parse_options(retry_backoff=first).backoff is first
    assert parse_options(retry_backoff=second).backoff is second
    assert parse_options(retry_on=[KeyError, OSError]).retry_on == (KeyError, OSError)
    assert parse_options(timeout=timedelta(seconds=2)).timeout == 2.0
    assert parse_options(timeout=2).timeout == 2.0


def test_a_target_found_good_is_remembered_and_a_bad_one_still_refused() -> None:
    assert check_target(f"{HERE}:add") == f"{HERE}:add"
    assert check_target(f"{HERE}:add") == f"{HERE}:add"
    for bad in ("nope", f"{HERE}:", ["a:b"]):
        with pytest.raises(TypeError, match="target must be"):
            check_target(bad)


def test_a_function_rebound_in_its_module_is_refused_after_being_submitted(
    scheduler: BaseScheduler, broker: MemoryBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = mul
    scheduler.submit(original, 2)  # its reference is remembered
    scheduler.submit(original, 3)
    monkeypatch.setattr(sys.modules[__name__], "mul", add)
    with pytest.raises(ValueError, match=r"fn=.*importable by reference.*finds another"):
        scheduler.submit(original, 4)
    assert [e.target for e in envelopes(broker)] == [f"{HERE}:mul"] * 2
