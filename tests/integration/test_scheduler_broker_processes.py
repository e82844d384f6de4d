"""A web-like scheduler that only enqueues (``worker=False``) and a separate ``asyncz-like
worker`` process on one broker: every submitted run completes once, and the scheduler reads,
waits for and cancels runs that another process holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncz_like.runs import RunStatus
from asyncz_like.schedulers.asyncio import AsyncIOScheduler
from tests.brokers.backends import BrokerBackend, made_backend
from tests.integration.test_worker_processes import (
    Workers,
    all_completed,
    ledger,
    wait_until,
)
from tests.integration.worker_tasks import record, slow

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", "postgresql", "redis", "rabbitmq"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend(request.param, tmp_path) as made:
        made.make()  # so that the clean-up drops the table the web scheduler writes to
        yield made


@pytest.fixture
def workers(backend: BrokerBackend, tmp_path: Path) -> Iterator[Workers]:
    made = Workers(backend, tmp_path)
    try:
        yield made
    finally:
        made.stop_all()


@pytest.fixture
def web(backend: BrokerBackend) -> Iterator[AsyncIOScheduler]:
    scheduler = AsyncIOScheduler(broker=backend.config(), worker=False)
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown()


def test_fifty_runs_submitted_by_a_web_process_complete_once_in_a_worker(
    backend: BrokerBackend, workers: Workers, web: AsyncIOScheduler, tmp_path: Path
) -> None:
    book = str(tmp_path / "ledger.txt")
    runs = [web.submit(record, book) for _ in range(25)]
    runs += web.submit_many([(record, (book,)) for _ in range(25)])
    worker = workers.start("--concurrency", "10")
    broker = backend.make()
    run_ids = [run.id for run in runs]
    wait_until(all_completed(broker, run_ids), 60, "all runs completed", workers)
    rows = ledger(Path(book))
    assert Counter(run_id for run_id, _, _ in rows) == Counter(run_ids)  # each once
    assert {pid for _, _, pid in rows} == {worker.pid}  # none ran in the web process
    last = web.wait_for_sync(run_ids[-1], timeout=5)
    assert last.status is RunStatus.COMPLETED and last.result == "ok"
    assert web.stats().queues["default"].completed == 50


def test_the_web_process_cancels_a_run_running_in_a_worker(
    backend: BrokerBackend, workers: Workers, web: AsyncIOScheduler, tmp_path: Path
) -> None:
    book = str(tmp_path / "ledger.txt")
    run = web.submit(slow, book, 30)
    workers.start("--concurrency", "2")
    wait_until(lambda: bool(ledger(Path(book))), 30, "the run started", workers)
    result = web.cancel_run(run.id)
    assert result
    assert result.wait(timeout=10) is True
    ended = web.get_run(run.id)
    assert ended is not None and ended.status is RunStatus.CANCELLED
