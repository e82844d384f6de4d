"""Concurrent submits sharing one enqueue, on real servers: every run stored once, and one
run id from two callers of one group added once (the broker's first-of-its-id rule)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncz_like.brokers import Envelope
from tests.brokers.backends import BrokerBackend, made_backend
from tests.helpers import START, FakeClock, manual_scheduler
from tests.unit.test_enqueue_groups import TARGET, GatedBroker, envelopes, piled_up

THREADS, EACH = 8, 25


@pytest.fixture(params=["postgresql", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend(request.param, tmp_path) as made:
        yield made


def test_runs_submitted_from_many_threads_are_each_stored_once(backend: BrokerBackend) -> None:
    reader = backend.make()
    scheduler = manual_scheduler(FakeClock(), broker=backend.config(), worker=False)
    scheduler.start()
    start = threading.Barrier(THREADS)
    submitted: list[list[str]] = [[] for _ in range(THREADS)]

    def submitter(mine: list[str]) -> None:
        start.wait()
        mine.extend(scheduler.submit(TARGET, index).id for index in range(EACH))

    threads = [threading.Thread(target=submitter, args=(mine,)) for mine in submitted]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        scheduler.shutdown()
    ids = [run_id for mine in submitted for run_id in mine]
    assert len(ids) == THREADS * EACH
    stored = [run.id for run in reader.list_runs(None, None, 10 * THREADS * EACH)]
    assert sorted(stored) == sorted(ids)  # each once: no run lost, none doubled


def test_one_run_id_from_two_callers_of_a_group_is_added_once(backend: BrokerBackend) -> None:
    broker = backend.make()

    def stored(given: list[Envelope]) -> list[bool]:
        return broker.enqueue(given, START)

    gated = GatedBroker(stored)
    _, (b, c) = piled_up(gated, envelopes("same"), envelopes("same", "other"))
    assert gated.calls[1][0] == ["same", "same", "other"]  # one call for both
    assert (b.answer, c.answer) == ([True], [False, True])
    assert sorted(run.id for run in broker.list_runs(None, None, 10)) == ["first", "other", "same"]
