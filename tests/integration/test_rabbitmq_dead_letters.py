"""A real worker on the RabbitMQ broker: each run that ends for good as a failure (retries
used up, a function that cannot be imported, a timeout) lands in the dead-letter queue with
its run id and reason in the headers, is recorded as such in the state broker, and no
wake-up is left unacked."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncz_like.brokers import Envelope
from asyncz_like.brokers.rabbitmq import RabbitMQBroker
from asyncz_like.runs import RunStatus
from asyncz_like.workers import Worker
from tests.brokers.backends import RabbitMQBackend, made_backend
from tests.brokers.test_rabbitmq import dead_letters, take

pytestmark = pytest.mark.e2e

HERE = "tests.integration.test_rabbitmq_dead_letters"


def explode() -> None:
    raise ValueError("kaboom")


def dawdle() -> None:
    time.sleep(0.6)


def fine() -> str:
    return "ok"


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[RabbitMQBackend]:
    with made_backend("rabbitmq", tmp_path) as made:
        assert isinstance(made, RabbitMQBackend)
        yield made


def test_runs_failed_for_good_are_dead_lettered_and_nothing_stays_unacked(
    backend: RabbitMQBackend,
) -> None:
    broker = backend.make(poll_interval=0.1)
    assert isinstance(broker, RabbitMQBroker)
    broker.enqueue([
        Envelope("retried", f"{HERE}:explode", max_retries=1, retry_backoff=0.05),
        Envelope("missing", "tests.integration.nowhere:nothing"),
        Envelope("slow", f"{HERE}:dawdle", timeout=0.1),
        Envelope("fine", f"{HERE}:fine"),
    ])  # fmt: skip
    worker = Worker(broker, concurrency=4, polling_interval=0.1, grace_seconds=2)
    thread = threading.Thread(target=worker.run_sync, kwargs={"handle_signals": False})
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(
            (run := broker.get_run(run_id)) is not None and run.finished_at is not None
            for run_id in ("retried", "missing", "slow", "fine")
        ):
            time.sleep(0.05)
    finally:
        worker.stop()
        thread.join(20)
    statuses = {run.id: run.status for run in broker.list_runs()}
    assert statuses == {"retried": RunStatus.FAILED, "missing": RunStatus.FAILED,
                        "slow": RunStatus.TIMEOUT, "fine": RunStatus.COMPLETED}  # fmt: skip
    dead = dead_letters(broker, backend.prefix, 3)
    assert sorted(dead) == ["missing", "retried", "slow"]
    assert dead["retried"] == {"run_id": "retried", "status": "failed",
                               "error_type": "ValueError", "reason": "kaboom"}  # fmt: skip
    assert dead["missing"]["status"] == "failed" and "nowhere" in dead["missing"]["reason"]
    assert dead["slow"]["status"] == "timeout" and dead["slow"]["error_type"] == "TimeoutError"
    broker.shutdown()  # what it still held unacked would go back to the queue now
    assert take(backend.make(), f"{backend.prefix}.default") == []
