"""A SIGKILL ledger for workers: a submitting process (the test, as a web app would, with
``worker=False``) enqueues 10,000 ledgered runs with ``submit_many`` while four ``asyncz-like
worker`` processes drain them, and every ~3 s one worker is SIGKILLed and replaced (eight
times; the drain goes on after the last). No run
may be lost (each ends COMPLETED on the broker, its completing delivery in the ledger), none
may fail, and a run may run again only when a killed worker had started it (docs/workers.md,
"What a run can count on"). Leases are short (3 s) so that the killed workers' runs come back
quickly."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncz_like.schedulers import BackgroundScheduler
from tests.brokers.backends import BrokerBackend, made_backend
from tests.faults.cli_workers import CliWorkers, queue_stats, read_runs
from tests.faults.run_book import RunBook, noop, read_book

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(200)]

RUNS, WORKERS, CONCURRENCY, LEASE = 10_000, 4, 20, 3.0
#: How long each run sleeps: next to nothing, but long enough for some kills to cut one.
RUN_SECONDS = 0.005
#: Seconds between two kills (each moved by up to a second at random), and the longest the
#: drain may take.
KILL_EVERY, DRAIN = 3.0, 120.0
#: At most this many kills: on a slow broker the drain goes on after them, rather than every
#: run being at risk of three kills (max_deliveries: it would end FAILED, as promised).
KILLS = 8
#: The submitting process enqueues a batch every SUBMIT_EVERY seconds, so that the work
#: goes on across several kills however fast the broker drains it.
QUEUE, BATCH, SUBMIT_EVERY = "kills", 500, 0.75


@pytest.fixture(params=["sqlite", "postgresql", "mariadb", "redis", "rabbitmq"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend(request.param, tmp_path) as made:
        yield made


def test_a_worker_killed_every_3_s_loses_no_run(backend: BrokerBackend, tmp_path: Path) -> None:
    began = time.monotonic()
    rng = random.Random(19)
    broker = backend.make()  # the server is there (CI=true: fails rather than skips)
    book = tmp_path / "book"
    book.mkdir()
    workers = CliWorkers(
        backend.config(poll_interval=0.2), QUEUE, tmp_path, "--concurrency", str(CONCURRENCY),
        "--lease", str(LEASE), "--interval", "0.5", "--grace", "5",
    )  # fmt: skip
    web = BackgroundScheduler(broker=backend.config(), worker=False)
    run_ids: list[str] = []
    try:
        for _ in range(WORKERS):
            workers.start()
        web.start()
        begun = time.monotonic()
        next_kill = begun + KILL_EVERY
        while queue_stats(broker, QUEUE).completed < RUNS and time.monotonic() < begun + DRAIN:
            if len(run_ids) < RUNS and time.monotonic() >= begun + SUBMIT_EVERY * (
                len(run_ids) // BATCH
            ):
                items = [(noop, (str(book), RUN_SECONDS)) for _ in range(BATCH)]
                run_ids += [run.id for run in web.submit_many(items, queue=QUEUE)]
            if time.monotonic() >= next_kill and len(workers.killed) < KILLS:
                up = [process for process in workers.alive if workers.up(process)]
                workers.kill(rng.choice(up or workers.alive))
                workers.start()
                next_kill = time.monotonic() + KILL_EVERY + rng.uniform(-1.0, 1.0)
            time.sleep(0.1)
    finally:
        web.shutdown()
        codes = workers.close()
    starts, ends = read_book(book)
    result = RunBook(
        f"{backend.name}: {WORKERS} workers x {CONCURRENCY}, one SIGKILLed every ~{KILL_EVERY:g} s",
        run_ids, read_runs(broker, QUEUE, run_ids), starts, ends, workers.killed,
        time.monotonic() - began,
    )  # fmt: skip
    if result.missing or result.unexplained:
        print(workers.log_text())
    assert len(run_ids) == RUNS, f"only {len(run_ids)} runs submitted in {DRAIN} s"
    result.check()
    assert codes == [0] * WORKERS, f"the workers left at the end exited with {codes}"
    assert len(workers.killed) >= 3, "too few kills to test anything: the drain was too quick"
