"""Real ``asyncz-like worker`` processes on one shared broker (SQLite, PostgreSQL, MariaDB,
Redis, RabbitMQ): queues routed, priorities honoured, each run once; SIGTERM gives a busy
worker's runs back and leaves the list of workers; a SIGKILLed worker's runs are delivered
again after their lease, and it stays listed, gone once its heartbeats are missed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.brokers import BaseBroker, Envelope
from asyncz_like.runs import RunStatus
from tests.brokers.backends import BrokerBackend, made_backend

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TASKS = "tests.integration.worker_tasks"


@pytest.fixture(params=["sqlite", "postgresql", "mariadb", "redis", "rabbitmq"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend(request.param, tmp_path) as made:
        yield made


class Workers:
    """Worker processes started through the command line, stopped at the end."""

    def __init__(self, backend: BrokerBackend, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.config = tmp_path / "broker.json"
        self.config.write_text(json.dumps(backend.config(poll_interval=0.2)))
        self.started: list[subprocess.Popen[bytes]] = []
        self.files: list[Any] = []

    def start(self, *options: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"worker-{len(self.started)}.log", "wb")  # noqa: SIM115
        self.files.append(log)
        command = [sys.executable, "-m", "asyncz_like.cli", "worker", "--broker",
                   f"@{self.config}", "--interval", "0.5", "--import", TASKS, *options]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        self.started.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.tmp_path.glob("worker-*.log")))

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.files:
            log.close()


@pytest.fixture
def workers(backend: BrokerBackend, tmp_path: Path) -> Iterator[Workers]:
    made = Workers(backend, tmp_path)
    try:
        yield made
    finally:
        made.stop_all()


def wait_until(check: Callable[[], bool], seconds: float, what: str, workers: Workers) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {seconds} s; worker logs:\n{workers.logs()[-6000:]}")
        time.sleep(0.1)


def statuses(broker: BaseBroker, run_ids: list[str]) -> Counter[RunStatus]:
    return Counter(run.status for run in map(broker.get_run, run_ids) if run is not None)


def all_completed(broker: BaseBroker, run_ids: list[str]) -> Callable[[], bool]:
    return lambda: statuses(broker, run_ids)[RunStatus.COMPLETED] == len(run_ids)


def ledger(path: Path) -> list[tuple[str, str, int]]:
    if not path.exists():
        return []
    rows = [line.split("\t") for line in path.read_text().splitlines()]
    return [(run_id, event, int(pid)) for run_id, event, pid in rows]


def envelope(run_id: str, fn: str, *args: Any, **options: Any) -> Envelope:
    return Envelope(run_id, f"{TASKS}:{fn}", args=args, **options)


def test_two_workers_route_queues_honour_priorities_and_run_each_once(
    backend: BrokerBackend, workers: Workers, tmp_path: Path
) -> None:
    broker = backend.make()
    book = str(tmp_path / "ledger.txt")
    high = [envelope(f"high-{i}", "record", book, priority=10) for i in range(10)]
    low = [envelope(f"low-{i}", "record", book) for i in range(20)]
    urgent = [envelope(f"urgent-{i}", "record", book, queue="urgent") for i in range(15)]
    reports = [envelope(f"report-{i}", "record", book, queue="reports") for i in range(15)]
    broker.enqueue([*low, *high, *urgent, *reports])
    # one run at a time each: a worker's own ledger lines are then in the order it claimed
    first = workers.start("--queues", "default,urgent", "--concurrency", "1")
    second = workers.start("--queues", "default,reports", "--concurrent", "1")
    run_ids = [e.run_id for e in (*high, *low, *urgent, *reports)]
    wait_until(all_completed(broker, run_ids), 60, "all runs completed", workers)

    rows = ledger(Path(book))
    assert Counter(run_id for run_id, _, _ in rows) == Counter(run_ids)  # each once
    pids = {run_id: pid for run_id, _, pid in rows}
    assert {pids[e.run_id] for e in urgent} == {first.pid}
    assert {pids[e.run_id] for e in reports} == {second.pid}
    for pid in (first.pid, second.pid):
        mine = [run_id.split("-")[0] for run_id, _, by in rows if by == pid]
        default = [kind for kind in mine if kind in ("high", "low")]
        assert default == sorted(default), f"a low before a high in {pid}: {mine}"
    assert "started: queues default,urgent, concurrency 1" in workers.logs()


def test_sigterm_gives_a_busy_workers_runs_back_to_another_worker(
    backend: BrokerBackend, workers: Workers, tmp_path: Path
) -> None:
    broker = backend.make()
    book = tmp_path / "ledger.txt"
    runs = [envelope(f"slow-{i}", "slow", str(book), 3.0) for i in range(3)]
    broker.enqueue(runs)
    busy = workers.start("--concurrency", "3", "--grace", "0.5")
    run_ids = [e.run_id for e in runs]
    wait_until(lambda: len(ledger(book)) == 3, 20, "three runs started", workers)
    (listed,) = broker.list_workers(datetime.now(UTC))
    assert (listed.pid, listed.concurrency, listed.alive) == (busy.pid, 3, True)
    busy.send_signal(signal.SIGTERM)
    assert busy.wait(10) == 0
    assert statuses(broker, run_ids) == {RunStatus.PENDING: 3}  # given back, not failed
    assert broker.list_workers(datetime.now(UTC)) == []  # a clean stop unregisters
    workers.start("--concurrency", "3")
    wait_until(all_completed(broker, run_ids), 30, "the given-back runs completed", workers)

    rows = ledger(book)
    done = Counter(run_id for run_id, event, _ in rows if event == "done")
    assert done == Counter(run_ids)  # each finished once, by the second worker
    assert all(broker.get_run(run_id).attempt == 1 for run_id in run_ids)  # type: ignore[union-attr]
    assert "given back to queue default" in workers.logs()


def test_a_sigkilled_workers_runs_are_delivered_again_after_the_lease(
    backend: BrokerBackend, workers: Workers, tmp_path: Path
) -> None:
    broker = backend.make()
    book = tmp_path / "ledger.txt"
    runs = [envelope(f"slow-{i}", "slow", str(book), 1.0) for i in range(2)]
    broker.enqueue(runs)
    doomed = workers.start("--concurrency", "2", "--lease", "2")
    run_ids = [e.run_id for e in runs]
    wait_until(lambda: len(ledger(book)) == 2, 20, "two runs started", workers)
    doomed.kill()
    doomed.wait()
    killed_at = time.monotonic()
    (listed,) = broker.list_workers(datetime.now(UTC))  # no clean stop: still listed,
    later = datetime.now(UTC) + timedelta(seconds=3 * listed.heartbeat_seconds + 1)
    assert listed.pid == doomed.pid and broker.list_workers(later)[0].alive is False  # gone
    workers.start("--concurrency", "2", "--lease", "2")
    wait_until(all_completed(broker, run_ids), 2 + 5 + 10, "the runs delivered again", workers)
    assert time.monotonic() - killed_at < 2 + 5 + 1 + 5  # lease + 5 s, the run, start-up
    rows = ledger(book)
    assert Counter(run_id for run_id, event, _ in rows if event == "done") == Counter(run_ids)
    assert {pid for _, event, pid in rows if event == "done"} != {doomed.pid}
    assert all(broker.get_run(run_id).deliveries == 2 for run_id in run_ids)  # type: ignore[union-attr]


def test_a_second_sigterm_stops_at_once_and_gives_the_runs_back(
    backend: BrokerBackend, workers: Workers, tmp_path: Path
) -> None:
    broker = backend.make()
    book = tmp_path / "ledger.txt"
    runs = [envelope(f"slow-{i}", "slow", str(book), 30.0) for i in range(2)]
    broker.enqueue(runs)
    busy = workers.start("--concurrency", "2", "--grace", "60")
    wait_until(lambda: len(ledger(book)) == 2, 20, "two runs started", workers)
    busy.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    asked = time.monotonic()
    busy.send_signal(signal.SIGTERM)
    assert busy.wait(10) == 0
    assert time.monotonic() - asked < 3
    assert statuses(broker, [e.run_id for e in runs]) == {RunStatus.PENDING: 2}
    assert "stopping at once" in workers.logs()
